import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { validateDocument } from "./validate.ts";

const good = `http:
  routers:
    gitea:
      rule: Host(\`gitea.home.arpa\`)
      entryPoints: [web]
      service: gitea
      middlewares: [strip, auth@file]
  services:
    gitea:
      loadBalancer:
        servers:
          - url: http://127.0.0.1:3000
  middlewares:
    strip:
      stripPrefix:
        prefixes: [/git]
`;

describe("validateDocument", () => {
  it("accepts a well-formed document", () => {
    const r = validateDocument(good);
    expect(r.errors).toEqual([]);
    expect(r.valid).toBe(true);
  });

  it("accepts an empty document", () => {
    expect(validateDocument("").valid).toBe(true);
    expect(validateDocument("# only a comment\n").valid).toBe(true);
  });

  it("reports YAML syntax errors with line and column", () => {
    const r = validateDocument("http:\n  routers:\n    a: [\n");
    expect(r.valid).toBe(false);
    expect(r.errors[0]?.message).toMatch(/^YAML syntax/);
    expect(r.errors[0]?.line).toBeGreaterThan(0);
  });

  it("locates unknown fields and shape errors", () => {
    const r = validateDocument(
      good.replace("entryPoints: [web]", "entrypoint: [web]").replace("http://127.0.0.1:3000", "not a url"),
    );
    expect(r.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          path: "http.routers.gitea.entrypoint",
          line: 5,
          column: 7,
          message: 'unknown field "entrypoint"',
        }),
        expect.objectContaining({ path: "http.services.gitea.loadBalancer.servers.0.url", line: 12 }),
      ]),
    );
  });

  it("reports rule problems at the rule's path", () => {
    const r = validateDocument(good.replace("Host(`gitea.home.arpa`)", "Host(`gitea.home.arpa`"));
    expect(r.errors[0]).toMatchObject({ path: "http.routers.gitea.rule", line: 4 });
  });

  it("checks references against what Traefik knows", () => {
    const known = {
      entryPoints: new Set(["websecure"]),
      httpServices: new Set(["api@internal"]),
      httpMiddlewares: new Set(["other@file"]),
    };
    const r = validateDocument(good, { known });
    expect(r.errors.map((e) => e.path)).toEqual([
      "http.routers.gitea.entryPoints.0",
      "http.routers.gitea.middlewares.1",
    ]);
    expect(r.errors[0]?.message).toContain("websecure");
    const missingService = validateDocument(good.replace("service: gitea", "service: nope"), { known });
    expect(missingService.errors.map((e) => e.path)).toContain("http.routers.gitea.service");
  });

  it("refuses a middleware with two types and a router without a service", () => {
    const r = validateDocument(
      "http:\n  routers:\n    a:\n      rule: Path(`/`)\n  middlewares:\n    m:\n      addPrefix: {prefix: /a}\n      compress: {}\n",
    );
    expect(r.errors.map((e) => e.path)).toEqual(["http.middlewares.m"]);
    expect(validateDocument("http:\n  routers:\n    a:\n      rule: Path(`/`)\n").errors[0]?.path).toBe(
      "http.routers.a",
    );
  });

  it("refuses several YAML documents in one file", () => {
    expect(validateDocument("http: {}\n---\ntcp: {}\n").valid).toBe(false);
  });
});

describe("validateDocument, field spelling", () => {
  const anyCase = readFileSync(
    join(import.meta.dirname, "../../../test/fixtures/traefik/keys/any-case.yaml"),
    "utf8",
  );

  it("accepts what Traefik loads, warning about each non-canonical spelling", () => {
    const r = validateDocument(anyCase, { known: { entryPoints: new Set(["web"]) } });
    expect(r.errors).toEqual([]);
    expect(r.valid).toBe(true);
    expect(r.warnings.map((w) => w.path)).toEqual([
      "HTTP",
      "HTTP.Routers",
      "HTTP.Routers.any-case.RULE",
      "HTTP.Routers.any-case.entrypoints",
      "HTTP.Routers.any-case.SERVICE",
      "HTTP.Routers.any-case.Middlewares",
      "HTTP.services.any-case.loadbalancer",
      "HTTP.services.any-case.loadbalancer.SERVERS",
      "HTTP.services.any-case.loadbalancer.SERVERS.0.URL",
      "HTTP.services.any-case.loadbalancer.passhostheader",
      "HTTP.middlewares.Any-Case-Strip.stripprefix",
    ]);
    expect(r.warnings[3]).toMatchObject({
      line: 8,
      column: 7,
      message: expect.stringContaining('canonical spelling is "entryPoints"'),
    });
    // Names keep their case: the router's references resolve against the document as written.
    expect(Object.keys(r.config?.http?.middlewares ?? {})).toEqual(["Any-Case-Strip"]);
    expect(r.config?.http?.routers?.["any-case"]?.entryPoints).toEqual(["web"]);
  });

  it("still checks values and references under any spelling", () => {
    const r = validateDocument(anyCase.replace("[web]", "[nope]").replace("http://127.0.0.1:9", "nope"), {
      known: { entryPoints: new Set(["web"]) },
    });
    expect(r.valid).toBe(false);
    expect(r.errors.map((e) => [e.path, e.line])).toEqual([
      ["HTTP.services.any-case.loadbalancer.SERVERS.0.URL", 15],
    ]);
    const refs = validateDocument(anyCase.replace("[web]", "[nope]"), {
      known: { entryPoints: new Set(["web"]) },
    });
    expect(refs.errors.map((e) => [e.path, e.line])).toEqual([["HTTP.Routers.any-case.entrypoints.0", 8]]);
    const middleware = validateDocument(anyCase.replace("[Any-Case-Strip]", "[any-case-strip]"), {
      known: { httpMiddlewares: new Set() },
    });
    expect(middleware.errors.map((e) => e.path)).toEqual(["HTTP.Routers.any-case.Middlewares.0"]);
  });

  it("warns, not refuses, when one field is given in two spellings", () => {
    const r = validateDocument(
      "http:\n  routers:\n    a:\n      rule: Path(`/`)\n      Rule: Path(`/b`)\n      service: a@internal\n",
    );
    expect(r.valid).toBe(true);
    expect(r.warnings).toEqual([
      expect.objectContaining({
        path: "http.routers.a.Rule",
        line: 5,
        message: expect.stringContaining("keeps only one"),
      }),
    ]);
  });
});
