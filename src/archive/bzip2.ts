// bzip2 through native tools. Layers are compressed with lbzip2 -3, whose output does not
// depend on its thread count: one compressor, so that a layer is the same bytes on every
// machine (pbzip2 and bzip2 write other, equally valid, bytes). Reading takes the fastest tool
// present (lbzip2, pbzip2, bzip2), with unbzip2-stream as the pure-JS fallback, and reads every
// block size (layers of an older minic are -9).
import { availableParallelism } from "node:os";
import { PassThrough, Readable } from "node:stream";
import { createRequire } from "node:module";
import { MinicError } from "../core/errors.js";
import { throughProgram } from "./through-program.js";
import { findProgram } from "../util/which.js";

export type Bzip2Tool = "lbzip2" | "pbzip2" | "bzip2" | "js";

const ORDER: Bzip2Tool[] = ["lbzip2", "pbzip2", "bzip2"];

/** The tool to use: MINIC_BZIP2 if set, else the first native tool found, else "js". */
export function pickBzip2(allowJs: boolean): Bzip2Tool {
  const forced = process.env.MINIC_BZIP2 as Bzip2Tool | undefined;
  if (forced) {
    if (forced !== "js" && !ORDER.includes(forced)) {
      throw new MinicError("EUSAGE", `MINIC_BZIP2='${forced}' is not a bzip2 tool`, { hint: "use lbzip2, pbzip2, bzip2 or js" });
    }
    if (forced !== "js" && !findProgram(forced)) throw new MinicError("EHOST", `MINIC_BZIP2=${forced} but ${forced} is not installed`, { hint: `apt-get install ${forced}` });
    return forced;
  }
  for (const t of ORDER) if (findProgram(t)) return t;
  if (allowJs) return "js";
  throw new MinicError("EHOST", "no bzip2 compressor found", { hint: "apt-get install lbzip2 (or pbzip2, bzip2)" });
}

/**
 * The block size layers are written with, in 100k units. 300k rather than bzip2's 900k default:
 * a block's inverse transform reads a table of 4 bytes per byte of the block at random, 1.2 MB
 * for 300k and 3.6 MB for 900k, which misses a core's caches (1 MiB of L2 here) far more. On the
 * 200 MB Debian cpio, interleaved: `lbzip2 -d` 1.8-2.0 s instead of 2.3-4.3 s (3.6-3.8 vs 4.4-8.3 s
 * of CPU, 900k suffering most on a busy machine), for a blob 3% bigger (86.3 vs 83.6 MB); -1
 * reads little faster and is 7% bigger.
 */
export const LAYER_BLOCK_LEVEL = 3;

/** argv that compresses stdin to stdout at LAYER_BLOCK_LEVEL. Output of one tool is deterministic. */
export function compressArgv(tool: Exclude<Bzip2Tool, "js">, threads = availableParallelism()): string[] {
  const level = `-${LAYER_BLOCK_LEVEL}`;
  switch (tool) {
    case "lbzip2": return ["lbzip2", level, "-c", "-n", String(threads)];
    case "pbzip2": return ["pbzip2", level, "-c", `-p${threads}`];
    case "bzip2": return ["bzip2", level, "-c"];
  }
}

/** argv that decompresses stdin to stdout. */
export function decompressArgv(tool: Exclude<Bzip2Tool, "js">, threads = availableParallelism()): string[] {
  switch (tool) {
    case "lbzip2": return ["lbzip2", "-d", "-c", "-n", String(threads)];
    case "pbzip2": return ["pbzip2", "-d", "-c", `-p${threads}`];
    case "bzip2": return ["bzip2", "-d", "-c"];
  }
}

/**
 * Compresses a byte stream with lbzip2, the canonical compressor (MINIC_BZIP2=pbzip2 or bzip2
 * picks another native tool, whose bytes differ; "js" only decompresses). Errors of the tool or
 * of the source surface on the output.
 */
export function compress(source: AsyncIterable<Buffer>): Readable {
  return throughProgram(compressArgv(compressor()), source);
}

/** The tool that compresses: MINIC_BZIP2 when it names a native tool, else lbzip2 (EHOST when absent). */
export function compressor(): Exclude<Bzip2Tool, "js"> {
  const forced = pickBzip2(true);
  if (forced !== "js" && process.env.MINIC_BZIP2) return forced;
  if (findProgram("lbzip2")) return "lbzip2";
  throw new MinicError("EHOST", "lbzip2 is not installed: minic compresses layers with it, so that they are the same bytes on every machine", {
    hint: "apt-get install lbzip2 (or set MINIC_BZIP2=pbzip2 or bzip2, whose layers then differ from other machines')",
  });
}

/** Decompresses a byte stream; uses unbzip2-stream when no native tool exists (or MINIC_BZIP2=js). */
export function decompress(source: AsyncIterable<Buffer>): Readable {
  const tool = pickBzip2(true);
  if (tool === "js") return throughJs(source);
  return throughProgram(decompressArgv(tool), source);
}

/**
 * unbzip2-stream is an old-style `through` stream: not async-iterable, and it emits errors as
 * plain events (or throws a TypeError on truncated input). Wrap it in a real Readable that
 * errors with EARCHIVE, and end with EARCHIVE when the input stops before the end-of-stream mark.
 */
function throughJs(source: AsyncIterable<Buffer>): Readable {
  const require = createRequire(import.meta.url);
  const unbzip2 = require("unbzip2-stream") as () => NodeJS.ReadWriteStream;
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  const dec = unbzip2();
  const input = Readable.from(source);
  const fail = (e: unknown) => {
    if (out.destroyed) return;
    const err = e instanceof MinicError ? e : new MinicError("EARCHIVE", `bzip2 data is corrupt or truncated: ${(e as Error)?.message ?? String(e)}`, {
      hint: "the data is not valid bzip2, or is truncated",
      cause: e,
    });
    out.destroy(err);
    input.destroy();
  };
  input.on("error", fail);
  dec.on("error", fail);
  dec.on("data", (d: Buffer) => {
    if (!out.write(d)) {
      input.pause();
      out.once("drain", () => input.resume());
    }
  });
  dec.on("end", () => { if (!out.destroyed) out.end(); });
  input.pipe(dec as unknown as NodeJS.WritableStream);
  out.on("close", () => input.destroy());
  return out;
}

/**
 * Pipes `source` through a filter program and returns its stdout; any failure errors the output.
 * A failure of the source wins over the tool's (it is the cause); a non-zero exit of the tool
 * gives EARCHIVE. Destroying the output early kills the tool, so no process is left behind.
 */
