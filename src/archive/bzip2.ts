// bzip2 compression through the fastest native tool present (lbzip2, pbzip2, bzip2), with
// unbzip2-stream as the pure-JS fallback for reading.
import { once } from "node:events";
import { availableParallelism } from "node:os";
import { PassThrough, Readable } from "node:stream";
import { createRequire } from "node:module";
import { MinicError } from "../core/errors.js";
import { spawn } from "../util/exec.js";
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

/** argv that compresses stdin to stdout at block size 900k. Output of one tool is deterministic. */
export function compressArgv(tool: Exclude<Bzip2Tool, "js">, threads = availableParallelism()): string[] {
  switch (tool) {
    case "lbzip2": return ["lbzip2", "-9", "-c", "-n", String(threads)];
    case "pbzip2": return ["pbzip2", "-9", "-c", `-p${threads}`];
    case "bzip2": return ["bzip2", "-9", "-c"];
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

/** Compresses a byte stream. Errors of the tool (or of the source) surface on the output. */
export function compress(source: AsyncIterable<Buffer>): Readable {
  const tool = pickBzip2(false) as Exclude<Bzip2Tool, "js">;
  return throughProgram(compressArgv(tool), source);
}

/** Decompresses a byte stream; uses unbzip2-stream when no native tool exists. */
export function decompress(source: AsyncIterable<Buffer>): Readable {
  const tool = pickBzip2(true);
  if (tool === "js") {
    const require = createRequire(import.meta.url);
    const unbzip2 = require("unbzip2-stream") as () => NodeJS.ReadWriteStream;
    const input = Readable.from(source);
    const out = input.pipe(unbzip2() as unknown as PassThrough);
    input.on("error", (e) => out.destroy(e));
    return out;
  }
  return throughProgram(decompressArgv(tool), source);
}

/** Pipes `source` through a filter program and returns its stdout; any failure errors the output. */
function throughProgram(argv: string[], source: AsyncIterable<Buffer>): Readable {
  const child = spawn(argv, { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => { stderr += d.toString(); });
  child.stdout!.pipe(out, { end: false });
  const feed = (async () => {
    try {
      for await (const chunk of source) {
        if (!child.stdin!.write(chunk)) await once(child.stdin!, "drain");
      }
      child.stdin!.end();
    } catch (e) {
      child.kill("SIGKILL");
      throw e;
    }
  })();
  child.stdin!.on("error", () => {});
  const stdoutDone = new Promise<void>((res) => child.stdout!.once("close", () => res()));
  Promise.all([feed, child, stdoutDone]).then(
    ([, r]) => {
      if (r.exitCode !== 0) {
        out.destroy(new MinicError("EARCHIVE", `${argv[0]} failed (exit ${r.exitCode ?? r.signal}): ${stderr.trim().split("\n").pop() ?? ""}`, {
          hint: argv.includes("-d") ? "the data is not valid bzip2, or is truncated" : "check disk space and the tool",
        }));
      } else {
        out.end();
      }
    },
    (e) => out.destroy(e instanceof Error ? e : new Error(String(e))),
  );
  return out;
}
