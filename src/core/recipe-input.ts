// Pure: checks what a recipe gives defineRecipe before minic keeps it, so that a wrong type (a
// JavaScript recipe, an `any`, a value read from JSON) is the recipe's error at its line, never a
// build that stores an image the rest of minic calls damaged, nor an internal error.
import { describeJson, arrayOf, checkShape, object, optional, recordOf, str } from "./json-shape.js";
import { MinicError } from "./errors.js";
import { HOSTNAME_HINT, isHostname } from "./hostname.js";
import { ENV_NAME_HINT, isEnvName } from "./image.js";
import { parseLimits, type LimitsInput } from "./limits.js";
import type { RecipeInput } from "./recipe.js";

const strings = optional(arrayOf(str()));

const CONFIG_INPUT_SHAPE = object({
  cmd: strings,
  entrypoint: strings,
  env: optional(recordOf(str())),
  workdir: optional(str()),
  user: optional(str()),
  hostname: optional(str()),
  labels: optional(recordOf(str())),
});

/** Throws ERECIPE naming the recipe for a config, base or step that is not what the types say. */
export function checkRecipeInput(input: RecipeInput): void {
  const name = input.name;
  const hint = "config takes cmd and entrypoint (lists of strings), env and labels (string values), workdir, user and hostname (strings) and limits";
  if (input.config !== undefined) {
    checkShape(CONFIG_INPUT_SHAPE, input.config, `recipe '${name}' config`, hint, "ERECIPE");
    const h = input.config.hostname;
    if (h !== undefined && h !== "" && !isHostname(h)) throw new MinicError("ERECIPE", `recipe '${name}' config: invalid hostname '${h}'`, { hint: HOSTNAME_HINT });
    checkEnvNames(input.config.env, `recipe '${name}' config`);
    checkLimits(input.config.limits, `recipe '${name}' config`);
  }
  const base = input.base as unknown;
  if (base !== undefined && base !== null && typeof base !== "string" && (typeof base !== "object" || typeof (base as { kind?: unknown }).kind !== "string")) {
    throw new MinicError("ERECIPE", `recipe '${name}': base is ${describeJson(base)}, not a recipe, debian({...}) or an image name`, { hint: "base: a recipe imported from its file, debian({ suite: \"bookworm\" }), \"name:tag\", or none for scratch" });
  }
  if (input.steps !== undefined && !Array.isArray(input.steps)) {
    throw new MinicError("ERECIPE", `recipe '${name}': steps is ${describeJson(input.steps)}, not a list`, { hint: "steps: [file(...), run(...)]" });
  }
  (input.steps ?? []).forEach((s: unknown, i) => {
    if (s === null || typeof s !== "object" || Array.isArray(s)) {
      throw new MinicError("ERECIPE", `recipe '${name}' step ${i + 1} is ${s === undefined ? "undefined" : describeJson(s)}, not a step`, { hint: "build steps with dir(), file(), symlink(), copy(), remove() or run() from \"minic\"; leave out a step that is not wanted (e.g. with ...(cond ? [step] : []))" });
    }
    const step = s as { kind?: unknown; env?: Record<string, string>; limits?: LimitsInput };
    if (step.kind === "run") {
      checkEnvNames(step.env, `recipe '${name}' step ${i + 1}`);
      checkLimits(step.limits, `recipe '${name}' step ${i + 1}`);
    }
  });
}

function checkEnvNames(env: Readonly<Record<string, string>> | undefined, where: string): void {
  for (const k of Object.keys(env ?? {})) {
    if (!isEnvName(k)) throw new MinicError("ERECIPE", `${where}: invalid environment variable name '${k}'`, { hint: ENV_NAME_HINT });
  }
}

/** The limits' own check (CPU numbers against the host come at build time), as the recipe's error. */
function checkLimits(limits: LimitsInput | undefined, where: string): void {
  if (limits === undefined) return;
  try {
    parseLimits(limits, Number.MAX_SAFE_INTEGER);
  } catch (e) {
    if (!(e instanceof MinicError)) throw e;
    throw new MinicError("ERECIPE", `${where}: limits: ${e.message.replace(/--(memory|cpus|cpuset|pids)\b/g, "$1")}`, { ...(e.hint ? { hint: e.hint.replace(/--(memory|cpus|cpuset|pids)\b/g, "$1") } : {}) });
  }
}
