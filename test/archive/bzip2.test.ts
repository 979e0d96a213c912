// bzip2 through every native tool and the JS fallback: same plain bytes out; lbzip2 output does
// not depend on its thread count; truncated or corrupt input is an EARCHIVE error.
import { afterEach, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { compress, compressArgv, decompress, LAYER_BLOCK_LEVEL, pickBzip2, type Bzip2Tool } from "../../src/archive/bzip2.js";
import { bigData } from "../helpers/rich-tree.js";

const plain = Buffer.concat([bigData(3 * 1024 * 1024), Buffer.alloc(1024 * 1024, "a"), Buffer.from("tail")]);
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

async function collect(r: AsyncIterable<Buffer | string>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of r) out.push(Buffer.from(c));
  return Buffer.concat(out);
}
async function* once(b: Buffer): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += 65536) yield b.subarray(i, i + 65536);
}

const saved = process.env.MINIC_BZIP2;
afterEach(() => {
  if (saved === undefined) delete process.env.MINIC_BZIP2;
  else process.env.MINIC_BZIP2 = saved;
});

describe("bzip2", () => {
  const native = ["lbzip2", "pbzip2", "bzip2"] as const;
  // Compressed by each native tool (pbzip2 and lbzip2 write several streams/blocks in parallel),
  // at 900k blocks as an older minic wrote layers, and at the block size layers have now.
  const inputs = Object.fromEntries(native.map((t) => [t, execFileSync(t, ["-9", "-c"], { input: plain, maxBuffer: 64 << 20 })]));
  const current = Object.fromEntries(native.map((t) => [t, execFileSync(t, [`-${LAYER_BLOCK_LEVEL}`, "-c"], { input: plain, maxBuffer: 64 << 20 })]));

  for (const tool of [...native, "js"] as Bzip2Tool[]) {
    it(`MINIC_BZIP2=${tool} decompresses what every tool wrote to the same bytes`, async () => {
      process.env.MINIC_BZIP2 = tool;
      expect(pickBzip2(true)).toBe(tool);
      for (const by of native) {
        expect(sha(await collect(decompress(once(inputs[by]!)))), `${tool} reading ${by} -9`).toBe(sha(plain));
        expect(sha(await collect(decompress(once(current[by]!)))), `${tool} reading ${by} -${LAYER_BLOCK_LEVEL}`).toBe(sha(plain));
      }
    });

    it(`MINIC_BZIP2=${tool}: truncated and corrupt input fail with EARCHIVE`, async () => {
      process.env.MINIC_BZIP2 = tool;
      const full = inputs.bzip2!;
      await expect(collect(decompress(once(full.subarray(0, full.length - 100))))).rejects.toMatchObject({ code: "EARCHIVE" });
      await expect(collect(decompress(once(full.subarray(0, 3000))))).rejects.toMatchObject({ code: "EARCHIVE" });
      await expect(collect(decompress(once(Buffer.from("not bzip2 at all, not even close"))))).rejects.toMatchObject({ code: "EARCHIVE" });
      const flipped = Buffer.from(full);
      flipped[5000] ^= 0xff;
      await expect(collect(decompress(once(flipped)))).rejects.toMatchObject({ code: "EARCHIVE" });
    });
  }

  it("compress() writes lbzip2's bytes (also with MINIC_BZIP2=js, which only decompresses); another tool only when asked", async () => {
    const lbzip2 = execFileSync("lbzip2", compressArgv("lbzip2", 1).slice(1), { input: plain, maxBuffer: 64 << 20 });
    for (const tool of [undefined, "lbzip2", "js"]) {
      if (tool === undefined) delete process.env.MINIC_BZIP2;
      else process.env.MINIC_BZIP2 = tool;
      expect(sha(await collect(compress(once(plain)))), String(tool)).toBe(sha(lbzip2));
    }
    process.env.MINIC_BZIP2 = "bzip2";
    const z = await collect(compress(once(plain)));
    expect(sha(z)).toBe(sha(current.bzip2!));
    expect(sha(execFileSync("bzip2", ["-dc"], { input: z, maxBuffer: 64 << 20 }))).toBe(sha(plain));
  });

  // 300k blocks: they decompress in 20-45% less time than 900k ones (see LAYER_BLOCK_LEVEL); the block
  // size is the digit after "BZh".
  it("layers are written in 300k blocks by every tool", async () => {
    expect(LAYER_BLOCK_LEVEL).toBe(3);
    for (const tool of native) {
      process.env.MINIC_BZIP2 = tool;
      const z = await collect(compress(once(plain)));
      expect(z.toString("latin1", 0, 4), tool).toBe("BZh3");
      expect(sha(execFileSync("bzip2", ["-dc"], { input: z, maxBuffer: 64 << 20 })), tool).toBe(sha(plain));
    }
  });

  it("lbzip2 output is identical for 1 and 2 threads (and for 4)", () => {
    const run = (n: number) => execFileSync(compressArgv("lbzip2", n)[0]!, compressArgv("lbzip2", n).slice(1), { input: plain, maxBuffer: 64 << 20 });
    const one = run(1);
    expect(sha(run(2))).toBe(sha(one));
    expect(sha(run(4))).toBe(sha(one));
  });

  it("a failing source errors the output and leaves no tool running", async () => {
    async function* bad(): AsyncGenerator<Buffer> {
      yield plain.subarray(0, 100000);
      throw new Error("source broke");
    }
    await expect(collect(compress(bad()))).rejects.toThrow(/source broke/);
  });

  it("an abandoned output kills the tool (no hang)", async () => {
    process.env.MINIC_BZIP2 = "bzip2";
    const out = decompress(once(inputs.bzip2!));
    for await (const _ of out) break; // destroys the stream early
    expect(out.destroyed).toBe(true);
  });

  it("an unknown MINIC_BZIP2 is a usage error", () => {
    process.env.MINIC_BZIP2 = "gzip";
    expect(() => pickBzip2(true)).toThrow(/not a bzip2 tool/);
  });
});
