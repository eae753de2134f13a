/**
 * Traefik's file provider matches field names without regard to case
 * (paerser fills Go struct fields case-insensitively): `entrypoints`,
 * `loadbalancer`, `RULE` and `HTTP` all load, as the real v3.6 binary shows
 * (test/integration/traefik-syntax.test.ts). Object names (routers, services,
 * middlewares) stay case-sensitive. So before the shape check, every field is
 * renamed to its canonical spelling, and each rename becomes a warning rather
 * than an error: a document Traefik loads must never be refused.
 */
import type { z } from "zod";

type PathKey = string | number;

export interface Respelling {
  /** Path to the object holding the key, with keys as the user wrote them. */
  readonly path: readonly PathKey[];
  readonly key: string;
  readonly canonical: string;
  /** Another key of the same object already had this canonical spelling (Traefik keeps only one). */
  readonly duplicate: boolean;
}

interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  valueType?: z.ZodType;
  element?: z.ZodType;
  innerType?: z.ZodType;
  options?: z.ZodType[];
  in?: z.ZodType;
}

function defOf(schema: z.ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

/** The object shape(s) a value at this schema can take, through optional/nullable/default/pipe/union. */
function shapesOf(schema: z.ZodType): Record<string, z.ZodType>[] {
  const def = defOf(schema);
  switch (def.type) {
    case "object":
      return def.shape ? [def.shape] : [];
    case "optional":
    case "nullable":
    case "default":
    case "nonoptional":
    case "readonly":
      return def.innerType ? shapesOf(def.innerType) : [];
    case "pipe":
      return def.in ? shapesOf(def.in) : [];
    case "union":
      return (def.options ?? []).flatMap(shapesOf);
    default:
      return [];
  }
}

function unwrap(schema: z.ZodType): Def {
  const def = defOf(schema);
  if (["optional", "nullable", "default", "nonoptional", "readonly"].includes(def.type) && def.innerType)
    return unwrap(def.innerType);
  if (def.type === "pipe" && def.in) return unwrap(def.in);
  return def;
}

/**
 * `value` with every known field renamed to the spelling `schema` uses, plus
 * what was renamed. Unknown fields are left as they are for the shape check.
 */
export function canonicalizeKeys(
  value: unknown,
  schema: z.ZodType,
): { value: unknown; respellings: Respelling[] } {
  const respellings: Respelling[] = [];
  const walk = (v: unknown, s: z.ZodType, path: PathKey[]): unknown => {
    if (Array.isArray(v)) {
      const def = unwrap(s);
      if (def.type !== "array" || !def.element) return v;
      const element = def.element;
      return v.map((item, i) => walk(item, element, [...path, i]));
    }
    if (!v || typeof v !== "object") return v;
    const entries = Object.entries(v as Record<string, unknown>);
    const def = unwrap(s);
    if (def.type === "record" && def.valueType) {
      const valueType = def.valueType;
      return Object.fromEntries(entries.map(([k, item]) => [k, walk(item, valueType, [...path, k])]));
    }
    const shapes = shapesOf(s);
    if (shapes.length === 0) return v;
    const canonical = new Map<string, [string, z.ZodType]>();
    for (const shape of shapes) {
      for (const [k, fieldSchema] of Object.entries(shape)) canonical.set(k.toLowerCase(), [k, fieldSchema]);
    }
    const out: Record<string, unknown> = {};
    for (const [key, item] of entries) {
      const known = canonical.get(key.toLowerCase());
      if (!known) {
        out[key] = item;
        continue;
      }
      const [name, fieldSchema] = known;
      const duplicate = name in out;
      if (key !== name || duplicate) respellings.push({ path, key, canonical: name, duplicate });
      // With two spellings of one field the first one is checked; Traefik's choice is not documented.
      if (!duplicate) out[name] = walk(item, fieldSchema, [...path, key]);
    }
    return out;
  };
  return { value: walk(value, schema, []), respellings };
}
