import { mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FileOwnershipError, ManagedFileStore } from "./file-store.ts";
import { managedHeader } from "./naming.ts";

let dir: string;
let store: ManagedFileStore;
const doc = (route: string, body: string) => `${managedHeader(route)}${body}\n`;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "shardgate-store-"));
  store = new ManagedFileStore(dir);
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe("ManagedFileStore", () => {
  it("writes, lists, reads and removes managed files at the top level", async () => {
    await store.write("gitea", doc("gitea", "http: {}"), { replace: false });
    expect(await readdir(dir)).toEqual(["shardgate-gitea.yaml"]);
    expect((await store.list()).map((f) => f.route)).toEqual(["gitea"]);
    expect((await store.read("gitea"))?.content).toContain("http: {}");
    expect(await store.remove("gitea")).toBe(true);
    expect(await store.remove("gitea")).toBe(false);
    expect(await readdir(dir)).toEqual([]);
  });

  it("replaces only when asked", async () => {
    await store.write("a", doc("a", "http: {}"), { replace: false });
    await expect(store.write("a", doc("a", "tcp: {}"), { replace: false })).rejects.toThrow(/already exists/);
    expect(await store.write("a", doc("a", "tcp: {}"), { replace: true })).toMatchObject({ replaced: true });
    expect(await readFile(store.pathOf("a"), "utf8")).toContain("tcp: {}");
  });

  it("never overwrites, removes or lists a file it does not own", async () => {
    const foreign = "http:\n  routers: {}\n";
    await writeFile(join(dir, "shardgate-mine.yaml"), foreign);
    await writeFile(join(dir, "user.yaml"), foreign);
    await expect(store.write("mine", doc("mine", "http: {}"), { replace: true })).rejects.toThrow(
      FileOwnershipError,
    );
    await expect(store.remove("mine")).rejects.toThrow(/not managed by shardgate/);
    expect(await store.list()).toEqual([]);
    expect(await readFile(join(dir, "shardgate-mine.yaml"), "utf8")).toBe(foreign);
    expect(await store.unmanagedConfigFiles()).toEqual(["shardgate-mine.yaml", "user.yaml"]);
  });

  it("refuses a symlink in place of a managed file", async () => {
    await writeFile(join(dir, "target.txt"), "precious");
    await symlink(join(dir, "target.txt"), join(dir, "shardgate-link.yaml"));
    await expect(store.write("link", doc("link", "http: {}"), { replace: true })).rejects.toThrow(
      /not a regular file/,
    );
    expect(await readFile(join(dir, "target.txt"), "utf8")).toBe("precious");
  });

  it("refuses route names that could leave the directory", async () => {
    for (const name of ["../etc", "a/b", "A", "", "x".repeat(60), ".hidden"]) {
      await expect(store.write(name, doc(name, "http: {}"), { replace: true })).rejects.toThrow(
        /invalid route name/,
      );
    }
  });

  it("serialises concurrent writes: the file is always one whole document and no temp file is left", async () => {
    const bodies = Array.from({ length: 20 }, (_, i) =>
      doc("busy", `http:\n  routers: {}\n# ${String(i).repeat(2000)}`),
    );
    await Promise.all(bodies.map((b) => store.write("busy", b, { replace: true })));
    const final = await readFile(store.pathOf("busy"), "utf8");
    expect(bodies).toContain(final);
    expect(await readdir(dir)).toEqual(["shardgate-busy.yaml"]);
  });

  it("refuses to write a document without the managed header", () => {
    expect(() => store.write("x", "http: {}\n", { replace: true })).toThrow(/managed header/);
  });
});
