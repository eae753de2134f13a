/** Tools grouped by shard, searchable; description, annotations, schema, and a try-it form. */
import { api } from "../api.ts";
import { clear, h, pretty } from "../dom.ts";
import type { AppContext, View } from "../main.ts";
import { schemaForm, type JsonSchema } from "../schema-form.ts";

interface Tool {
  name: string;
  shard: string;
  tool: string;
  title?: string;
  description?: string;
  annotations?: Record<string, unknown>;
  inputSchema: JsonSchema;
}

interface ContentBlock {
  type: string;
  text?: string;
  data?: string;
  mimeType?: string;
  uri?: string;
  name?: string;
  resource?: { uri: string; mimeType?: string; text?: string; blob?: string };
}

interface CallResult {
  content?: ContentBlock[];
  structuredContent?: unknown;
  isError?: boolean;
}

function block(b: ContentBlock): HTMLElement {
  switch (b.type) {
    case "text":
      return h("pre", { class: "block text" }, b.text ?? "");
    case "image":
      return h("img", {
        class: "block image",
        alt: `image (${b.mimeType ?? "?"})`,
        src: `data:${b.mimeType ?? "image/png"};base64,${b.data ?? ""}`,
      });
    case "resource": {
      const r = b.resource;
      return h(
        "div",
        { class: "block resource" },
        h("p", {}, "Resource ", h("code", {}, r?.uri ?? "?"), r?.mimeType ? ` (${r.mimeType})` : ""),
        r?.text !== undefined
          ? h("pre", {}, r.text)
          : h("p", { class: "hint" }, `binary, ${r?.blob?.length ?? 0} base64 characters`),
      );
    }
    case "resource_link":
      return h(
        "p",
        { class: "block link" },
        "Link to ",
        h("code", {}, b.uri ?? "?"),
        b.name ? ` (${b.name})` : "",
      );
    default:
      return h(
        "div",
        { class: "block other" },
        h("p", {}, `${b.type} block${b.mimeType ? ` (${b.mimeType})` : ""}`),
        h("pre", {}, pretty({ ...b, data: b.data ? `${b.data.length} base64 characters` : undefined })),
      );
  }
}

function resultView(result: CallResult): HTMLElement {
  return h(
    "div",
    { class: `result ${result.isError ? "is-error" : "ok"}`, role: "region", "aria-label": "result" },
    h("p", { class: "outcome" }, result.isError ? "The tool reported an error" : "Result"),
    (result.content ?? []).map(block),
    result.structuredContent !== undefined
      ? [
          h("p", {}, "Structured content"),
          h("pre", { class: "structured" }, pretty(result.structuredContent)),
        ]
      : null,
  );
}

function tryIt(tool: Tool, ctx: AppContext): HTMLElement {
  const form = schemaForm(tool.inputSchema);
  const raw = h("textarea", { class: "raw json", rows: 8, "aria-label": "arguments as JSON", hidden: true });
  const output = h("div", { class: "output" });
  const rawToggle = h("input", { type: "checkbox", class: "raw-toggle" });
  rawToggle.addEventListener("change", () => {
    if (rawToggle.checked) {
      try {
        raw.value = pretty(form.read() ?? {});
      } catch {
        raw.value = "{}";
      }
    }
    raw.hidden = !rawToggle.checked;
    form.element.hidden = rawToggle.checked;
  });
  const submit = (event: Event) => {
    event.preventDefault();
    let args: unknown;
    try {
      args = rawToggle.checked ? (JSON.parse(raw.value || "{}") as unknown) : (form.read() ?? {});
    } catch (e) {
      clear(output, h("p", { class: "error", role: "alert" }, e instanceof Error ? e.message : String(e)));
      return;
    }
    clear(output, h("p", { class: "loading" }, "Calling…"));
    api<CallResult>("POST", `/api/tools/${encodeURIComponent(tool.name)}/call`, { arguments: args }).then(
      (result) => clear(output, resultView(result)),
      (e: unknown) =>
        clear(output, h("p", { class: "error", role: "alert" }, e instanceof Error ? e.message : String(e))),
    );
    ctx.notify(`called ${tool.name}`);
  };
  return h(
    "form",
    { class: "try-it", novalidate: true, onsubmit: submit },
    h("h3", {}, "Try it"),
    form.element,
    raw,
    h("label", { class: "inline" }, rawToggle, " raw JSON"),
    h("button", { type: "submit", class: "call" }, "Call ", tool.name),
    output,
  );
}

function toolEntry(tool: Tool, ctx: AppContext): HTMLElement {
  let form: HTMLElement | undefined;
  const details = h(
    "details",
    { class: "tool", "data-tool": tool.name },
    h(
      "summary",
      {},
      h("code", {}, tool.name),
      tool.title ? ` ${tool.title}` : "",
      h("small", {}, tool.description ? ` — ${tool.description.split("\n")[0]}` : ""),
    ),
    tool.description ? h("p", { class: "description" }, tool.description) : null,
    tool.annotations && Object.keys(tool.annotations).length > 0
      ? h(
          "ul",
          { class: "annotations" },
          Object.entries(tool.annotations).map(([k, v]) => h("li", {}, h("b", {}, k), ` ${String(v)}`)),
        )
      : null,
    h(
      "details",
      { class: "schema" },
      h("summary", {}, "Input schema"),
      h("pre", {}, pretty(tool.inputSchema)),
    ),
  );
  // The form is built on first open: a catalogue can hold hundreds of tools.
  details.addEventListener("toggle", () => {
    if (details.open && !form) details.append((form = tryIt(tool, ctx)));
  });
  return details;
}

export function toolsView(ctx: AppContext): View {
  let tools: Tool[] = [];
  let version = "";
  const search = h("input", {
    type: "search",
    id: "tool-search",
    placeholder: "Search tools",
    "aria-label": "search tools",
  });
  const list = h("div", { class: "tools" }, h("p", { class: "loading" }, "Loading tools…"));
  const render = () => {
    const q = search.value.trim().toLowerCase();
    const shown = tools.filter(
      (t) => !q || `${t.name} ${t.title ?? ""} ${t.description ?? ""}`.toLowerCase().includes(q),
    );
    const groups = new Map<string, Tool[]>();
    for (const t of shown) groups.set(t.shard, [...(groups.get(t.shard) ?? []), t]);
    if (groups.size === 0) return clear(list, h("p", {}, q ? `No tool matches “${q}”.` : "No tools."));
    clear(
      list,
      [...groups].map(([shard, group]) =>
        h(
          "section",
          { class: "tool-group", "data-shard": shard },
          h("h2", {}, shard, h("small", {}, ` ${group.length} tools`)),
          group.map((t) => toolEntry(t, ctx)),
        ),
      ),
    );
  };
  const load = () =>
    api<{ version: string; tools: Tool[] }>("GET", "/api/tools").then(
      (data) => {
        tools = data.tools;
        version = data.version;
        render();
      },
      (e: unknown) => ctx.notify(String(e), "error"),
    );
  search.addEventListener("input", render);
  void load();
  return {
    element: h("div", {}, h("h1", {}, "Tools"), search, list),
    onEvent(type, data) {
      // Reload when the catalogue changed, but not under an open form.
      if (
        type === "tools" &&
        (data as { version: string }).version !== version &&
        !list.querySelector("details.tool[open]")
      )
        void load();
    },
  };
}
