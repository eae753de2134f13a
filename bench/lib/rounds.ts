/**
 * Every item once per round, forward in even rounds and backward in odd ones,
 * so neither side of an A/B comparison always runs first (on a warmer or a
 * busier machine). Results in the order they were measured.
 */
export async function alternatingRounds<T, S>(
  items: readonly T[],
  rounds: number,
  run: (item: T, round: number) => Promise<S>,
): Promise<S[]> {
  const samples: S[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const item of r % 2 === 0 ? items : [...items].reverse()) samples.push(await run(item, r));
  }
  return samples;
}
