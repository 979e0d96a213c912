// The recipe model: what a recipe file exports, as plain data that can be hashed and printed.
import type { DebootstrapBase } from "./distro-base.js";
import type { LimitsInput } from "./limits.js";

/** Ownership and permissions of a node the recipe creates. */
export interface Owner {
  /** Permission bits, e.g. 0o755. */
  mode?: number;
  uid?: number;
  gid?: number;
}

export interface DirStep extends Owner {
  readonly kind: "dir";
  readonly path: string;
}

export interface FileStep extends Owner {
  readonly kind: "file";
  readonly path: string;
  /** UTF-8 text, or bytes given as base64 with `{ base64 }`. */
  readonly content: string | { base64: string };
}

export interface SymlinkStep {
  readonly kind: "symlink";
  readonly path: string;
  readonly target: string;
}

export interface CopyStep extends Owner {
  readonly kind: "copy";
  /** fast-glob patterns, relative to the recipe file. */
  readonly from: readonly string[];
  /** Destination directory inside the image; entries land under it relative to each pattern's static part. */
  readonly to: string;
}

/**
 * What `copy(from(stage, path), to)` takes: absolute paths of another image's tree, that of a
 * recipe (built first, as a base is) or of an image in the store (`name[:tag]` or a digest).
 */
export interface StageSource {
  readonly kind: "stage";
  readonly stage: Recipe | string;
  /** Absolute paths in the stage's image; `*` and `?` match within one name. */
  readonly paths: readonly string[];
}

/**
 * A copy from another stage's image (a multi-stage build). Owner and permissions are the
 * stage's (as Docker's COPY --from keeps them) unless the step gives `uid`, `gid` or `mode`.
 */
export interface CopyFromStep extends Owner {
  readonly kind: "copy-from";
  readonly from: StageSource;
  /** Destination directory inside the image. */
  readonly to: string;
}

export interface RemoveStep {
  readonly kind: "remove";
  readonly path: string;
}

/** A run step's network: the host's (the default, as `podman build`), or none (loopback only). */
export type StepNetwork = "host" | "none";

/** What `run(cmd, opts)` takes besides the command. */
export interface RunOptions {
  readonly env?: Readonly<Record<string, string>>;
  readonly workdir?: string;
  /** cgroup limits for this step (under `minic build`'s own, where both give one the lower holds). */
  readonly limits?: LimitsInput;
  /** Time limit: seconds, or a duration such as "90s", "10m"; the step is killed after it. */
  readonly timeout?: number | string;
  /** "none": no network for this step, whatever `minic build --network` says. Not part of the cache key. */
  readonly network?: StepNetwork;
  /**
   * Absolute directories of the image kept between builds (package caches such as
   * /var/cache/apt, /root/.npm): a persistent directory of the store per recipe name and path,
   * bound there for the step; what the step writes under them never enters the layer.
   */
  readonly cache?: readonly string[];
  /**
   * Ids of `minic build --secret id=ID,src=FILE` this step reads, at /run/secrets/ID (read-only,
   * this step only). Neither the ids nor the contents are part of the cache key.
   */
  readonly secrets?: readonly string[];
}

export interface RunStep extends RunOptions {
  readonly kind: "run";
  /** A shell command (run with /bin/sh -c) or an argv. */
  readonly command: string | readonly string[];
}

/** One step of a recipe; steps apply in order on top of the base. */
export type Step = DirStep | FileStep | SymlinkStep | CopyStep | CopyFromStep | RemoveStep | RunStep;

/** Runtime configuration stored in the image. */
export interface ImageConfigInput {
  cmd?: readonly string[];
  entrypoint?: readonly string[];
  env?: Readonly<Record<string, string>>;
  workdir?: string;
  user?: string;
  hostname?: string;
  limits?: LimitsInput;
  labels?: Readonly<Record<string, string>>;
}

/**
 * The base of a recipe: another recipe, a distribution tree made by debootstrap (`debian({...})`),
 * an image in the store (`name[:tag]`), or scratch.
 */
export type Base = Recipe | DebootstrapBase | string | null;

/** What `defineRecipe` returns and a recipe file default-exports. */
export interface Recipe {
  readonly kind: "recipe";
  readonly name: string;
  readonly base: Base;
  readonly steps: readonly Step[];
  readonly config: ImageConfigInput;
  /** file:// URL of the module that called defineRecipe (copy sources resolve against it). */
  readonly source: string;
}

export interface RecipeInput {
  name: string;
  base?: Base;
  steps?: readonly Step[];
  config?: ImageConfigInput;
}

/** Type guard for the source of a copy from a stage. */
export function isStageSource(x: unknown): x is StageSource {
  return typeof x === "object" && x !== null && !Array.isArray(x) && (x as { kind?: unknown }).kind === "stage";
}

/** Type guard for recipe objects. */
export function isRecipe(x: unknown): x is Recipe {
  return typeof x === "object" && x !== null && (x as { kind?: unknown }).kind === "recipe";
}
