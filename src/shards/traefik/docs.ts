/**
 * Traefik v3 documentation for the model: a topic maps to a page of the
 * documentation site (or a mirror / offline copy under the same paths), the
 * page's article is turned into plain text with cheerio, and pages are cached
 * in memory for a TTL so a chatty model does not refetch.
 */
import { load } from "cheerio";
import { request } from "undici";
import { messageOf } from "../../util/index.ts";

import { DEFAULT_DOCS_BASE_URL } from "./config.ts";
import { Refusal } from "./refusal.ts";

export { DEFAULT_DOCS_BASE_URL };

const R = "reference/routing-configuration";
const I = "reference/install-configuration";

/** Topic -> page path (mkdocs URL) under the base URL, for Traefik v3.6. */
export const DOC_TOPICS: Readonly<Record<string, string>> = {
  overview: "",
  routers: `${R}/http/routing/router/`,
  rules: `${R}/http/routing/rules-and-priority/`,
  services: `${R}/http/load-balancing/service/`,
  serverstransport: `${R}/http/load-balancing/serverstransport/`,
  middlewares: `${R}/http/middlewares/overview/`,
  tls: `${R}/http/tls/overview/`,
  "tls-certificates": `${R}/http/tls/tls-certificates/`,
  "tls-options": `${R}/http/tls/tls-options/`,
  acme: `${I}/tls/certificate-resolvers/acme/`,
  entrypoints: `${I}/entrypoints/`,
  api: `${I}/api-dashboard/`,
  providers: `${I}/providers/overview/`,
  "file-provider": `${I}/providers/others/file/`,
  "kubernetes-crd": `${I}/providers/kubernetes/kubernetes-crd/`,
  ingressroute: `${R}/kubernetes/crd/http/ingressroute/`,
  "kubernetes-middleware": `${R}/kubernetes/crd/http/middleware/`,
  "kubernetes-ingress": `${I}/providers/kubernetes/kubernetes-ingress/`,
  "dynamic-configuration": `${R}/dynamic-configuration-methods/`,
  healthcheck: `${I}/observability/healthcheck/`,
  logs: `${I}/observability/logs-and-accesslogs/`,
  metrics: `${I}/observability/metrics/`,
  tcp: `${R}/tcp/routing/router/`,
  udp: `${R}/udp/routing/router/`,
};

/** Middlewares with their own page (`middleware/<name>` topics). */
const MIDDLEWARE_PAGES = [
  "addprefix",
  "basicauth",
  "buffering",
  "chain",
  "circuitbreaker",
  "compress",
  "contenttype",
  "digestauth",
  "errorpages",
  "forwardauth",
  "grpcweb",
  "headers",
  "inflightreq",
  "ipallowlist",
  "passtlsclientcert",
  "ratelimit",
  "redirectregex",
  "redirectscheme",
  "replacepath",
  "replacepathregex",
  "retry",
  "stripprefix",
  "stripprefixregex",
];

const ALIASES: Readonly<Record<string, string>> = {
  router: "routers",
  rule: "rules",
  matchers: "rules",
  service: "services",
  "load-balancing": "services",
  middleware: "middlewares",
  https: "tls",
  certificates: "tls-certificates",
  letsencrypt: "acme",
  "cert-resolver": "acme",
  certresolver: "acme",
  entrypoint: "entrypoints",
  "entry-points": "entrypoints",
  dashboard: "api",
  file: "file-provider",
  kubernetescrd: "kubernetes-crd",
  crd: "kubernetes-crd",
  ingressroutes: "ingressroute",
  "dynamic-config": "dynamic-configuration",
  provider: "providers",
  errors: "middleware/errorpages",
  ipwhitelist: "middleware/ipallowlist",
};

export class UnknownTopicError extends Refusal {
  override name = "UnknownTopicError";
}

export function topicList(): string[] {
  return [...Object.keys(DOC_TOPICS), ...MIDDLEWARE_PAGES.map((m) => `middleware/${m}`)];
}

/** Resolves a loosely written topic ("File Provider", "stripPrefix", "middleware/headers") to a page path. */
export function resolveTopic(topic: string): { topic: string; path: string } {
  let key = topic
    .trim()
    .toLowerCase()
    .replace(/[\s_]+/g, "-");
  key = ALIASES[key] ?? key;
  if (key in DOC_TOPICS) return { topic: key, path: DOC_TOPICS[key]! };
  const mw = key.replace(/^middlewares?[/:-]/, "").replace(/-/g, "");
  const mwKey = ALIASES[mw]?.replace("middleware/", "") ?? mw;
  if (MIDDLEWARE_PAGES.includes(mwKey)) {
    return { topic: `middleware/${mwKey}`, path: `${R}/http/middlewares/${mwKey}/` };
  }
  throw new UnknownTopicError(
    `unknown documentation topic ${JSON.stringify(topic)}; known topics: ${topicList().join(", ")}`,
  );
}

const HEADINGS = new Set(["h1", "h2", "h3", "h4", "h5", "h6"]);

function clean(text: string): string {
  return text
    .replace(/[¶\u00b6]/g, "")
    .replace(/\s+/g, " ")
    .trim();
}

const BLOCKS = "h1,h2,h3,h4,h5,h6,p,pre,ul,ol,table,.admonition-title";

export interface ExtractedDoc {
  readonly title: string;
  readonly text: string;
  readonly headings: string[];
}

/**
 * The article's text, or only the part under the first heading containing
 * `section` (up to the next heading of the same or a higher level).
 */
export function extractDoc(html: string, section?: string): ExtractedDoc {
  const $ = load(html);
  $("script, style, nav, header, footer, .headerlink, .md-source-file, .md-feedback").remove();
  const root = $("article").first().length ? $("article").first() : $(".md-content, main, body").first();
  const title = clean(root.find("h1").first().text() || $("title").text());
  // Blocks nested in other blocks (a <p> inside a list item, <pre> in a table) are read with their parent.
  const blocks = root
    .find(BLOCKS)
    .toArray()
    .filter((el) => $(el).parents(BLOCKS).length === 0 || HEADINGS.has(el.tagName.toLowerCase()));
  type Block = (typeof blocks)[number];
  const blockText = (el: Block): string => {
    const tag = el.tagName.toLowerCase();
    const node = $(el);
    if (HEADINGS.has(tag)) return `${"#".repeat(Number(tag[1]))} ${clean(node.text())}`;
    if (tag === "pre") return "```\n" + node.text().replace(/\n+$/, "") + "\n```";
    if (tag === "ul" || tag === "ol") {
      return node
        .children("li")
        .toArray()
        .map((li) => `- ${clean($(li).text())}`)
        .join("\n");
    }
    if (tag === "table") {
      return node
        .find("tr")
        .toArray()
        .map(
          (tr) =>
            "| " +
            $(tr)
              .children("th,td")
              .toArray()
              .map((c) => clean($(c).text()))
              .join(" | ") +
            " |",
        )
        .join("\n");
    }
    return clean(node.text());
  };

  const headings = blocks
    .filter((el) => HEADINGS.has(el.tagName.toLowerCase()))
    .map((el) => clean($(el).text()));
  let selected = blocks;
  if (section) {
    const needle = section.toLowerCase();
    const start = blocks.findIndex(
      (el) => HEADINGS.has(el.tagName.toLowerCase()) && clean($(el).text()).toLowerCase().includes(needle),
    );
    if (start < 0) {
      throw new UnknownTopicError(
        `no section ${JSON.stringify(section)} on this page; sections: ${headings.join("; ")}`,
      );
    }
    const level = Number(blocks[start]!.tagName[1]);
    let end = blocks.length;
    for (let i = start + 1; i < blocks.length; i++) {
      const tag = blocks[i]!.tagName.toLowerCase();
      if (HEADINGS.has(tag) && Number(tag[1]) <= level) {
        end = i;
        break;
      }
    }
    selected = blocks.slice(start, end);
  }
  const text = selected
    .map((el) => blockText(el))
    .filter((t) => t.length > 0)
    .join("\n\n");
  return { title, text, headings };
}

export interface DocsClientOptions {
  /** @default DEFAULT_DOCS_BASE_URL */
  readonly baseUrl?: string;
  /** @default 3600 */
  readonly cacheTtlSeconds?: number;
  /** @default 10000 */
  readonly timeoutMs?: number;
  /** Longest text returned, in characters. @default 20000 */
  readonly maxChars?: number;
}

export interface DocsAnswer {
  readonly topic: string;
  readonly url: string;
  readonly title: string;
  readonly text: string;
  readonly truncated: boolean;
  readonly cached: boolean;
  readonly sections: string[];
}

export class DocsClient {
  readonly baseUrl: string;
  readonly #ttlMs: number;
  readonly #timeoutMs: number;
  readonly #maxChars: number;
  readonly #cache = new Map<string, { html: string; expires: number }>();

  constructor(options: DocsClientOptions = {}) {
    this.baseUrl = (options.baseUrl ?? DEFAULT_DOCS_BASE_URL).replace(/\/*$/, "/");
    this.#ttlMs = (options.cacheTtlSeconds ?? 3600) * 1000;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#maxChars = options.maxChars ?? 20_000;
  }

  async #page(url: string, signal?: AbortSignal): Promise<{ html: string; cached: boolean }> {
    const hit = this.#cache.get(url);
    if (hit && hit.expires > Date.now()) return { html: hit.html, cached: true };
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    let res;
    try {
      res = await request(url, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
    } catch (cause) {
      throw new Error(`fetching Traefik documentation ${url} failed: ${messageOf(cause)}`, { cause });
    }
    const html = await res.body.text();
    if (res.statusCode !== 200)
      throw new Error(`fetching Traefik documentation ${url}: HTTP ${res.statusCode}`);
    this.#cache.set(url, { html, expires: Date.now() + this.#ttlMs });
    return { html, cached: false };
  }

  async get(topic: string, section?: string, signal?: AbortSignal): Promise<DocsAnswer> {
    const resolved = resolveTopic(topic);
    const url = new URL(resolved.path, this.baseUrl).toString();
    const { html, cached } = await this.#page(url, signal);
    const doc = extractDoc(html, section);
    const truncated = doc.text.length > this.#maxChars;
    return {
      topic: resolved.topic,
      url,
      title: doc.title,
      text: truncated ? doc.text.slice(0, this.#maxChars) + "\n[truncated: ask for a section]" : doc.text,
      truncated,
      cached,
      sections: doc.headings,
    };
  }
}
