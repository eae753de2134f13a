/**
 * The console in a real headless Chromium (Debian's package, driven by
 * playwright-core) against a gateway that follows McpShards in the real
 * control plane: sign in, watch a shard go disabled live when kubectl patches
 * it, toggle it back from the page, restart a managed shard (the Deployment's
 * pod-template annotation, as `kubectl rollout restart`), search tools, fill
 * the form generated from a schema with nested and enum arguments and read
 * the result, filter the activity log and open a recorded call. Fails on any
 * console error or CSP violation; prints the screenshot files it saves.
 */
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { z } from "zod";
import { API_VERSION, KIND } from "../../src/api/index.ts";
import { buildGatewayApp, KeyStore, type Gateway } from "../../src/gateway/index.ts";
import { KubeRegistry, RESTARTED_AT } from "../../src/gateway/registry/kube.ts";
import { KubeClient, loadKubeConfig, RESOURCES, type KubeObject } from "../../src/kube/index.ts";
import { silentLogger } from "../../src/log.ts";
import { startBrowser, type BrowserPage, type TestBrowser } from "../harness/browser.ts";
import { kubectl, kubeconfigPath, useNamespace, waitFor } from "../harness/index.ts";
import { trueCondition } from "../support/shards.ts";
import { listenLoopback } from "../harness/net.ts";

const ns = useNamespace("console");
const ADMIN = "console-admin-key-0123456789";

/** A stateless MCP server with one tool whose schema has an enum, a nested object and an array. */
async function startFormsShard(): Promise<{ url: string; close: () => Promise<void> }> {
  const build = () => {
    const server = new McpServer({ name: "forms", version: "1.0.0" });
    server.registerTool(
      "deploy",
      {
        description: "deploys a build (enum, nested object, array)",
        annotations: { destructiveHint: false, idempotentHint: true },
        inputSchema: {
          environment: z.enum(["staging", "production"]).describe("where to"),
          target: z.object({ host: z.string(), port: z.number().int(), tls: z.boolean() }),
          tags: z.array(z.string()).optional(),
        },
      },
      async ({ environment, target, tags }) => ({
        content: [
          {
            type: "text",
            text: `deployed to ${environment} at ${target.host}:${target.port} tls=${target.tls} tags=${(tags ?? []).join(",")}`,
          },
        ],
      }),
    );
    return server;
  };
  const http: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const server = build();
      const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: undefined,
        enableJsonResponse: true,
      });
      res.on("close", () => void transport.close().then(() => server.close()));
      const body =
        chunks.length > 0 ? (JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown) : undefined;
      void server.connect(transport).then(() => transport.handleRequest(req, res, body));
    });
  });
  const port = await listenLoopback(http);
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    close: () => new Promise((resolve) => http.close(() => resolve())),
  };
}

describe("console in Chromium", () => {
  let kube: KubeClient;
  let forms: Awaited<ReturnType<typeof startFormsShard>>;
  let gateway: Gateway;
  let base: string;
  let browser: TestBrowser;
  let ui: BrowserPage;

  const ready = (url: string) => ({
    url,
    conditions: [trueCondition("Ready", "test"), trueCondition("Verified", "tools/list answered")],
  });

  beforeAll(async () => {
    kube = new KubeClient(loadKubeConfig({ kubeconfig: kubeconfigPath() }));
    forms = await startFormsShard();
    const shard = (name: string, spec: Record<string, unknown>) =>
      kube.create(RESOURCES.mcpShard, {
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: { name, namespace: ns.name },
        spec,
      });
    await shard("forms", { url: forms.url, activity: { recordArguments: true, recordResults: true } });
    await kube.mergePatch(RESOURCES.mcpShard, ns.name, "forms", { status: ready(forms.url) }, "status");
    // A managed shard: no kubelet here, so its Deployment never gets pods; restart writes the template anyway.
    await shard("worker", { container: { image: "registry.example.com/worker:1" } });
    await kube.create(RESOURCES.deployment, {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "worker", namespace: ns.name },
      spec: {
        selector: { matchLabels: { app: "worker" } },
        template: {
          metadata: { labels: { app: "worker" } },
          spec: { containers: [{ name: "mcp", image: "registry.example.com/worker:1" }] },
        },
      },
    });

    const registry = new KubeRegistry({ client: kube, logger: silentLogger(), namespaces: [ns.name] });
    gateway = await buildGatewayApp({
      registry,
      keys: KeyStore.fromEntries([{ id: "ops", key: ADMIN, admin: true }]),
      downGraceMs: 0,
      backoffInitialMs: 50,
    });
    await gateway.start();
    base = await gateway.app.listen({ host: "127.0.0.1", port: 0 });
    await waitFor(() => gateway.catalogue.catalogue.toolsByName.has("forms_deploy"), {
      message: "forms_deploy listed",
    });
    browser = await startBrowser("console");
    ui = await browser.open(`${base}/ui`);
  });

  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
    await forms?.close();
    await kube?.close();
  });

  const card = (name: string) => ui.page.locator(`article.shard[data-shard="${ns.name}/${name}"]`);

  it("signs in with an admin key and lists every shard with its conditions", async () => {
    await ui.screenshot("01-sign-in");
    await ui.page.fill("#key", ADMIN);
    await ui.page.click("form.signin button[type=submit]");
    await card("forms").waitFor();
    await card("worker").waitFor();
    expect(await card("forms").locator(".tool-count").textContent()).toBe("1");
    expect(await card("forms").locator(".kind").textContent()).toBe("external");
    expect(await card("worker").locator(".kind").textContent()).toBe("container");
    expect(await card("forms").locator(".badge", { hasText: "Ready" }).textContent()).toContain("True");
    // The key never reaches script-readable storage or the URL.
    expect(await ui.page.evaluate("document.cookie")).toBe("");
    expect(await ui.page.evaluate("localStorage.length + sessionStorage.length")).toBe(0);
    expect(ui.page.url()).not.toContain(ADMIN);
    await ui.screenshot("02-shards");
  });

  it("shows a shard disabled with kubectl without a reload, and toggles it back from the page", async () => {
    const toggle = card("forms").locator("input.toggle");
    expect(await toggle.isChecked()).toBe(true);
    await kubectl([
      "-n",
      ns.name,
      "patch",
      "mcpshard",
      "forms",
      "--type=merge",
      "-p",
      '{"spec":{"enabled":false}}',
    ]);
    await waitFor(async () => !(await toggle.isChecked()), {
      message: "the page never showed forms disabled",
    });
    expect(await card("forms").locator(".reason").textContent()).toContain("disabled");
    await ui.screenshot("03-shard-disabled-live");

    await card("forms").locator("input.toggle").click();
    await waitFor(
      async () => {
        const shard = await kube.get<KubeObject & { spec: { enabled: boolean } }>(
          RESOURCES.mcpShard,
          ns.name,
          "forms",
        );
        return shard.spec.enabled;
      },
      { message: "spec.enabled never went back to true" },
    );
    await card("forms")
      .locator(".state", { hasText: /^ready$/ })
      .waitFor();
  });

  it("restarts a managed shard's Deployment and refuses url shards in the page", async () => {
    expect(await card("forms").locator("button.restart").isDisabled()).toBe(true);
    expect(await card("forms").locator("footer .hint").textContent()).toContain("external url shard");
    // RFC 3339 to the second: the stamp is this click's if it is no older than the second before it.
    const clickedAt = Math.floor(Date.now() / 1000) * 1000;
    await card("worker").locator("button.restart").click();
    await ui.page.locator(".status", { hasText: "restart requested" }).waitFor();
    const deployment = await kube.get<
      KubeObject & { spec: { template: { metadata: { annotations?: Record<string, string> } } } }
    >(RESOURCES.deployment, ns.name, "worker");
    const restartedAt = deployment.spec.template.metadata.annotations?.[RESTARTED_AT];
    expect(Date.parse(restartedAt ?? "")).toBeGreaterThanOrEqual(clickedAt);
    await ui.screenshot("04-restart");
  });

  it("searches tools and calls one through the form generated from its schema", async () => {
    await ui.page.click("#tab-tools");
    await ui.page.locator("details.tool").first().waitFor();
    await ui.page.fill("#tool-search", "no-such-tool");
    await ui.page.locator(".tools", { hasText: "No tool matches" }).waitFor();
    await ui.page.fill("#tool-search", "deploy");
    const tool = ui.page.locator('details.tool[data-tool="forms_deploy"]');
    await tool.locator("summary").first().click();
    await ui.page.selectOption("#f-environment", { label: "production" });
    await ui.page.fill("#f-target_host", "web.home.arpa");
    await ui.page.fill("#f-target_port", "8443");
    await ui.page.check("#f-target_tls");
    await tool.locator("button.add-item").click();
    await tool.locator("button.add-item").click();
    await ui.page.fill("#f-tags_0", "blue");
    await ui.page.fill("#f-tags_1", "canary");
    await tool.locator("button.call").click();
    const result = tool.locator(".result .block.text");
    await result.waitFor();
    expect(await result.textContent()).toBe(
      "deployed to production at web.home.arpa:8443 tls=true tags=blue,canary",
    );
    await ui.screenshot("05-tools-try-it");

    // Raw JSON mode for what a form cannot say.
    await tool.locator("input.raw-toggle").check();
    await tool
      .locator("textarea.raw")
      .fill(
        JSON.stringify({ environment: "staging", target: { host: "raw.home.arpa", port: 1, tls: false } }),
      );
    await tool.locator("button.call").click();
    await tool.locator(".result .block.text", { hasText: "raw.home.arpa" }).waitFor();
  });

  it("filters the activity log and shows recorded arguments in the detail panel", async () => {
    await ui.page.click("#tab-activity");
    await ui.page.locator("tr.entry").first().waitFor();
    await ui.page.fill(".filters input[name=tool]", "forms_deploy");
    await ui.page.selectOption(".filters select[name=outcome]", "ok");
    await ui.page.click(".filters button[type=submit]");
    await waitFor(async () => (await ui.page.locator("tr.entry").count()) === 2, {
      message: "two forms_deploy calls",
    });
    const tools = await ui.page.locator("tr.entry td:nth-child(3) code").allTextContents();
    expect(new Set(tools)).toEqual(new Set(["forms_deploy"]));
    await ui.page.locator("tr.entry").last().click();
    const args = ui.page.locator(".detail pre.arguments");
    await args.waitFor();
    expect(JSON.parse((await args.textContent()) ?? "")).toEqual({
      environment: "production",
      target: { host: "web.home.arpa", port: 8443, tls: true },
      tags: ["blue", "canary"],
    });
    await ui.screenshot("06-activity");
    await ui.page.fill(".filters input[name=tool]", "nothing_like_this");
    await ui.page.click(".filters button[type=submit]");
    await ui.page.locator("tbody", { hasText: "No calls match" }).waitFor();
  });

  it("saw no console error and no CSP violation", () => {
    expect(ui.problems).toEqual([]);
  });
});
