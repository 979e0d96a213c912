// A byte stream through a native program (a compressor or decompressor), with its failures as
// EARCHIVE errors on the output.
import { PassThrough, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { MinicError } from "../core/errors.js";
import { interrupted, spawn } from "../util/exec.js";

/**
 * Pipes `source` through the program `argv` (stdin → stdout, through the one exec seam) and
 * returns its output. The program's failure (exit status and first stderr line) or the source's
 * error surfaces on the output; `badData` is the hint for a failing decompressor.
 */
export function throughProgram(argv: readonly string[], source: AsyncIterable<Buffer>, badData = "the data is not valid bzip2, or is truncated"): Readable {
  const { child, done } = spawn(argv, { stdin: "pipe", stdout: "pipe", stderr: "pipe", collect: false });
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  let stderr = "";
  let finished = false;
  child.stderr!.on("data", (d: Buffer) => { stderr += d.toString(); });
  child.stdout!.pipe(out, { end: false });
  let sourceError: unknown;
  // A source that fails destroys stdin with its error; the feed below reports it. Without a
  // listener of its own, stdin's 'error' could be emitted after the pipeline let go of it: an
  // uncaught exception (seen once, in a full test run, for a tree that changed while packed).
  child.stdin!.on("error", () => {});
  const feed = pipeline(source, child.stdin!).catch((e: NodeJS.ErrnoException) => {
    // EPIPE / premature close mean the tool stopped reading: its exit status tells why.
    if (e?.code === "EPIPE" || e?.code === "ERR_STREAM_PREMATURE_CLOSE" || e?.code === "ERR_STREAM_DESTROYED") return;
    sourceError = e;
    child.kill("SIGKILL");
  });
  // The same for the output: destroyed with the source's error after its reader already let go
  // of it (the sink's pipeline ended on the tool's exit first), an 'error' without a listener
  // ended the process (seen in a full run, packing a tree that changed). A reader that comes
  // later still gets the error: a destroyed stream keeps it.
  out.on("error", () => {});
  const stdoutDone = new Promise<void>((res) => child.stdout!.once("close", () => res()));
  out.on("close", () => { if (!finished) child.kill("SIGKILL"); });
  Promise.all([feed, done, stdoutDone]).then(
    ([, r]) => {
      finished = true;
      if (sourceError !== undefined) {
        out.destroy(sourceError instanceof Error ? sourceError : new Error(String(sourceError)));
      } else if (r.exitCode !== 0 && r.signal && interrupted()) {
        // Stopped by the signal minic passed on: the data is not to blame (main says "interrupted").
        out.destroy(new MinicError("EINTERRUPTED", `${argv[0]} stopped by ${r.signal}`));
      } else if (r.exitCode !== 0) {
        out.destroy(new MinicError("EARCHIVE", `${argv[0]} failed (${r.signal ?? `exit ${r.exitCode}`}): ${firstLine(stderr)}`, {
          hint: argv.includes("-d") ? badData : "check disk space and the tool",
        }));
      } else {
        out.end();
      }
    },
    (e) => { finished = true; out.destroy(e instanceof Error ? e : new Error(String(e))); },
  );
  return out;
}

/** The first non-empty line of a tool's stderr (bzip2 and pbzip2 put the cause there). */
function firstLine(s: string): string {
  return s.split("\n").map((l) => l.trim()).find((l) => l.length > 0) ?? "";
}
