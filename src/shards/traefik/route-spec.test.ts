import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { buildFileDocument, buildIngressRoute, crdRouterName } from "./route-spec.ts";
import { hasManagedHeader } from "./naming.ts";
import { validateDocument } from "./validate.ts";

describe("buildFileDocument", () => {
  it("builds a valid, managed document for a host and backends", () => {
    const doc = buildFileDocument({
      name: "gitea",
      host: "gitea.home.arpa",
      path_prefix: "/git",
      backends: ["http://10.0.0.5:3000", "http://10.0.0.6:3000"],
      entry_points: ["websecure"],
      middlewares: ["auth@file"],
      tls: { cert_resolver: "le" },
    });
    expect(hasManagedHeader(doc.text)).toBe(true);
    expect(doc.apiRouterName).toBe("shardgate-gitea@file");
    expect(validateDocument(doc.text).errors).toEqual([]);
    expect(parse(doc.text)).toEqual({
      http: {
        routers: {
          "shardgate-gitea": {
            rule: "Host(`gitea.home.arpa`) && PathPrefix(`/git`)",
            service: "shardgate-gitea",
            entryPoints: ["websecure"],
            middlewares: ["auth@file"],
            tls: { certResolver: "le" },
          },
        },
        services: {
          "shardgate-gitea": {
            loadBalancer: { servers: [{ url: "http://10.0.0.5:3000" }, { url: "http://10.0.0.6:3000" }] },
          },
        },
      },
    });
  });

  it("refuses what would break Traefik or escape the rule", () => {
    expect(() => buildFileDocument({ name: "a", host: "a`) || Host(`b", backends: ["http://x"] })).toThrow(
      /backtick/,
    );
    expect(() => buildFileDocument({ name: "a", host: "{{ .Env }}", backends: ["http://x"] })).toThrow(
      /Go templates/,
    );
    expect(() => buildFileDocument({ name: "a", host: "a" })).toThrow(/backend URL/);
    expect(() => buildFileDocument({ name: "a", backends: ["http://x"] })).toThrow(/host or rule/);
    expect(() =>
      buildFileDocument({ name: "a", host: "a", rule: "Path(`/`)", backends: ["http://x"] }),
    ).toThrow(/not both/);
  });
});

describe("buildIngressRoute", () => {
  it("labels the IngressRoute and predicts Traefik's router name", () => {
    const { object, apiRouterName } = buildIngressRoute(
      {
        name: "gitea",
        host: "gitea.home.arpa",
        kubernetes_service: { name: "gitea-http", port: 3000 },
        entry_points: ["web"],
      },
      "apps",
    );
    expect(object.metadata).toEqual({
      name: "shardgate-gitea",
      namespace: "apps",
      labels: { "app.kubernetes.io/managed-by": "shardgate" },
    });
    expect(object.spec).toEqual({
      entryPoints: ["web"],
      routes: [
        { kind: "Rule", match: "Host(`gitea.home.arpa`)", services: [{ name: "gitea-http", port: 3000 }] },
      ],
    });
    expect(apiRouterName).toMatch(/^apps-shardgate-gitea-[0-9a-f]{20}@kubernetescrd$/);
    expect(apiRouterName).toBe(crdRouterName("apps", "shardgate-gitea", "Host(`gitea.home.arpa`)"));
  });
});
