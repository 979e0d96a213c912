// TailBuffer keeps the end of a stream in bounded memory; lastLines makes it one line.
import { describe, expect, it } from "vitest";
import { lastLines, TailBuffer } from "../../src/util/tail-buffer.js";

describe("TailBuffer", () => {
  it("keeps everything while under its bound", () => {
    const t = new TailBuffer(16);
    t.push(Buffer.from("ab"));
    t.push(Buffer.from("cd\n"));
    expect(t.text()).toBe("abcd\n");
  });

  it("keeps only the last max bytes, from small and from huge chunks", () => {
    const t = new TailBuffer(8);
    for (let i = 0; i < 1000; i++) t.push(Buffer.from(`line ${i}\n`));
    expect(t.text()).toBe("ine 999\n");
    t.push(Buffer.alloc(1 << 20, "y"));
    t.push(Buffer.from("END"));
    expect(t.text()).toBe("yyyyyEND");
    expect(t.bytes().length).toBe(8);
  });
});

describe("lastLines", () => {
  it("takes the last non-empty lines, cut to a width, joined with ' | '", () => {
    expect(lastLines("a\n\nb\nc\n\n", 2)).toBe("b | c");
    expect(lastLines("", 2)).toBe("");
    expect(lastLines("x".repeat(500), 1, 10)).toBe(`${"x".repeat(9)}…`);
  });
});
