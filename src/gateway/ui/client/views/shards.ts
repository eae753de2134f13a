/** Every McpShard: state, conditions, enable toggle, restart; live from the event stream. */
import { api } from "../api.ts";
import { ago, clear, h } from "../dom.ts";
import type { AppContext, View } from "../main.ts";

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface Shard {
  namespace: string;
  name: string;
  kind: "container" | "stdio" | "external";
  description?: string;
  enabled: boolean;
  routable: boolean;
  reason?: string;
  state: string;
  toolCount: number;
  lastError?: string;
  lastSeen?: string;
  conditions: Condition[];
  notes: string[];
}

interface ShardList {
  mode: "kube" | "file";
  shards: Shard[];
}

function conditionBadge(shard: Shard, type: string): HTMLElement {
  const c = shard.conditions.find((x) => x.type === type);
  const state = c?.status === "True" ? "ok" : c?.status === "False" ? "bad" : "unknown";
  return h(
    "span",
    { class: `badge ${state}`, title: c ? `${c.reason ?? ""}: ${c.message ?? ""}` : "not reported yet" },
    `${type} `,
    h("b", {}, c?.status ?? "?"),
    c?.reason ? h("small", {}, ` ${c.reason}`) : null,
  );
}

function shardCard(shard: Shard, mode: ShardList["mode"], ctx: AppContext): HTMLElement {
  const key = `${shard.namespace}/${shard.name}`;
  const path = `/api/shards/${encodeURIComponent(shard.namespace)}/${encodeURIComponent(shard.name)}`;
  const toggle = h("input", {
    type: "checkbox",
    role: "switch",
    class: "toggle",
    "aria-label": `enable ${key}`,
    "data-shard": key,
    checked: shard.enabled,
    disabled: mode === "file",
    onchange: (event: Event) => {
      const enabled = (event.target as HTMLInputElement).checked;
      api("PATCH", path, { enabled }).then(
        () => ctx.notify(`${key}: spec.enabled set to ${enabled}`),
        (e: unknown) => ctx.notify(`${key}: ${String(e)}`, "error"),
      );
    },
  });
  const external = shard.kind === "external";
  const restartNote = external
    ? "external url shard: nothing is deployed, so there is nothing to restart"
    : mode === "file"
      ? "standalone mode: restart the shard's process"
      : undefined;
  const restart = h(
    "button",
    {
      class: "restart",
      "data-shard": key,
      disabled: restartNote !== undefined,
      title: restartNote ?? "rolling restart of the shard's Deployment (kubectl rollout restart)",
      onclick: () =>
        void api<{ restartedAt: string }>("POST", `${path}/restart`).then(
          (r) => ctx.notify(`${key}: restart requested at ${r.restartedAt}`),
          (e: unknown) => ctx.notify(`${key}: ${String(e)}`, "error"),
        ),
    },
    "Restart",
  );
  return h(
    "article",
    { class: `shard ${shard.enabled ? "" : "disabled"}`, "data-shard": key },
    h(
      "header",
      {},
      h("h2", {}, shard.name, h("small", {}, ` ${shard.namespace}`)),
      h("span", { class: `kind ${shard.kind}` }, shard.kind),
      h(
        "label",
        { class: "switch" },
        toggle,
        h("span", { class: "enabled-text" }, shard.enabled ? "enabled" : "disabled"),
      ),
    ),
    shard.description ? h("p", { class: "description" }, shard.description) : null,
    h(
      "p",
      { class: "conditions" },
      ["Ready", "Available", "Verified"].map((t) => conditionBadge(shard, t)),
    ),
    h(
      "dl",
      {},
      h("dt", {}, "Upstream"),
      h("dd", { class: `state ${shard.state}` }, shard.state),
      h("dt", {}, "Tools"),
      h("dd", { class: "tool-count" }, shard.toolCount),
      h("dt", {}, "Last seen"),
      h("dd", {}, ago(shard.lastSeen)),
      shard.reason ? [h("dt", {}, "Not routed"), h("dd", { class: "reason" }, shard.reason)] : null,
      shard.lastError ? [h("dt", {}, "Last error"), h("dd", { class: "error" }, shard.lastError)] : null,
    ),
    shard.notes.length > 0
      ? h(
          "ul",
          { class: "notes" },
          shard.notes.map((n) => h("li", {}, n)),
        )
      : null,
    h("footer", {}, restart, restartNote ? h("small", { class: "hint" }, restartNote) : null),
  );
}

export function shardsView(ctx: AppContext): View {
  const list = h("div", { class: "shards" }, h("p", { class: "loading" }, "Loading shards…"));
  const element = h("div", {}, h("h1", {}, "Shards"), list);
  const render = (data: ShardList) => {
    if (data.shards.length === 0) return clear(list, h("p", {}, "No McpShards yet."));
    clear(
      list,
      data.shards.map((s) => shardCard(s, data.mode, ctx)),
    );
  };
  api<ShardList>("GET", "/api/shards").then(render, (e: unknown) => ctx.notify(String(e), "error"));
  return {
    element,
    onEvent(type, data) {
      if (type === "shards") render(data as ShardList);
    },
  };
}
