// LinePrefixer: a byte stream's lines with a prefix, whatever the chunking, in bounded memory.
import { describe, expect, it } from "vitest";
import { LinePrefixer } from "../../src/util/line-prefixer.js";

/** Feeds `chunks` and returns all output, as text. */
function feed(p: LinePrefixer, chunks: (string | Buffer)[]): string {
  const out = chunks.map((c) => p.push(typeof c === "string" ? Buffer.from(c) : c));
  out.push(p.end());
  return Buffer.concat(out).toString("latin1");
}

describe("LinePrefixer", () => {
  it("prefixes each complete line and holds an unfinished one back until it ends", () => {
    const p = new LinePrefixer("| ");
    expect(p.push(Buffer.from("one\ntw")).toString()).toBe("| one\n");
    expect(p.push(Buffer.from("o\n\nthree")).toString()).toBe("| two\n| \n");
    expect(p.end().toString()).toBe("| three\n");
    expect(p.end().length).toBe(0);
  });

  it("gives the same lines however the stream is cut", () => {
    const text = "alpha\nbeta\n\ngamma delta\nlast";
    const whole = feed(new LinePrefixer("  | "), [text]);
    expect(whole).toBe("  | alpha\n  | beta\n  | \n  | gamma delta\n  | last\n");
    const bytes = Buffer.from(text);
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(feed(new LinePrefixer("  | "), [bytes.subarray(0, cut), bytes.subarray(cut)])).toBe(whole);
    }
    expect(feed(new LinePrefixer("  | "), [...bytes].map((b) => Buffer.from([b])))).toBe(whole);
  });

  it("passes bytes through unchanged (UTF-8 cut between chunks, binary)", () => {
    const euro = Buffer.from("€\n");
    const out = feed(new LinePrefixer("> "), [euro.subarray(0, 1), euro.subarray(1), Buffer.from([0, 255, 10])]);
    expect(Buffer.from(out, "latin1")).toEqual(Buffer.concat([Buffer.from("> €\n> "), Buffer.from([0, 255, 10])]));
  });

  it("shows a line over its bound in pieces instead of holding it: memory stays bounded", () => {
    const p = new LinePrefixer("> ", 10);
    expect(p.push(Buffer.from("0123456")).length).toBe(0);
    expect(p.push(Buffer.from("789abcdef")).toString()).toBe("> 0123456789abcdef\n");
    expect(p.push(Buffer.from("x\n")).toString()).toBe("> x\n");
    // A chunk whose unfinished tail alone is over the bound.
    expect(p.push(Buffer.from(`a\n${"b".repeat(20)}`)).toString()).toBe(`> a\n> ${"b".repeat(20)}\n`);
    expect(p.end().length).toBe(0);
  });
});
