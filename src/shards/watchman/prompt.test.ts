import { describe, expect, it } from "vitest";
import { diagnoseText } from "./prompt.ts";
import { traefikTools } from "../traefik/tools.ts";
import type { TraefikDeps } from "../traefik/operations.ts";
import { watchmanTools } from "./tools.ts";
import type { LogBackend } from "./backend.ts";
import { watchmanShardConfigSchema } from "./config.ts";

/** Every tool the text names, as the gateway exposes them (prefix_tool). */
function namedTools(text: string, prefixes: string[]): string[] {
  const re = new RegExp(`\\b(${prefixes.join("|")})_([a-z_]+)\\b`, "g");
  return [...new Set([...text.matchAll(re)].map((m) => m[0]))];
}

describe("diagnose_service", () => {
  it("names only tools the Traefik and Watchman shards really have, with the gateway's prefixes", () => {
    const text = diagnoseText("gitea.home.lab", {
      watchman: "logs",
      traefik: "proxy",
      backend: "kubernetes",
    });
    // The tool lists are read from the shards' definitions (no backend call is made by listing names).
    const traefik = traefikTools({ routes: { mode: "file" } } as unknown as TraefikDeps).map(
      (t) => `proxy_${t.name}`,
    );
    const watchman = watchmanTools({} as LogBackend, watchmanShardConfigSchema.parse({})).map(
      (t) => `logs_${t.name}`,
    );
    const named = namedTools(text, ["proxy", "logs"]);
    expect(named.sort()).toEqual(
      [
        "proxy_list_routes",
        "proxy_get_backend_status",
        "logs_get_container_stats",
        "logs_tail_logs",
        "logs_search_logs",
      ].sort(),
    );
    for (const name of named) expect([...traefik, ...watchman]).toContain(name);
    expect(text).toContain('"search": "gitea.home.lab"');
    expect(text).toContain("ip/<that IP>");
  });

  it("maps backends to container names on Docker", () => {
    expect(diagnoseText("gitea", { watchman: "watchman", traefik: "traefik", backend: "docker" })).toContain(
      "names a container",
    );
  });
});
