// Pure: a recipe's canonical form (paths normalised, defaults filled) and its run config.
import { absoluteContainerPath } from "./container-path.js";
import { MinicError } from "./errors.js";
import { isEnvEntry, ENV_NAME_HINT, isEnvName, type LayerHistory, type RunConfig } from "./image.js";
import type { LimitsInput } from "./limits.js";
import type { Digest } from "./digest.js";
import { isRecipe, type ImageConfigInput, type Recipe, type RunStep, type StageSource, type Step, type StepNetwork } from "./recipe.js";

/** A step with every default resolved; what the cache key and `--explain` are made of. */
export type CanonicalStep =
  | { kind: "dir"; path: string; mode: number; uid: number; gid: number }
  | { kind: "file"; path: string; base64: string; mode: number; uid: number; gid: number }
  | { kind: "symlink"; path: string; target: string }
  | { kind: "copy"; from: string[]; to: string; mode?: number; uid: number; gid: number }
  | CanonicalCopyFrom
  | { kind: "remove"; path: string }
  | { kind: "run"; argv: string[]; env: string[]; workdir: string; cache?: string[] };

/**
 * A copy from a stage: the stage's name (a recipe's, or the image reference as written) and the
 * diff ids of its image's layers, base first, so that the cache key follows what the stage holds,
 * not its recipe's text; owner and mode only when the step gives them (else the stage's are kept).
 */
export interface CanonicalCopyFrom {
  kind: "copy-from";
  stage: string;
  layers: Digest[];
  from: string[];
  to: string;
  mode?: number;
  uid?: number;
  gid?: number;
}

/** What a stage of the build is: its name and its image's layers (diff ids, base first). */
export interface StageImage {
  name: string;
  layers: readonly Digest[];
}

/** Finds the image a from() stage stands for (built or looked up before the steps are made canonical). */
export type StageLookup = (stage: StageSource["stage"]) => StageImage | undefined;

const NO_STAGES: StageLookup = () => undefined;

/** What a run step takes from the image it runs on: its config's env and workdir (as in Docker). */
export type StepImageDefaults = Pick<RunConfig, "env" | "workdir">;

/** For steps on no image's config: no env, workdir /. */
const NO_IMAGE: StepImageDefaults = { env: [], workdir: "/" };

/**
 * Normalises one step; `where` names it in errors (e.g. "step 3"). A run step's env is the
 * image's with the step's own over it (by name), its workdir the step's, else the image's:
 * both are in the canonical step, so a base whose config env changes builds its run steps again.
 * Throws ERECIPE/EPATH.
 */
export function canonicalStep(step: Step, where: string, image: StepImageDefaults = NO_IMAGE, stages: StageLookup = NO_STAGES): CanonicalStep {
  const p = (x: string, what: string) => absoluteContainerPath(x, `${where}: ${step.kind} ${what}`);
  switch (step?.kind) {
    case "dir":
      return { kind: "dir", path: p(step.path, "path"), mode: mode(step.mode, 0o755, where), uid: id(step.uid, where), gid: id(step.gid, where) };
    case "file": {
      const c = step.content;
      checkFileContentSize(c, where);
      const base64 = typeof c === "string" ? Buffer.from(c, "utf8").toString("base64") : c && typeof c.base64 === "string" ? c.base64 : undefined;
      if (base64 === undefined) throw new MinicError("ERECIPE", `${where}: file content must be a string or { base64 }`, { hint: "file(\"/etc/motd\", \"hello\\n\") or file(\"/bin/app\", { base64: \"…\" })" });
      if (typeof c !== "string" && !isBase64(base64)) {
        throw new MinicError("ERECIPE", `${where}: file content { base64 } is not base64`, { hint: "give bytes as standard base64, e.g. { base64: Buffer.from(bytes).toString(\"base64\") }" });
      }
      return { kind: "file", path: notRoot(p(step.path, "path"), "file", where), base64, mode: mode(step.mode, 0o644, where), uid: id(step.uid, where), gid: id(step.gid, where) };
    }
    case "symlink":
      if (typeof step.target !== "string" || step.target === "" || step.target.includes("\0")) {
        throw new MinicError("ERECIPE", `${where}: symlink target must be a non-empty string`, { hint: "symlink(\"/bin/sh\", \"busybox\")" });
      }
      return { kind: "symlink", path: notRoot(p(step.path, "path"), "symlink", where), target: step.target };
    case "copy": {
      const from = [...step.from];
      if (from.length === 0 || from.some((f) => typeof f !== "string" || f === "")) {
        throw new MinicError("ERECIPE", `${where}: copy needs at least one source pattern`, { hint: "copy(\"www/**\", \"/srv/www\")" });
      }
      for (const f of from) {
        if (f.split("/").includes("..")) {
          throw new MinicError("EPATH", `${where}: copy source '${f}' contains '..'`, {
            hint: "relative patterns stay inside the recipe's directory; name a host file outside it by its absolute path",
          });
        }
      }
      return { kind: "copy", from, to: p(step.to, "destination"), ...(step.mode === undefined ? {} : { mode: mode(step.mode, 0, where) }), uid: id(step.uid, where), gid: id(step.gid, where) };
    }
    case "copy-from": {
      const src = step.from;
      const paths = Array.isArray(src?.paths) ? src.paths : [];
      if (paths.length === 0 || paths.some((f) => typeof f !== "string")) {
        throw new MinicError("ERECIPE", `${where}: copy from a stage needs at least one path`, { hint: "copy(from(builder, \"/out/app\"), \"/usr/local/bin\")" });
      }
      const found = stages(src.stage);
      if (!found) throw new MinicError("ERECIPE", `${where}: stage ${stageLabel(src.stage)} of the copy was not resolved`, { hint: "give from() a recipe or the name of an image in the store" });
      const owner = {
        ...(step.mode === undefined ? {} : { mode: mode(step.mode, 0, where) }),
        ...(step.uid === undefined ? {} : { uid: id(step.uid, where) }),
        ...(step.gid === undefined ? {} : { gid: id(step.gid, where) }),
      };
      return { kind: "copy-from", stage: found.name, layers: [...found.layers], from: [...new Set(paths.map((f) => p(f, "source path")))], to: p(step.to, "destination"), ...owner };
    }
    case "remove": {
      const path = p(step.path, "path");
      if (path === "/") throw new MinicError("EPATH", `${where}: cannot remove /`, { hint: "remove what is under it by name, or start from another base" });
      return { kind: "remove", path };
    }
    case "run": {
      const argv = typeof step.command === "string" ? ["/bin/sh", "-c", step.command] : [...step.command];
      if (argv.length === 0 || argv.some((a) => typeof a !== "string")) throw new MinicError("ERECIPE", `${where}: run needs a command`, { hint: "run(\"make install\") or run([\"/bin/make\", \"install\"])" });
      // Cache paths are in the key (what lands under them stays out of the layer, so they
      // change what the layer holds); what the cache directories hold is not.
      const cache = cachePaths(step.cache, where);
      return { kind: "run", argv, env: overEnv(image.env, envList(step.env ?? {})), workdir: p(step.workdir ?? (image.workdir || "/"), "workdir"), ...(cache.length > 0 ? { cache } : {}) };
    }
    default:
      throw new MinicError("ERECIPE", `${where}: unknown step kind '${(step as { kind?: unknown })?.kind}'`, {
        hint: "build steps with dir(), file(), symlink(), copy(), remove() or run() from \"minic\"",
      });
  }
}

/**
 * What a run step uses while it runs, besides its command: its network and its secrets.
 * Resolved and checked here, but not part of the canonical step: they decide what the step may
 * reach, not what it makes from its inputs, so (as BuildKit's network mode and secret contents)
 * they are not in the cache key. (Cache paths are: see canonicalStep.)
 */
export interface RunUses {
  /** "host" unless the step asks for "none" (`minic build --network none` also gives none). */
  network: StepNetwork;
  /** Ids of the build's secrets the step reads (at /run/secrets/ID), sorted, once each. */
  secrets: string[];
}

/** What a secret id may be: it names a file under /run/secrets/. */
export const SECRET_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

const NETWORKS: readonly StepNetwork[] = ["host", "none"];

/** Pure: a run step's uses, with defaults filled. Throws ERECIPE naming `where` for a bad value. */
export function runUses(step: RunStep, where: string): RunUses {
  const network = step.network ?? "host";
  if (!NETWORKS.includes(network)) {
    throw new MinicError("ERECIPE", `${where}: run network ${JSON.stringify(network)} is not one of ${NETWORKS.join(", ")}`, { hint: "run(cmd, { network: \"none\" }) for no network; leave it out for the host's" });
  }
  const secrets = step.secrets ?? [];
  if (!Array.isArray(secrets)) throw new MinicError("ERECIPE", `${where}: run secrets must be a list of secret ids`, { hint: "run(cmd, { secrets: [\"token\"] }) with minic build --secret id=token,src=FILE" });
  for (const id of secrets) {
    if (typeof id !== "string" || !SECRET_ID_RE.test(id)) {
      throw new MinicError("ERECIPE", `${where}: run secret id ${JSON.stringify(id)} is not a name of letters, digits, '_', '.' and '-'`, { hint: "run(cmd, { secrets: [\"token\"] }) with minic build --secret id=token,src=FILE" });
    }
  }
  return { network, secrets: [...new Set(secrets)].sort() };
}

/** Whether `b` is base64 that decodes to bytes and back unchanged (line breaks and padding aside). */
function isBase64(b: string): boolean {
  const clean = b.replace(/\s+/g, "").replace(/=+$/, "");
  return Buffer.from(clean, "base64").toString("base64").replace(/=+$/, "") === clean;
}

/** `path` unless it is the image's root, which a file or a link cannot replace. */
function notRoot(path: string, kind: string, where: string): string {
  if (path === "/") throw new MinicError("EPATH", `${where}: a ${kind} cannot replace the image's root /`, { hint: "give a path below /, e.g. /etc/motd" });
  return path;
}

/**
 * Canonical steps of a recipe whose base image has the config `image` (its env and workdir reach
 * run steps); `stages` gives the images its copies from stages read.
 */
export function canonicalSteps(recipe: Recipe, image: StepImageDefaults = NO_IMAGE, stages: StageLookup = NO_STAGES): CanonicalStep[] {
  return recipe.steps.map((s, i) => canonicalStep(s, `recipe '${recipe.name}' step ${i + 1}`, image, stages));
}

/** How a stage is named in messages: `'builder'` for a recipe, `image 'busybox:latest'` for an image. */
export function stageLabel(stage: StageSource["stage"]): string {
  return isRecipe(stage) ? `'${stage.name}'` : `image '${String(stage)}'`;
}

/** Pure: a run step's cache paths, normalised, sorted and without repeats. Throws ERECIPE naming `where` for a bad one. */
function cachePaths(cache: unknown, where: string): string[] {
  if (cache === undefined) return [];
  const hint = "give absolute directories of the image, e.g. run(cmd, { cache: [\"/var/cache/apt\", \"/root/.npm\"] })";
  if (!Array.isArray(cache)) throw new MinicError("ERECIPE", `${where}: run cache must be a list of paths`, { hint });
  const out = new Set<string>();
  for (const c of cache) {
    if (typeof c !== "string") throw new MinicError("ERECIPE", `${where}: run cache path ${JSON.stringify(c)} is not a string`, { hint });
    let path: string;
    try {
      path = absoluteContainerPath(c, `${where}: run cache path`);
    } catch (e) {
      throw new MinicError("ERECIPE", (e as MinicError).message, { hint: (e as MinicError).hint ?? hint, cause: e });
    }
    if (path === "/") throw new MinicError("ERECIPE", `${where}: run cache path '/' is the image's root`, { hint });
    out.add(path);
  }
  return [...out].sort();
}

/** Pure: `K=V` lists merged by name, `over` winning, sorted by name (the image's entries are taken as they are). */
function overEnv(base: readonly string[], over: readonly string[]): string[] {
  const name = (kv: string) => (kv.includes("=") ? kv.slice(0, kv.indexOf("=")) : kv);
  const m = new Map(base.filter(isEnvEntry).map((kv) => [name(kv), kv]));
  for (const kv of over) m.set(name(kv), kv);
  return [...m.keys()].sort().map((k) => m.get(k)!);
}

/** One line describing a step, for progress output and --explain. */
export function describeStep(s: CanonicalStep): string {
  switch (s.kind) {
    case "dir": return `dir ${s.path}`;
    case "file": return `file ${s.path}`;
    case "symlink": return `symlink ${s.path} -> ${s.target}`;
    case "copy": return `copy ${s.from.join(" ")} -> ${s.to}`;
    case "copy-from": return `copy ${s.from.join(" ")} from stage ${s.stage} -> ${s.to}`;
    case "remove": return `remove ${s.path}`;
    case "run": return `run ${s.argv[0] === "/bin/sh" && s.argv[1] === "-c" ? s.argv[2] : s.argv.join(" ")}`;
  }
}

/**
 * The most a file() step holds. Its content lives in the recipe and in the step's canonical form
 * (base64, in the cache key): a big one is a host file to copy(). Well under V8's longest string,
 * which a 500 MB content passed on the way (an internal error).
 */
export const FILE_CONTENT_MAX = 16 * 1024 * 1024;

/** Throws ERECIPE (at `where`) for file() content over FILE_CONTENT_MAX bytes. */
export function checkFileContentSize(c: unknown, where: string): void {
  const n = typeof c === "string" ? (c.length > FILE_CONTENT_MAX ? Buffer.byteLength(c, "utf8") : c.length) : c && typeof (c as { base64?: unknown }).base64 === "string" ? Math.floor(((c as { base64: string }).base64.length * 3) / 4) : 0;
  if (n > FILE_CONTENT_MAX) {
    throw new MinicError("ERECIPE", `${where}: file content of ${n} bytes is more than a recipe holds (${FILE_CONTENT_MAX / 1024 / 1024} MiB)`, { hint: "put it in a file beside the recipe and copy() it" });
  }
}

/** The run config of an image: the base's, with the recipe's settings on top. */
export function mergeRunConfig(base: RunConfig, input: ImageConfigInput, parseLimits: (l: LimitsInput, base: RunConfig["limits"]) => RunConfig["limits"]): RunConfig {
  const env = new Map(base.env.filter(isEnvEntry).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
  for (const [k, v] of Object.entries(input.env ?? {})) env.set(k, v);
  return {
    cmd: input.cmd ? [...input.cmd] : base.cmd,
    entrypoint: input.entrypoint ? [...input.entrypoint] : base.entrypoint,
    env: envList(Object.fromEntries(env)),
    workdir: input.workdir ? absoluteContainerPath(input.workdir, "config workdir") : base.workdir,
    user: input.user ?? base.user,
    hostname: input.hostname ?? base.hostname,
    limits: input.limits ? parseLimits(input.limits, base.limits) : base.limits,
    labels: { ...base.labels, ...(input.labels ?? {}) },
    // A base's ports, volumes, health check, shell and stop signal stay, as in a Dockerfile's
    // FROM; its ONBUILD triggers are for the image built on it, which minic does not run, and a
    // loaded image's Hostname (a build container's id) is not the new image's.
    ...inheritedExtras(base.oci),
  };
}

function inheritedExtras(oci: RunConfig["oci"]): Pick<RunConfig, "oci"> {
  const { OnBuild: _, Hostname: __, ...kept } = oci ?? {};
  return Object.keys(kept).length > 0 ? { oci: kept } : {};
}

/** History entry for a layer made by a recipe. */
export function recipeHistory(name: string, recipeDigest: LayerHistory["recipeDigest"], empty: boolean): LayerHistory {
  return { createdBy: `minic build ${name}`, recipeDigest, ...(empty ? { empty: true } : {}) };
}

function envList(env: Readonly<Record<string, string>>): string[] {
  for (const k of Object.keys(env)) {
    if (!isEnvName(k)) throw new MinicError("ERECIPE", `invalid environment variable name '${k}'`, { hint: ENV_NAME_HINT });
  }
  return Object.keys(env).sort().map((k) => `${k}=${env[k]}`);
}

function mode(m: number | undefined, dflt: number, where: string): number {
  if (m === undefined) return dflt;
  if (!Number.isInteger(m) || m < 0 || m > 0o7777) {
    throw new MinicError("ERECIPE", `${where}: mode ${showMode(m)} is not a permission value`, { hint: "permission bits only (at most 0o7777), written in octal, e.g. 0o755" });
  }
  return m;
}

/** A mode as the recipe author would write it: 0o octal for integers (61860 → 0o170644). */
export function showMode(m: unknown): string {
  return typeof m === "number" && Number.isInteger(m) && m >= 0 ? `0o${m.toString(8)}` : typeof m === "string" ? JSON.stringify(m) : String(m);
}

function id(v: number | undefined, where: string): number {
  if (v === undefined) return 0;
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new MinicError("ERECIPE", `${where}: uid/gid ${v} is invalid`, { hint: "an integer from 0 to 4294967295" });
  return v;
}
