/** The gateway's bounded SSE parser, fed the way sockets feed it: in arbitrary pieces. */
import { describe, expect, it } from "vitest";
import { SseParser, type SseEvent } from "../../src/gateway/upstream/sse-parser.ts";

function parse(chunks: (string | Buffer)[], maxEventBytes = 1024): { events: SseEvent[]; oversize: boolean } {
  const events: SseEvent[] = [];
  let oversize = false;
  const parser = new SseParser({
    maxEventBytes,
    onEvent: (e) => events.push(e),
    onOversize: () => {
      oversize = true;
    },
  });
  for (const c of chunks) parser.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  return { events, oversize };
}

describe("SseParser", () => {
  it("parses events split anywhere, CRLF or LF, skipping comments and ids", () => {
    const text = ': keep-alive\n\nid: 7\nevent: message\ndata: {"a":1}\r\n\r\ndata: one\ndata: two\n\n';
    for (let cut = 0; cut <= text.length; cut++) {
      const { events } = parse([text.slice(0, cut), text.slice(cut)]);
      expect(events).toEqual([
        { event: "message", data: '{"a":1}' },
        { event: "message", data: "one\ntwo" },
      ]);
    }
  });

  it("keeps multi-byte characters whole across chunk boundaries", () => {
    const bytes = Buffer.from("data: héllo ✓\n\n");
    const { events } = parse([bytes.subarray(0, 9), bytes.subarray(9, 17), bytes.subarray(17)]);
    expect(events).toEqual([{ event: "message", data: "héllo ✓" }]);
  });

  it("passes an event of exactly the limit and stops at one byte more", () => {
    const exact = "x".repeat(100);
    expect(parse([`data: ${exact}\n\n`], 100)).toEqual({
      events: [{ event: "message", data: exact }],
      oversize: false,
    });
    expect(parse([`data: ${exact}x\n\n`], 100)).toEqual({ events: [], oversize: true });
  });

  it("stops an endless line before it ends, and counts data across lines", () => {
    const endless = parse(
      [
        "data: ",
        ..."y"
          .repeat(50)
          .split("")
          .map(() => "z".repeat(40)),
      ],
      1000,
    );
    expect(endless.oversize).toBe(true);
    const many = parse([Array.from({ length: 30 }, () => "data: 0123456789\n").join("")], 200);
    expect(many).toEqual({ events: [], oversize: true });
  });

  it("reports nothing more once stopped", () => {
    const result = parse([`data: ${"x".repeat(20)}\n\n`, "data: after\n\n"], 10);
    expect(result).toEqual({ events: [], oversize: true });
  });
});
