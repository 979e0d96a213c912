// The recipe API, imported by recipes as "minic": types and step constructors, nothing that acts.
// Image paths are checked where the recipe writes them, so that an error names the recipe's line.
import { absoluteContainerPath } from "./core/container-path.js";
import { debianBase, type DebianOptions, type DebootstrapBase } from "./core/distro-base.js";
import { MinicError } from "./core/errors.js";
import { checkRecipeInput } from "./core/recipe-input.js";
import { checkFileContentSize } from "./core/recipe-canonical.js";
import { isRecipe, isStageSource } from "./core/recipe.js";
import type {
  CopyFromStep, CopyStep, DirStep, FileStep, Owner, Recipe, RecipeInput, RemoveStep, RunOptions, RunStep, StageSource, SymlinkStep,
} from "./core/recipe.js";

export type {
  Base, CopyFromStep, CopyStep, DirStep, FileStep, ImageConfigInput, Owner, Recipe, RecipeInput, RemoveStep, RunOptions, RunStep, StageSource, Step, StepNetwork, SymlinkStep,
} from "./core/recipe.js";
export type { LimitsInput } from "./core/limits.js";
export type { DebianOptions, DebootstrapBase, DebootstrapVariant } from "./core/distro-base.js";

/** Declares a recipe. Returns a frozen plain object; nothing runs until `minic build`. */
export function defineRecipe(input: RecipeInput): Recipe {
  if (!input || typeof input.name !== "string" || input.name.length === 0) {
    throw new MinicError("ERECIPE", "defineRecipe needs a non-empty name", { hint: "defineRecipe({ name: \"hello\", ... })" });
  }
  checkRecipeInput(input);
  if (input.config?.workdir) absoluteContainerPath(input.config.workdir, "config workdir");
  return Object.freeze({
    kind: "recipe" as const,
    name: input.name,
    base: input.base ?? null,
    steps: Object.freeze([...(input.steps ?? [])]),
    config: input.config ?? {},
    source: callerUrl(),
  });
}

/**
 * A Debian base made by debootstrap from a package archive, for `base:`. Checked here (a bad suite
 * or package name is the recipe's error at this line); built at `minic build` into one layer,
 * cached by its inputs (suite, variant, packages, mirror, architecture, debootstrap's version,
 * SOURCE_DATE_EPOCH), so a rebuild needs no network. Returns frozen data.
 */
export function debian(options: DebianOptions): DebootstrapBase {
  const b = debianBase(options);
  return Object.freeze({ ...b, packages: Object.freeze([...b.packages]) });
}

/** Where `minic build --arg` puts the build's arguments for arg() (set by the recipe loader). */
const ARGS_KEY = Symbol.for("minic.buildArgs");

/**
 * A build argument: the value of `minic build --arg NAME=VALUE`, else `fallback`; without
 * either, the build stops with one line saying how to give it. Use it to make steps, e.g.
 * `run(\`apt-get install -y nginx=${arg("NGINX", "1.22.*")}\`)`: the steps it makes are the
 * cache key, so a new value builds those steps again, and --explain names the changed step.
 */
export function arg(name: string, fallback?: string): string {
  const args = (globalThis as Record<symbol, { values: Map<string, string>; read: Set<string> } | undefined>)[ARGS_KEY];
  args?.read.add(name);
  const value = args?.values.get(name) ?? fallback;
  if (value === undefined) {
    throw new MinicError("ERECIPE", `build argument '${name}' is not set and has no default`, { hint: `minic build RECIPE --arg ${name}=VALUE, or give arg("${name}", "default")` });
  }
  return value;
}

/** Makes a directory (and its parents) at `path`. */
export function dir(path: string, owner: Owner = {}): DirStep {
  absoluteContainerPath(path, "dir path");
  return { kind: "dir", path, ...owner };
}

/** Writes a file with the given text (or `{ base64 }` bytes), replacing whatever is at `path`. */
export function file(path: string, content: string | { base64: string }, owner: Owner = {}): FileStep {
  absoluteContainerPath(path, "file path");
  checkFileContentSize(content, `file ${path}`);
  return { kind: "file", path, content, ...owner };
}

/** Makes a symbolic link at `path` pointing to `target` (the target is stored as written). */
export function symlink(path: string, target: string): SymlinkStep {
  absoluteContainerPath(path, "symlink path");
  return { kind: "symlink", path, target };
}

/**
 * Copies host files matched by fast-glob patterns (relative to the recipe file) into directory
 * `to`; or, given `from(stage, path)`, those paths of another image (a multi-stage build).
 */
export function copy(from: StageSource, to: string, owner?: Owner): CopyFromStep;
export function copy(from: string | readonly string[], to: string, owner?: Owner): CopyStep;
export function copy(from: string | readonly string[] | StageSource, to: string, owner: Owner = {}): CopyStep | CopyFromStep {
  absoluteContainerPath(to, "copy destination");
  if (isStageSource(from)) return { kind: "copy-from", from, to, ...owner };
  return { kind: "copy", from: typeof from === "string" ? [from] : [...from], to, ...owner };
}

/**
 * The source of a copy from another stage: `copy(from(builder, "/out/app"), "/usr/local/bin")`.
 * `stage` is a recipe (imported, as a base is: built first, part of the build) or an image in
 * the store ("busybox:latest", "sha256:…"); `path` one absolute path of its tree or several
 * (`*` and `?` match within one name). Only what the paths name enters the layer.
 */
export function from(stage: Recipe | string, path: string | readonly string[]): StageSource {
  if (!isRecipe(stage) && (typeof stage !== "string" || stage === "")) {
    throw new MinicError("ERECIPE", "from() needs a recipe or the name of an image as its stage", { hint: "from(builder, \"/out/app\") with builder imported from its recipe file, or from(\"busybox:latest\", \"/bin/busybox\")" });
  }
  const paths = typeof path === "string" ? [path] : [...(path ?? [])];
  if (paths.length === 0) throw new MinicError("ERECIPE", "from() needs at least one path of the stage", { hint: "from(builder, \"/out/app\")" });
  for (const p of paths) absoluteContainerPath(p, "from() path");
  return { kind: "stage", stage, paths };
}

/** Removes `path` from the image; the deletion survives stacking (a whiteout). */
export function remove(path: string): RemoveStep {
  absoluteContainerPath(path, "remove path");
  return { kind: "remove", path };
}

/**
 * Runs a command inside the image being built (needs root and systemd-nspawn), on the host's
 * network unless `network: "none"`, optionally with cgroup `limits`, a `timeout` (seconds or
 * "10m"), `cache` directories kept between builds and never in the layer, and `secrets` of
 * `minic build --secret` at /run/secrets/ID. Only the cache paths are part of the cache key.
 */
export function run(command: string | readonly string[], opts: RunOptions = {}): RunStep {
  if (opts.workdir !== undefined) absoluteContainerPath(opts.workdir, "run workdir");
  return { kind: "run", command: typeof command === "string" ? command : [...command], ...opts };
}

/** The file:// URL of the module that called defineRecipe, read from the V8 call sites. */
function callerUrl(): string {
  const saved = Error.prepareStackTrace;
  try {
    Error.prepareStackTrace = (_e, sites) => sites;
    const holder: { stack?: NodeJS.CallSite[] } = {};
    Error.captureStackTrace(holder, defineRecipe);
    const site = holder.stack?.find((s) => typeof s.getFileName() === "string");
    const name = site?.getFileName() ?? "";
    const url = name.startsWith("/") ? `file://${name}` : name;
    // Recipes run from compiled copies; the loader records which source each copy came from.
    const sources = (globalThis as Record<symbol, Map<string, string> | undefined>)[Symbol.for("minic.recipeSources")];
    return sources?.get(url) ?? url;
  } finally {
    Error.prepareStackTrace = saved;
  }
}
