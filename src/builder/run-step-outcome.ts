// Pure: what a finished run step means for the build: nothing (it succeeded) or the one-line
// error that says why it failed: its setup, its timeout, its memory or pids limit, its status.
import { formatDuration } from "../core/duration.js";
import { MinicError } from "../core/errors.js";
import type { Limits } from "../core/limits.js";
import { humanSize } from "../core/size-text.js";
import { lastLines } from "../util/tail-buffer.js";

/** How a run step ended, as runStep saw it. */
export interface StepEnd {
  where: string;
  exitCode: number;
  setupFailure?: string;
  oomKills: number;
  pidsRefused: number;
  limits: Limits;
  timeoutMs?: number;
  timedOut: boolean;
  interrupted?: string;
  /** The end of the step's output (stderr's, or stdout's when stderr was empty). */
  tail: string;
}

const NOTHING_STORED = "nothing was stored";


/** Pure: the error for a run step that ended as `e` describes, or undefined when it succeeded. */
export function stepFailure(e: StepEnd): MinicError | undefined {
  const { where } = e;
  if (e.setupFailure) return new MinicError("EHOST", `${where}: ${e.setupFailure}`, { hint: "see 'minic doctor'" });
  if (e.timedOut) {
    return new MinicError("ERUN", `${where}: still running after ${formatDuration(e.timeoutMs ?? 0)}, its timeout: stopped`, {
      hint: `make the step finish sooner, or raise its timeout (run(cmd, { timeout }) or minic build --timeout); ${NOTHING_STORED}`,
    });
  }
  if (e.exitCode === 0) return undefined;
  if (e.interrupted) return new MinicError("EINTERRUPTED", `${where}: stopped by ${e.interrupted}`);
  if (e.oomKills > 0) {
    return new MinicError("ERUN", `${where}: ran out of memory: the OOM killer killed ${e.oomKills} of its processes at its memory limit of ${humanSize(e.limits.memoryBytes ?? 0)}`, {
      hint: `raise the limit (run(cmd, { limits: { memory } }) or minic build --memory) or make the step use less; ${NOTHING_STORED}`,
    });
  }
  if (e.pidsRefused > 0) {
    return new MinicError("ERUN", `${where}: reached its pids limit of ${e.limits.pids}: ${e.pidsRefused} fork${e.pidsRefused > 1 ? "s were" : " was"} refused`, {
      hint: `raise the limit (run(cmd, { limits: { pids } }) or minic build --pids) or make the step start fewer processes; ${NOTHING_STORED}`,
    });
  }
  const tail = lastLines(e.tail, 2);
  return new MinicError("ERUN", `${where}: command exited with status ${e.exitCode}${tail ? `: ${tail}` : ""}`, { hint: `fix the run step; ${NOTHING_STORED}` });
}
