// Progress for long work: an ora spinner on a terminal, plain lines otherwise.
import type { Ora } from "ora";
import { LinePrefixer } from "./line-prefixer.js";
import { stderr } from "./stdio.js";

/** Where a program's live output goes (e.g. a run step's): shown as `  | ` lines as it comes. */
export interface OutputSink {
  /** Shows `chunk`; a promise when the output is backed up: read no more until it settles. */
  write(chunk: Buffer, stream: "stdout" | "stderr"): void | Promise<void>;
  /** Shows what is left of unfinished last lines. */
  end(): void;
}

export interface Progress {
  /** Starts (or moves to) a piece of work. */
  start(text: string): void;
  /** Ends the current piece with success and a final text. */
  succeed(text: string): void;
  /** A line of output that is not progress (e.g. a run step's output). */
  log(line: string): void;
  /** A sink for one program's output; memory stays bounded whatever it prints. */
  output(): OutputSink;
  /** Stops any spinner (on failure). */
  stop(): void;
}

const LOG_PREFIX = "  | ";

/**
 * Writes `b` to minic's stderr; a promise when stderr's buffer is full, settled once it drained
 * (or stderr went away). Writes to a pipe are not synchronous: a program printing faster than
 * stderr's reader reads would otherwise pile its output up in minic's memory.
 */
function writeStderr(b: Buffer): void | Promise<void> {
  const s = stderr();
  if (s.destroyed || s.write(b)) return;
  return new Promise((resolve) => {
    const done = () => {
      for (const ev of ["drain", "close", "error"]) s.off(ev, done);
      resolve();
    };
    for (const ev of ["drain", "close", "error"]) s.once(ev, done);
  });
}

/** A sink that prefixes each stream's lines and hands the bytes to `write` (one call per chunk). */
function prefixedSink(write: (b: Buffer) => void | Promise<void>): OutputSink {
  const streams = { stdout: new LinePrefixer(LOG_PREFIX), stderr: new LinePrefixer(LOG_PREFIX) };
  const put = (b: Buffer) => (b.length > 0 ? write(b) : undefined);
  return {
    write: (chunk, stream) => put(streams[stream].push(chunk)),
    end: () => {
      void put(streams.stdout.end());
      void put(streams.stderr.end());
    },
  };
}

/**
 * A Progress writing to stderr; spins only on a terminal that reports its width (a terminal
 * of 0 columns, as some pseudo-terminals report, gets plain lines: ora would loop forever).
 */
export async function makeProgress(tty: boolean, quiet = false): Promise<Progress> {
  if (quiet) return { start() {}, succeed() {}, log() {}, output: () => ({ write() {}, end() {} }), stop() {} };
  if (!tty || !(stderr().columns > 0)) {
    return {
      start: (t) => stderr().write(`${t}\n`),
      succeed: (t) => stderr().write(`${t}\n`),
      log: (l) => stderr().write(`${LOG_PREFIX}${l}\n`),
      // A slow reader of stderr slows the program down instead of filling minic's memory.
      output: () => prefixedSink(writeStderr),
      stop() {},
    };
  }
  const ora = (await import("ora")).default;
  let spinner: Ora | undefined;
  return {
    start(t) {
      if (spinner) spinner.text = t;
      else spinner = ora({ text: t, stream: stderr() }).start();
    },
    succeed(t) {
      (spinner ?? ora({ stream: stderr() })).succeed(t);
      spinner = undefined;
    },
    log(l) {
      if (spinner) spinner.clear();
      stderr().write(`${LOG_PREFIX}${l}\n`);
      spinner?.render();
    },
    output: () => prefixedSink((b) => {
      if (spinner) spinner.clear();
      const wait = writeStderr(b);
      spinner?.render();
      return wait;
    }),
    stop() {
      spinner?.stop();
      spinner = undefined;
    },
  };
}
