/**
 * Policy by identity: the patterns API keys carry (tools, resources, prompts,
 * admin), granted to OIDC groups, scopes or users instead of to a key.
 *
 * File (YAML or JSON, e.g. a mounted ConfigMap), reloaded when it changes:
 *   grants:
 *     - groups: [homelab-admins]      # any of these groups
 *       admin: true
 *     - groups: [family]
 *       tools: ["weather_*"]
 *     - scopes: [mcp:tools]           # any of these token scopes
 *     - users: [alice@example.com]    # subject or email
 *       tools: ["*"]
 * An entry with none of groups/scopes/users applies to every signed-in user.
 * What a user may do is the union of the entries that match them; no match,
 * nothing. tools defaults to "*" like a key's.
 */
import { z } from "zod";
import { compileGrant, type CallerIdentity, type Grant } from "./principal.ts";

const grantEntry = z
  .object({
    groups: z.array(z.string().min(1)).optional(),
    scopes: z.array(z.string().min(1)).optional(),
    users: z.array(z.string().min(1)).optional(),
    tools: z.array(z.string().min(1)).default(["*"]),
    resources: z.array(z.string().min(1)).optional(),
    prompts: z.array(z.string().min(1)).optional(),
    admin: z.boolean().default(false),
  })
  .strict();

const policyFile = z.object({ grants: z.array(grantEntry) }).strict();

interface PolicyRule {
  readonly groups?: ReadonlySet<string>;
  readonly scopes?: ReadonlySet<string>;
  readonly users?: ReadonlySet<string>;
  readonly grant: Grant;
}

/** Who asks: an identity and, for a token, its scopes. */
export interface PolicySubject {
  readonly user: CallerIdentity;
  readonly scopes?: readonly string[];
}

export class Policy {
  readonly #rules: readonly PolicyRule[];
  /** Changes with every load, so per-principal caches built on an older policy are not reused. */
  readonly generation: string;

  private constructor(rules: readonly PolicyRule[], generation: string) {
    this.#rules = rules;
    this.generation = generation;
  }

  /** Pure: a parsed file → policy; errors name the entry ("grants.2.tools: ..."). */
  static fromEntries(raw: unknown, source = "policy", generation = "0"): Policy {
    const parsed = policyFile.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue && issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
      throw new Error(`${source}: ${where}${issue?.message ?? "invalid"}`);
    }
    const set = (list: readonly string[] | undefined) => (list ? new Set(list) : undefined);
    return new Policy(
      parsed.data.grants.map((g) => ({
        ...(g.groups ? { groups: set(g.groups) } : {}),
        ...(g.scopes ? { scopes: set(g.scopes) } : {}),
        ...(g.users ? { users: set(g.users) } : {}),
        grant: compileGrant(g),
      })),
      generation,
    );
  }

  /** Scopes the policy names: advertised in the protected resource metadata. */
  scopes(): string[] {
    return [...new Set(this.#rules.flatMap((r) => [...(r.scopes ?? [])]))];
  }

  /** The grants of every entry that matches the subject. */
  grantsFor(subject: PolicySubject): Grant[] {
    const { user } = subject;
    const scopes = subject.scopes ?? [];
    return this.#rules
      .filter((rule) => {
        const unconditional = !rule.groups && !rule.scopes && !rule.users;
        return (
          unconditional ||
          user.groups.some((g) => rule.groups?.has(g)) ||
          scopes.some((s) => rule.scopes?.has(s)) ||
          rule.users?.has(user.subject) ||
          (user.email !== undefined && rule.users?.has(user.email))
        );
      })
      .map((rule) => rule.grant);
  }
}
