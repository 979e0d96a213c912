// Starts a container's wrapper (runtimeArgv's wrapperArgv) before the setup is done and lets it
// go on once it is: minic writes the start script into the container's directory, then the
// start word on the wrapper's fd 3. Ending fd 3 without the word stops the wrapper (exit 125)
// before it has started anything; so does minic dying, which closes fd 3.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Writable } from "node:stream";
import { atPath } from "../core/faults.js";
import { spawn, type ExecOptions, type Running } from "../util/exec.js";
import { START_SCRIPT, START_WORD } from "./runtime-argv.js";

export interface GatedWrapper {
  running: Running;
  /** Writes `script` as the start script and lets the wrapper source it. */
  go(script: string): void;
  /** Tells the wrapper to exit without starting anything (idempotent; no-op after go). */
  stop(): void;
}

/** Spawns the wrapper `argv` for the container directory `dir`. */
export function startWrapper(argv: readonly string[], dir: string, opts: ExecOptions & { collect?: boolean }): GatedWrapper {
  const running = spawn(argv, { ...opts, fd3: true });
  running.done.catch(() => {}); // awaited after the setup; until then a failed start is not "unhandled"
  const gate = running.child.stdio[3] as Writable | null | undefined;
  // Writing to a wrapper that already exited (a failed mount, a Ctrl-C): its status says why.
  gate?.on("error", () => {});
  let settled = false;
  return {
    running,
    go(script) {
      if (settled) return;
      // Written first: if that fails, the gate is still open and stop() ends it.
      try {
        writeFileSync(join(dir, START_SCRIPT), script, { mode: 0o600 });
      } catch (e) {
        throw atPath(e, join(dir, START_SCRIPT));
      }
      settled = true;
      gate?.end(`${START_WORD}\n`);
    },
    stop() {
      if (settled) return;
      settled = true;
      gate?.end();
    },
  };
}
