/**
 * Tool arguments are checked against the tool's input schema before a call
 * goes upstream, so a model's malformed call costs no shard work. Schemas that
 * ajv cannot compile are not enforced (the shard validates anyway) rather than
 * making the tool uncallable.
 *
 * A schema comes from a shard, so its `pattern`s are untrusted: with the JS
 * engine, `^(a+)+$` against 27 a's and a "!" backtracks for most of a minute
 * on the one thread every caller shares. Patterns (and patternProperties) run
 * on re2js, an RE2 port whose matching is linear in the input.
 */
import { Ajv, type ErrorObject } from "ajv";
import type { RegExpEngine, RegExpLike } from "ajv/dist/types/index.js";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { RE2JS } from "re2js";

export type ArgsValidator = (args: unknown) => { ok: true } | { ok: false; message: string };

// ajv-formats is CommonJS: its default export arrives wrapped under ESM.
type AddFormats = (ajv: Ajv | Ajv2020) => unknown;
const addFormats = ((addFormatsModule as unknown as { default?: AddFormats }).default ??
  addFormatsModule) as unknown as AddFormats;

/**
 * A pattern RE2 cannot express (backreferences, lookaround) is not enforced
 * here rather than run on a backtracking engine; the shard still validates.
 */
function re2(pattern: string): RegExpLike {
  let matches: (s: string) => boolean;
  try {
    const compiled = RE2JS.compile(RE2JS.translateRegExp(pattern));
    matches = (s) => compiled.test(s);
  } catch {
    matches = () => true;
  }
  // ajv caches compiled patterns by toString().
  const like: RegExpLike & { toString(): string } = { test: matches, toString: () => `re2:${pattern}` };
  return like;
}
const linearRegExp: RegExpEngine = Object.assign(re2, { code: "re2" });

const options = { strict: false, allErrors: false, validateSchema: false, code: { regExp: linearRegExp } };
const ajv07 = new Ajv(options);
const ajv2020 = new Ajv2020(options);
addFormats(ajv07);
addFormats(ajv2020);

function describe(errors: ErrorObject[] | null | undefined): string {
  const e = errors?.[0];
  if (!e) return "invalid arguments";
  const where = e.instancePath ? `arguments${e.instancePath.replace(/\//g, ".")}` : "arguments";
  return `${where} ${e.message ?? "is invalid"}`;
}

export function compileValidator(schema: unknown): ArgsValidator {
  if (typeof schema !== "object" || schema === null) return () => ({ ok: true });
  const { $schema, $id: _id, ...rest } = schema as Record<string, unknown>;
  const ajv = typeof $schema === "string" && $schema.includes("2020-12") ? ajv2020 : ajv07;
  try {
    const validate = ajv.compile(rest);
    // ajv keeps every compiled schema keyed by object; the validator works
    // without that entry, and rebuilt catalogues would otherwise pile up.
    ajv.removeSchema(rest);
    return (args) =>
      validate(args ?? {}) ? { ok: true } : { ok: false, message: describe(validate.errors) };
  } catch {
    return () => ({ ok: true });
  }
}
