/** The console's server-written HTML: one document shell (no inline script or style, for the CSP) and escaping. */

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export interface DocumentHead {
  /** Plain text; escaped here. */
  readonly title: string;
  readonly stylesheet: string;
  readonly script?: string;
}

/** `body` is trusted HTML: callers escape what they put in it. */
export function htmlDocument(head: DocumentHead, body: string): string {
  const script = head.script ? `\n<script type="module" src="${head.script}"></script>` : "";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${escapeHtml(head.title)}</title>
<link rel="stylesheet" href="${head.stylesheet}">${script}
</head>
<body>${body}</body>
</html>
`;
}
