/**
 * Log lines leave the shard with secrets masked by the gateway's own format
 * rules (src/secrets: secretlint's recommended preset): a token a service
 * printed at start-up must not reach a model's context, whatever the gateway's
 * per-shard policy says.
 */
import { scanForSecrets } from "../../secrets/index.ts";

/** The texts with secrets masked, and a note naming the rules that fired (none when clean). */
export async function redactTexts(texts: readonly string[]): Promise<{ texts: string[]; note?: string }> {
  if (texts.length === 0) return { texts: [] };
  const finding = await scanForSecrets(texts);
  if (!finding) return { texts: [...texts] };
  const rules = finding.rules.map((r) => r.replace(/^@secretlint\/secretlint-rule-/, ""));
  return {
    texts: finding.masked as string[],
    note: `secrets masked as [REDACTED] (${rules.join(", ")})`,
  };
}
