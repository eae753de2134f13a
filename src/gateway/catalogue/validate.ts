/**
 * Tool arguments are checked against the tool's input schema before a call
 * goes upstream, so a model's malformed call costs no shard work. Schemas that
 * ajv cannot compile are not enforced (the shard validates anyway) rather than
 * making the tool uncallable.
 */
import { Ajv, type ErrorObject } from "ajv";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";

export type ArgsValidator = (args: unknown) => { ok: true } | { ok: false; message: string };

// ajv-formats is CommonJS: its default export arrives wrapped under ESM.
type AddFormats = (ajv: Ajv | Ajv2020) => unknown;
const addFormats = ((addFormatsModule as unknown as { default?: AddFormats }).default ??
  addFormatsModule) as unknown as AddFormats;

const ajv07 = new Ajv({ strict: false, allErrors: false, validateSchema: false });
const ajv2020 = new Ajv2020({ strict: false, allErrors: false, validateSchema: false });
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
