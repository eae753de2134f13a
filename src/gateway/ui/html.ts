/**
 * The one document shell of the pages the console's server writes (the app
 * page, the sign-in problem page): same head, same stylesheet, same icon.
 */

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export interface ConsoleDocument {
  /** Plain text; escaped here. */
  readonly title: string;
  /** The stylesheet's URL (trusted: built by the server). */
  readonly stylesheet: string;
  /** More of the head, markup (trusted), each element on its own line. @default none */
  readonly head?: string;
  /** The body's content, markup (trusted: values in it escaped by the caller). */
  readonly body: string;
}

/** Pure: a whole HTML page. */
export function consoleDocument(page: ConsoleDocument): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${escapeHtml(page.title)}</title>
<link rel="stylesheet" href="${page.stylesheet}">
${page.head ?? ""}</head>
<body>${page.body}</body>
</html>
`;
}
