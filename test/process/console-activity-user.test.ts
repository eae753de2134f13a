/**
 * The console's activity view shows who called, in real headless Chromium:
 * a call made for an Open WebUI user (forwarded on a key marked to carry it)
 * shows the key and the user in their own columns, the filters by user and by
 * group find it (the admin API's `user` and `group`), and the detail panel
 * lists the user's groups; a plain key's call has no user.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBrowser, type BrowserPage, type TestBrowser } from "../harness/browser.ts";
import {
  connectStreamable,
  startShard,
  type TestGateway,
  type TestShard,
} from "../support/gateway-fixtures.ts";
import { OWUI_ENTRY, owuiUserHeaders, startGatewayWithKeys } from "../support/identity.ts";
import { eventually } from "../support/wait.ts";

const ADMIN = "console-admin-key-0123456789";

describe("console activity: the user", () => {
  let shard: TestShard;
  let gateway: TestGateway;
  let browser: TestBrowser;
  let ui: BrowserPage;

  beforeAll(async () => {
    shard = await startShard({ name: "home" });
    gateway = await startGatewayWithKeys({ home: { url: shard.url } }, [
      { id: "ops", key: ADMIN, admin: true },
      OWUI_ENTRY,
    ]);
    await eventually(() => gateway.gateway.catalogue.catalogue.toolsByName.has("home_echo"), "home_echo");
    const call = async (headers: Record<string, string>, text: string) => {
      const client = await connectStreamable(gateway.base, headers);
      await client.callTool({ name: "home_echo", arguments: { text } });
      await client.close();
    };
    await call(
      owuiUserHeaders({ id: "kid-1", email: "kid@example.com", groups: "family, school" }),
      "from kid",
    );
    await call({ authorization: `Bearer ${ADMIN}` }, "from ops");
    browser = await startBrowser("console-activity-user");
    ui = await browser.open(`${gateway.base}/ui`);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
    await shard?.close();
  });

  /** Key and User cells of the rows shown now. */
  async function rows(): Promise<string[][]> {
    const cells = async (n: number) => ui.page.locator(`tr.entry td:nth-child(${n})`).allTextContents();
    const [keys, users] = await Promise.all([cells(2), cells(4)]);
    return keys.map((key, i) => [key, users[i]!]);
  }

  /** Sets the filters and waits for exactly these rows (by content: two filters may show as many rows). */
  async function filter(values: Record<string, string>, expected: string[][]): Promise<void> {
    for (const name of ["key", "user", "group"])
      await ui.page.fill(`.filters input[name=${name}]`, values[name] ?? "");
    await ui.page.click(".filters button[type=submit]");
    const want = JSON.stringify(expected);
    await eventually(async () => JSON.stringify(await rows()) === want, `rows ${want}`);
  }

  it("shows the key and the user apart, filters by user and group, and lists the groups", async () => {
    await ui.page.fill("#key", ADMIN);
    await ui.page.click("form.signin button[type=submit]");
    await ui.page.click("#tab-activity");
    await eventually(async () => (await ui.page.locator("tr.entry").count()) === 2, "both calls listed");
    expect(await ui.page.locator("thead th").allTextContents()).toEqual([
      "Time",
      "Key",
      "Tool",
      "User",
      "Shard",
      "Duration",
      "Outcome",
    ]);
    expect(await rows()).toEqual([
      ["ops", ""],
      ["owui", "kid@example.com"],
    ]);

    const kid = [["owui", "kid@example.com"]];
    await filter({ group: "school" }, kid);
    await filter({ key: "ops" }, [["ops", ""]]);
    await filter({ user: "kid-1" }, kid);
    await filter({ group: "nobody" }, []);
    await ui.page.locator("tbody", { hasText: "No calls match" }).waitFor();

    await filter({ key: "ops" }, [["ops", ""]]);
    await filter({ user: "kid@example.com" }, kid);
    await ui.page.locator("tr.entry").first().click();
    const detail = ui.page.locator(".detail dl");
    await detail.waitFor();
    const text = await detail.innerText();
    expect(text).toMatch(/Key\s+owui/);
    expect(text).toMatch(/User\s+kid-1 <kid@example.com>/);
    expect(text).toMatch(/Groups\s+family, school/);
    await ui.screenshot("activity-user");
    expect(ui.problems).toEqual([]);
  });
});
