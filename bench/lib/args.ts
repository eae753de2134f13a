/**
 * The benches' command line: `--name value` options and bare `--flag`s, read
 * the same way by every bench so `--calls 10` and `--shards 10` mean what they
 * say (a number that does not parse stops the bench with the option's name).
 */
export interface BenchArgs {
  /** `--name N`, or `fallback` when absent. */
  number(name: string, fallback: number): number;
  /** `--name value`, or undefined when absent. */
  string(name: string): string | undefined;
  /** Is the bare `--name` present? */
  flag(name: string): boolean;
}

export function benchArgs(argv: readonly string[] = process.argv.slice(2)): BenchArgs {
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    if (i < 0) return undefined;
    const next = argv[i + 1];
    if (next === undefined || next.startsWith("--")) throw new Error(`--${name} needs a value`);
    return next;
  };
  return {
    number(name, fallback) {
      const text = value(name);
      if (text === undefined) return fallback;
      const n = Number(text);
      if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got ${JSON.stringify(text)}`);
      return n;
    },
    string: value,
    flag: (name) => argv.includes(`--${name}`),
  };
}
