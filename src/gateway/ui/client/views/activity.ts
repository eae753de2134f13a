/** Recorded tool calls with filters; a detail panel shows arguments and results where the shard records them. */
import { api } from "../api.ts";
import { clear, h, pretty } from "../dom.ts";
import type { AppContext, View } from "../main.ts";

interface Entry {
  id: string;
  time: string;
  key?: string;
  user?: { id: string; email?: string; groups: string[]; source: "oauth" | "forwarded" };
  tool: string;
  shard: string;
  durationMs: number;
  outcome: "ok" | "tool_error" | "error";
  error?: string;
  argumentNames: string[];
  arguments?: unknown;
  result?: unknown;
  audit?: boolean;
  replica?: string;
  secretScan?: "off" | "clean" | "redacted" | "blocked";
}

const FILTERS = ["tool", "shard", "outcome", "key", "user", "group", "since", "until"] as const;

/** The user as a person reads it: the email when there is one. */
const userText = (e: Entry) => (e.user ? (e.user.email ?? e.user.id) : "");

/** A section of what was recorded, or which of the shard's spec.activity switches left it out. */
function recorded(title: string, value: unknown, className: string, setting: string): HTMLElement[] {
  return [
    h("h3", {}, title),
    value !== undefined
      ? h("pre", { class: className }, pretty(value))
      : h("p", { class: "hint not-recorded" }, `Not recorded: the shard's spec.activity.${setting} is off.`),
  ];
}

function detail(entry: Entry): HTMLElement {
  return h(
    "aside",
    { class: "detail", "aria-label": "call detail" },
    h("h2", {}, entry.tool, h("small", {}, ` ${new Date(entry.time).toLocaleString()}`)),
    h(
      "dl",
      {},
      [
        ["Key", entry.key ?? "none (access token)"],
        ["User", entry.user ? `${entry.user.id}${entry.user.email ? ` <${entry.user.email}>` : ""}` : "none"],
        ["Groups", entry.user?.groups.join(", ") || "none"],
        ["Shard", entry.shard],
        ["Outcome", entry.outcome],
        ["Duration", `${entry.durationMs} ms`],
        ["Replica", entry.replica ?? "?"],
        ["Audited", entry.audit ? "yes" : "no"],
        ["Secret scan", entry.secretScan ?? "not recorded"],
        ["Argument names", entry.argumentNames.join(", ") || "none"],
      ].flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]),
      entry.error ? [h("dt", {}, "Error"), h("dd", { class: "error" }, entry.error)] : null,
    ),
    recorded("Arguments", entry.arguments, "arguments", "recordArguments"),
    recorded("Result", entry.result, "result-json", "recordResults"),
  );
}

export function activityView(ctx: AppContext): View {
  const inputs = {
    tool: h("input", { name: "tool", placeholder: "tool", "aria-label": "tool" }),
    shard: h("input", { name: "shard", placeholder: "namespace/name", "aria-label": "shard" }),
    outcome: h(
      "select",
      { name: "outcome", "aria-label": "outcome" },
      h("option", { value: "" }, "any outcome"),
      ["ok", "tool_error", "error"].map((o) => h("option", { value: o }, o)),
    ),
    key: h("input", { name: "key", placeholder: "key", "aria-label": "key" }),
    user: h("input", { name: "user", placeholder: "user or email", "aria-label": "user" }),
    group: h("input", { name: "group", placeholder: "group", "aria-label": "group" }),
    since: h("input", { name: "since", type: "datetime-local", "aria-label": "since" }),
    until: h("input", { name: "until", type: "datetime-local", "aria-label": "until" }),
  };
  const rows = h("tbody", {});
  const panel = h("div", { class: "detail-slot" });
  const query = () => {
    const params = new URLSearchParams({ limit: "200" });
    for (const name of FILTERS) {
      const value = inputs[name].value.trim();
      if (!value) continue;
      params.set(name, name === "since" || name === "until" ? new Date(value).toISOString() : value);
    }
    return params;
  };
  const load = () =>
    api<{ entries: Entry[] }>("GET", `/api/activity?${query().toString()}`).then(
      ({ entries }) => {
        if (entries.length === 0) return clear(rows, h("tr", {}, h("td", { colspan: 7 }, "No calls match.")));
        clear(
          rows,
          entries.map((e) =>
            h(
              "tr",
              {
                class: `entry ${e.outcome}`,
                "data-id": e.id,
                tabindex: 0,
                onclick: () => clear(panel, detail(e)),
                onkeydown: (event: Event) => {
                  if ((event as KeyboardEvent).key === "Enter") clear(panel, detail(e));
                },
              },
              h("td", {}, new Date(e.time).toLocaleTimeString()),
              h("td", {}, e.key ?? ""),
              h(
                "td",
                {},
                h("code", {}, e.tool),
                e.audit ? h("span", { class: "badge audit" }, "audit") : null,
              ),
              // After the tool: the columns before it keep their places.
              h("td", { class: "user-col", title: e.user?.groups.join(", ") ?? "" }, userText(e)),
              h("td", { class: "shard-col" }, e.shard),
              h("td", { class: "num" }, `${e.durationMs} ms`),
              h("td", { class: `outcome ${e.outcome}` }, e.outcome),
            ),
          ),
        );
      },
      (e: unknown) => ctx.notify(String(e), "error"),
    );
  const form = h(
    "form",
    {
      class: "filters",
      onsubmit: (event: Event) => {
        event.preventDefault();
        void load();
      },
    },
    Object.values(inputs),
    h("button", { type: "submit" }, "Filter"),
  );
  void load();
  let reload: number | undefined;
  return {
    element: h(
      "div",
      {},
      h("h1", {}, "Activity"),
      form,
      h(
        "div",
        { class: "activity" },
        h(
          "table",
          {},
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              ["Time", "Key", "Tool", "User", "Shard", "Duration", "Outcome"].map((t) => h("th", {}, t)),
            ),
          ),
          rows,
        ),
        panel,
      ),
    ),
    onEvent(type) {
      if (type !== "activity") return;
      window.clearTimeout(reload);
      reload = window.setTimeout(() => void load(), 300);
    },
  };
}
