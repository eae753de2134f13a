// `shardgate shard watchman` refuses settings it must not run with, the way a
// bad flag is refused: exit 2 and a message that says what to do.
import { describe, expect, it } from "vitest";
import { runCli } from "../support/cli.ts";

describe("shardgate shard watchman", () => {
  it("refuses a namespace list that names no namespace", () => {
    const r = runCli(["shard", "watchman", "--namespaces", "Apps,media", "--port", "0"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--namespaces");
    expect(r.stderr).toContain("not a namespace name");
  });

  it("refuses the raw Docker socket unless told, with the proxy to use instead", () => {
    const r = runCli(["shard", "watchman", "--backend", "docker", "--port", "0"], {
      DOCKER_HOST: "unix:///var/run/docker.sock",
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^shardgate shard watchman: refusing to read Docker through the raw socket/);
    expect(r.stderr).toContain("--allow-raw-socket");
    expect(r.stderr).not.toContain("    at ");
  });
});
