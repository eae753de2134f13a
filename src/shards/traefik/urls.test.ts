import { describe, expect, it } from "vitest";
import { buildFileDocument } from "./route-spec.ts";
import { Refusal } from "./refusal.ts";
import { checkFileBackend, ProbePathError, probeTarget } from "./urls.ts";

describe("probeTarget", () => {
  const server = "http://10.0.0.5:3000";

  it("resolves a path (and query) against the backend", () => {
    expect(probeTarget(server, undefined)).toBe(server);
    expect(probeTarget(server, "/healthz")).toBe("http://10.0.0.5:3000/healthz");
    expect(probeTarget(`${server}/app/`, "/healthz?full=1")).toBe("http://10.0.0.5:3000/healthz?full=1");
  });

  it.each([
    "http://169.254.169.254/latest/meta-data/",
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_INFO",
    "//evil.example/x",
    "/\\evil.example/x",
    "/\t/evil.example/x",
    "healthz",
    "javascript:alert(1)",
  ])("refuses %j: only a path on the backend itself", (path) => {
    expect(() => probeTarget(server, path)).toThrow(ProbePathError);
  });

  it("is a refusal the model reads, naming what to give instead", () => {
    const error = (() => {
      try {
        probeTarget(server, "http://127.0.0.1:8080/api/rawdata");
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(Refusal);
    expect((error as Error).message).toContain("must be a path such as /healthz");
  });
});

describe("file-mode backend URLs", () => {
  it.each(["http://10.0.0.5:3000", "https://nas.home.arpa", "h2c://grpc:50051"])("accepts %s", (url) => {
    expect(() => checkFileBackend(url)).not.toThrow();
  });

  it.each([
    ["file:///etc/passwd", "scheme file:"],
    ["gopher://127.0.0.1:6379/_x", "scheme gopher:"],
    ["javascript:alert(1)", "scheme javascript:"],
    ["nas:3000", "scheme nas:"],
    ["10.0.0.5:3000", "is not a URL"],
    ["not a url", "is not a URL"],
  ])("refuses %s", (url, message) => {
    expect(() => checkFileBackend(url)).toThrow(message);
    expect(() => buildFileDocument({ name: "x", host: "x.home.arpa", backends: [url] })).toThrow(Refusal);
  });
});
