// Progress for long work: an ora spinner on a terminal, plain lines otherwise.
import type { Ora } from "ora";
import { stderr } from "./stdio.js";

export interface Progress {
  /** Starts (or moves to) a piece of work. */
  start(text: string): void;
  /** Ends the current piece with success and a final text. */
  succeed(text: string): void;
  /** A line of output that is not progress (e.g. a run step's output). */
  log(line: string): void;
  /** Stops any spinner (on failure). */
  stop(): void;
}

/**
 * A Progress writing to stderr; spins only on a terminal that reports its width (a terminal
 * of 0 columns, as some pseudo-terminals report, gets plain lines: ora would loop forever).
 */
export async function makeProgress(tty: boolean, quiet = false): Promise<Progress> {
  if (quiet) return { start() {}, succeed() {}, log() {}, stop() {} };
  if (!tty || !(stderr().columns > 0)) {
    return {
      start: (t) => stderr().write(`${t}\n`),
      succeed: (t) => stderr().write(`${t}\n`),
      log: (l) => stderr().write(`  | ${l}\n`),
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
      stderr().write(`  | ${l}\n`);
      spinner?.render();
    },
    stop() {
      spinner?.stop();
      spinner = undefined;
    },
  };
}
