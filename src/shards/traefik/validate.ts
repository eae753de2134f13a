/**
 * Validation of one dynamic-configuration document before it may reach
 * Traefik's watched directory: YAML syntax, the shape Traefik accepts, router
 * rule syntax and references to entry points, services and middlewares. Pure:
 * what Traefik currently knows is passed in as `KnownObjects`.
 */
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node } from "yaml";
import { dynamicConfigSchema, type DynamicConfig } from "./dynamic-schema.ts";
import { canonicalizeKeys } from "./key-spelling.ts";
import { checkRule, type RuleKind } from "./rules.ts";

export interface ValidationIssue {
  /** Dotted location in the document, e.g. `http.routers.foo.rule`; "" for the document. */
  readonly path: string;
  readonly message: string;
  /** 1-based position in the YAML text, when known. */
  readonly line?: number;
  readonly column?: number;
}

export interface ValidationResult {
  readonly valid: boolean;
  readonly errors: readonly ValidationIssue[];
  readonly warnings: readonly ValidationIssue[];
  /** The parsed document, when it passed the shape check. */
  readonly config?: DynamicConfig;
}

/**
 * Names Traefik's API reports, fully qualified (`name@provider`). A set left
 * undefined is not checked (e.g. the API was unreachable).
 */
export interface KnownObjects {
  readonly entryPoints?: ReadonlySet<string>;
  readonly httpServices?: ReadonlySet<string>;
  readonly httpMiddlewares?: ReadonlySet<string>;
  readonly tcpServices?: ReadonlySet<string>;
  readonly tcpMiddlewares?: ReadonlySet<string>;
  readonly udpServices?: ReadonlySet<string>;
}

export interface ValidateOptions {
  readonly known?: KnownObjects;
  /** The provider the document is loaded by, for resolving unqualified names. @default "file" */
  readonly provider?: string;
}

type PathKey = string | number;

function dotted(path: readonly PathKey[]): string {
  return path.map(String).join(".");
}

/**
 * Where `path` (with `key`: that key inside the map at `path`) is in the
 * document: the dotted path spelled as the document spells it, and the
 * 1-based line and column. Paths of shape errors use canonical field names;
 * the document may spell them in another case.
 */
function locate(
  doc: Document,
  counter: LineCounter,
  path: readonly PathKey[],
  key?: string,
): { path: string; line?: number; column?: number } {
  let node: unknown = doc.contents;
  let last: Node | undefined = doc.contents ?? undefined;
  const steps = key === undefined ? path : [...path, key];
  const spelled: PathKey[] = [];
  let lost = false;
  for (const [index, step] of steps.entries()) {
    if (lost) {
      spelled.push(step);
    } else if (isMap(node)) {
      const keyIs = (p: { key: unknown }, exact: boolean) =>
        isScalar(p.key) &&
        (exact
          ? String(p.key.value) === String(step)
          : String(p.key.value).toLowerCase() === String(step).toLowerCase());
      const pair = node.items.find((p) => keyIs(p, true)) ?? node.items.find((p) => keyIs(p, false));
      if (!pair || !isScalar(pair.key)) {
        lost = true;
        spelled.push(step);
        continue;
      }
      spelled.push(String(pair.key.value));
      if (key !== undefined && index === steps.length - 1) {
        last = pair.key;
        continue;
      }
      node = pair.value;
      if (node && typeof node === "object" && "range" in node) last = node as Node;
    } else if (isSeq(node) && typeof step === "number") {
      spelled.push(step);
      node = node.items[step];
      if (node && typeof node === "object" && "range" in node) last = node as Node;
    } else {
      lost = true;
      spelled.push(step);
    }
  }
  const offset = last?.range?.[0];
  if (offset === undefined) return { path: dotted(spelled) };
  const { line, col } = counter.linePos(offset);
  return { path: dotted(spelled), line, column: col };
}

function qualify(name: string, provider: string): string {
  return name.includes("@") ? name : `${name}@${provider}`;
}

export function validateDocument(text: string, options: ValidateOptions = {}): ValidationResult {
  const provider = options.provider ?? "file";
  const errors: ValidationIssue[] = [];
  const warnings: ValidationIssue[] = [];
  const counter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
  if (!Array.isArray(docs)) return { valid: true, errors, warnings, config: {} };
  if (docs.length > 1) {
    errors.push({
      path: "",
      message: "one YAML document per file: Traefik reads only a single document",
      ...lineCol(counter, docs[1]?.range[0]),
    });
  }
  const doc = docs[0];
  if (!doc) return { valid: true, errors, warnings, config: {} };
  for (const e of doc.errors) {
    errors.push({
      path: "",
      message: `YAML syntax: ${e.message.split("\n")[0] ?? e.code}`,
      ...lineCol(counter, e.pos[0]),
    });
  }
  if (errors.length > 0) return { valid: false, errors, warnings };
  if (text.includes("{{")) {
    warnings.push({
      path: "",
      message:
        "contains Go template actions ({{ }}); Traefik renders files as templates, the rendered result is not checked here",
    });
  }

  const { value: raw, respellings } = canonicalizeKeys(doc.toJS() ?? {}, dynamicConfigSchema);
  for (const r of respellings) {
    warnings.push({
      message: r.duplicate
        ? `field "${r.key}" repeats "${r.canonical}" in another spelling: Traefik keeps only one of them; remove the other`
        : `field "${r.key}" works (Traefik ignores the case of field names) but the canonical spelling is "${r.canonical}"`,
      ...locate(doc, counter, r.path, r.key),
    });
  }
  const parsed = dynamicConfigSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path.filter((p): p is PathKey => typeof p !== "symbol");
      if (issue.code === "unrecognized_keys") {
        for (const key of issue.keys) {
          errors.push({ message: `unknown field "${key}"`, ...locate(doc, counter, path, key) });
        }
      } else {
        errors.push({ message: issue.message, ...locate(doc, counter, path) });
      }
    }
    return { valid: false, errors, warnings };
  }
  const config = parsed.data;
  const at = (path: PathKey[]) => locate(doc, counter, path);
  const known = options.known ?? {};

  const checkRules = (section: "http" | "tcp", kind: RuleKind) => {
    const routers: Record<string, { rule: string }> = config[section]?.routers ?? {};
    for (const [name, router] of Object.entries(routers)) {
      const result = checkRule(router.rule, kind);
      for (const p of result.problems) {
        errors.push({
          ...at([section, "routers", name, "rule"]),
          message: `${p.message} (at column ${p.column} of the rule)`,
        });
      }
    }
  };
  checkRules("http", "http");
  checkRules("tcp", "tcp");

  const local = {
    http: {
      services: Object.keys(config.http?.services ?? {}),
      middlewares: Object.keys(config.http?.middlewares ?? {}),
    },
    tcp: {
      services: Object.keys(config.tcp?.services ?? {}),
      middlewares: Object.keys(config.tcp?.middlewares ?? {}),
    },
    udp: { services: Object.keys(config.udp?.services ?? {}), middlewares: [] as string[] },
  };
  const refExists = (
    name: string,
    localNames: string[],
    knownSet: ReadonlySet<string> | undefined,
  ): boolean | undefined => {
    if (!name.includes("@") && localNames.includes(name)) return true;
    if (!knownSet) return undefined;
    return knownSet.has(qualify(name, provider));
  };

  interface RouterRefs {
    entryPoints?: string[] | undefined;
    service?: string | undefined;
    middlewares?: string[] | undefined;
    parentRefs?: string[] | undefined;
  }
  const sections: [
    "http" | "tcp" | "udp",
    Record<string, RouterRefs> | undefined,
    ReadonlySet<string> | undefined,
    ReadonlySet<string> | undefined,
  ][] = [
    ["http", config.http?.routers, known.httpServices, known.httpMiddlewares],
    ["tcp", config.tcp?.routers, known.tcpServices, known.tcpMiddlewares],
    ["udp", config.udp?.routers, known.udpServices, undefined],
  ];
  for (const [section, routers, services, middlewares] of sections) {
    for (const [name, router] of Object.entries(routers ?? {})) {
      const path = [section, "routers", name];
      (router.entryPoints ?? []).forEach((ep, i) => {
        if (known.entryPoints && !known.entryPoints.has(ep)) {
          errors.push({
            ...at([...path, "entryPoints", i]),
            message: `unknown entry point "${ep}"; Traefik has: ${[...known.entryPoints].join(", ") || "(none)"}`,
          });
        }
      });
      if (!router.service) {
        if (section === "http" && !router.parentRefs) {
          errors.push({ ...at(path), message: "router has no service" });
        }
      } else if (refExists(router.service, local[section].services, services) === false) {
        errors.push({
          ...at([...path, "service"]),
          message: `service "${router.service}" is neither defined in this document nor known to Traefik (as ${qualify(router.service, provider)})`,
        });
      }
      (router.middlewares ?? []).forEach((mw, i) => {
        if (refExists(mw, local[section].middlewares, middlewares) === false) {
          errors.push({
            ...at([...path, "middlewares", i]),
            message: `middleware "${mw}" is neither defined in this document nor known to Traefik (as ${qualify(mw, provider)})`,
          });
        }
      });
    }
  }
  return { valid: errors.length === 0, errors, warnings, config };
}

function lineCol(counter: LineCounter, offset: number | undefined): { line?: number; column?: number } {
  if (offset === undefined) return {};
  const { line, col } = counter.linePos(offset);
  return { line, column: col };
}
