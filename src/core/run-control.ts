// Pure: how a build run step is held (its cgroup limits and time limit), from the step's own
// `run(cmd, { limits, timeout })` and `minic build`'s flags. Not the image's `config.limits`:
// those say how the image's containers run, not what building it may take. Not part of the
// cache key either: a limit decides whether a step may finish, not what it makes.
import { parseDuration } from "./duration.js";
import { MinicError, withContext } from "./errors.js";
import { parseLimits, tighterLimits, type Limits, type LimitsInput } from "./limits.js";
import type { Step } from "./recipe.js";

/** A run step's limits, resolved. No memory/cpu/pids limit and no timeout unless one is given. */
export interface RunControl {
  limits: Limits;
  /** Milliseconds the step may run; undefined: as long as it takes. */
  timeoutMs?: number;
}

/** Pure: a step's own limits and timeout, as written in the recipe (validated). Throws ERECIPE naming `where`. */
export function stepControl(step: Step, where: string, hostCpus: number): RunControl {
  if (step.kind !== "run") return { limits: {} };
  try {
    const limits = parseLimits(checkedLimits(step.limits), hostCpus);
    return step.timeout === undefined ? { limits } : { limits, timeoutMs: parseDuration(step.timeout, "timeout") };
  } catch (e) {
    const err = withContext(e, where);
    if (!(err instanceof MinicError)) throw err;
    throw new MinicError("ERECIPE", err.message, { hint: err.hint, cause: e });
  }
}

/** Pure: the step's control under the build's: both hold, so the lower limit and the shorter timeout win. */
export function combineControl(step: RunControl, build: RunControl, where: string): RunControl {
  let limits: Limits;
  try {
    limits = tighterLimits(step.limits, build.limits);
  } catch (e) {
    throw withContext(e, `${where} and minic build`);
  }
  const t = [step.timeoutMs, build.timeoutMs].filter((x): x is number => x !== undefined);
  return t.length === 0 ? { limits } : { limits, timeoutMs: Math.min(...t) };
}

function checkedLimits(l: unknown): LimitsInput {
  if (l === undefined) return {};
  if (typeof l !== "object" || l === null || Array.isArray(l)) throw new MinicError("ERECIPE", "run limits must be an object", { hint: "e.g. limits: { memory: \"512M\", pids: 256 }" });
  const known = new Set(["memory", "cpus", "cpuset", "pids"]);
  const bad = Object.keys(l).find((k) => !known.has(k));
  if (bad) throw new MinicError("ERECIPE", `unknown run limit '${bad}'`, { hint: "use memory, cpus, cpuset or pids" });
  return l as LimitsInput;
}
