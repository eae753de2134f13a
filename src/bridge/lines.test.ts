import { describe, expect, it } from "vitest";
import { idOfOversized, LineSplitter, type OversizedLine } from "./lines.ts";

function split(chunks: string[], maxLineBytes = 16) {
  const lines: string[] = [];
  const oversized: OversizedLine[] = [];
  const splitter = new LineSplitter({
    maxLineBytes,
    onLine: (l) => lines.push(l),
    onOversized: (o) => oversized.push(o),
  });
  for (const c of chunks) splitter.push(Buffer.from(c));
  splitter.end();
  return { lines, oversized };
}

describe("LineSplitter", () => {
  it("joins lines across chunks, drops CR, keeps a last line without newline", () => {
    expect(split(["ab", "c\r\nd", "e\n\nf"]).lines).toEqual(["abc", "de", "", "f"]);
  });

  it("drops a line over the limit, keeping its edges, and goes on with the next", () => {
    const { lines, oversized } = split(['{"result":"' + "x".repeat(40), '","id":7}\nok\n']);
    expect(lines).toEqual(["ok"]);
    expect(oversized).toHaveLength(1);
    expect(oversized[0]!.bytes).toBe(60);
    expect(oversized[0]!.head.startsWith('{"result":"xxx')).toBe(true);
    expect(oversized[0]!.tail.endsWith('","id":7}')).toBe(true);
  });

  it("keeps only the edges of a huge line, however it is chunked", () => {
    const chunk = "y".repeat(65536);
    const { oversized } = split([...Array.from({ length: 64 }, () => chunk), ',"id":3}\n'], 1024);
    expect(oversized[0]!.bytes).toBe(64 * 65536 + 8);
    expect(oversized[0]!.head.length).toBe(512);
    expect(oversized[0]!.tail.length).toBe(512);
    expect(idOfOversized(oversized[0]!)).toBe(3);
  });
});

describe("idOfOversized", () => {
  const line = (head: string, tail: string) => ({ bytes: 0, head, tail });
  it("finds the id at the start or at the very end only", () => {
    expect(idOfOversized(line('{"jsonrpc":"2.0","id":12,"result":{"a', "x"))).toBe(12);
    expect(idOfOversized(line('{"id":4,"result":', "x"))).toBe(4);
    expect(idOfOversized(line('{"result":{"c', '"]},"jsonrpc":"2.0","id":5}'))).toBe(5);
    // A nested object's id is not the message's.
    expect(idOfOversized(line('{"result":{"c', '{"id":9}]}}'))).toBeUndefined();
    expect(idOfOversized(line('{"result":{"id":9,', "x"))).toBeUndefined();
  });
});
