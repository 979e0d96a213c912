// Builds a recipe (and, first, the recipes it stands on) into images in the store.
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { cacheKey, explainInputs, explainMiss, inputRecords, keyParts, stepDigests, type CopyInputKey } from "../core/cache-key.js";
import { digestOf, type Digest } from "../core/digest.js";
import { MinicError, withContext } from "../core/errors.js";
import { defaultRunConfig, type LayerDescriptor, type LayerHistory } from "../core/image.js";
import { parseLimits } from "../core/limits.js";
import { isRecipe, isStageSource, type Recipe, type StepNetwork } from "../core/recipe.js";
import { distroBaseName, isDistroBase } from "../core/distro-base.js";
import { canonicalSteps, describeStep, mergeRunConfig, recipeHistory, runUses, type CanonicalStep, type RunUses } from "../core/recipe-canonical.js";
import { formatRef, parseRef, type ImageRef } from "../core/reference.js";
import { combineControl, stepControl, type RunControl } from "../core/run-control.js";
import { putImage } from "../store/images.js";
import type { Store } from "../store/store.js";
import { VerifiedBlobs } from "../store/verified-blobs.js";
import type { Progress } from "../util/progress.js";
import type { CacheRecord } from "../core/cache-record.js";
import type { SecurityProfile } from "../runtime/security-profile.js";
import { tagImage, type TagResult } from "./base-tags.js";
import { lastBuildOf, lookupCache, noteCacheHit, saveCache } from "./build-cache.js";
import { resolveCopyInputs, type CopyInput } from "./copy-inputs.js";
import { distroBaseImage } from "./distro-base.js";
import { DIGEST_CACHE, DigestCache } from "./digest-cache.js";
import { materialize } from "./materialize.js";
import { StaleInputError } from "./stale-input.js";

export interface BuildOptions {
  noCache: boolean;
  explain: boolean;
  epoch: number;
  /** Name for the top image (default: the recipe's name, tag latest). */
  tag?: ImageRef;
  progress: Progress;
  /** Limits and timeout for every run step (`minic build --memory … --timeout`), under each step's own. */
  control: RunControl;
  /** The clock, ISO (passed in: run steps' records say when they started). */
  now: () => string;
  /** The run steps' security profile (not part of the cache key: a cached layer is data, whoever made it). */
  security: SecurityProfile;
  /** `minic build --network`: "none" takes every run step off the network (not part of the cache key). */
  network: StepNetwork;
  /** `minic build --secret`: id → the host file holding it (bound into the steps that name it; never in the key). */
  secrets: ReadonlyMap<string, string>;
}

/** The image a recipe builds on, for its run steps' records. */
interface BaseInfo {
  layers: LayerDescriptor[];
  run: ReturnType<typeof defaultRunConfig>;
  history: LayerHistory[];
  name: string;
  manifestDigest: string;
  /** Taken from the store (a name), not built by this build: its layers are checked first. */
  stored: boolean;
}

export interface BuildResult {
  ref: ImageRef;
  manifestDigest: Digest;
  layer: LayerDescriptor | null;
  cached: boolean;
  /** The recipe file the image was built from. */
  recipeFile: string;
  /** Whether `ref` now names the image; a base's name is left when it holds another recipe's image. */
  tag: TagResult;
}

/** Per build: the recipes under way (to find cycles), those built, their results in order, the blobs checked. */
interface BuildRun {
  building: Set<Recipe>;
  built: Map<Recipe, BuildResult>;
  results: BuildResult[];
  verified: VerifiedBlobs;
}

/** An image a copy-from step reads: its name and layers, and whether it was taken from the store. */
interface StageInfo {
  name: string;
  layers: LayerDescriptor[];
  manifestDigest: string;
  stored: boolean;
}

/**
 * Builds `recipe` after its base recipes and the recipes its copies from stages read (each
 * built once per build, however many recipes stand on it or copy from it). The top image is
 * tagged `tag` (default `name:latest`); each other recipe's image `name:latest` when that name
 * is free or holds an image of the same recipe file, and is left untagged otherwise (see
 * tagImage). A cached layer, manifest or config that is missing or damaged is built (and
 * written) again; a damaged base or stage image from the store is an error saying what to do.
 * Returns the results in build order, the top last.
 */
export async function buildRecipe(store: Store, recipe: Recipe, opts: BuildOptions): Promise<BuildResult[]> {
  // Before any recipe of the graph is built: nothing is written.
  checkNames(recipe, opts.tag);
  checkSecrets(recipe, opts.secrets);
  await checkStageImages(store, recipe);
  const run: BuildRun = { building: new Set(), built: new Map(), results: [], verified: await VerifiedBlobs.open(store) };
  await buildNode(store, recipe, opts, run, true);
  await run.verified.save(); // only after a build that succeeded: a failed one leaves the store as it was
  return run.results;
}

async function buildNode(store: Store, recipe: Recipe, opts: BuildOptions, run: BuildRun, top: boolean): Promise<BuildResult> {
  const done = run.built.get(recipe);
  if (done) return done;
  if (run.building.has(recipe)) throw new MinicError("ERECIPE", `recipe '${recipe.name}' is its own base (or a stage of itself)`, { hint: "break the cycle of base imports and from() stages" });
  run.building.add(recipe);
  let base: BaseInfo = { layers: [], run: defaultRunConfig(), history: [], name: "", manifestDigest: "", stored: false };
  if (isRecipe(recipe.base)) {
    const under = await buildNode(store, recipe.base, { ...opts, tag: undefined }, run, false);
    const img = await store.readImage(under.manifestDigest);
    base = { layers: img.manifest.layers, run: img.config.config, history: img.config.history, name: formatRef(under.ref), manifestDigest: under.manifestDigest, stored: false };
  } else if (isDistroBase(recipe.base)) {
    const made = await distroBaseImage(store, recipe.name, recipe.base, {
      noCache: opts.noCache, explain: opts.explain, epoch: opts.epoch, progress: opts.progress, verified: run.verified, recipeFile: recipeFileOf(recipe),
    });
    base = { layers: [made.layer], run: made.run, history: made.history, name: distroBaseName(recipe.base), manifestDigest: made.manifestDigest, stored: false };
  } else if (typeof recipe.base === "string") {
    const img = await store.getImage(recipe.base).catch((e: unknown) => {
      if (e instanceof MinicError && e.code !== "ENOTFOUND") throw withContext(e, `recipe '${recipe.name}': base image '${recipe.base}'`);
      throw new MinicError("ENOTFOUND", `recipe '${recipe.name}': base image '${recipe.base}' is not in the store`, {
        hint: "build or load the base first, or import its recipe and use it as base", cause: e,
      });
    });
    base = { layers: img.manifest.layers, run: img.config.config, history: img.config.history, name: recipe.base, manifestDigest: img.manifestDigest, stored: true };
  }
  const stages = await resolveStages(store, recipe, opts, run);
  const result = await buildOne(store, recipe, opts, run, base, stages, top);
  run.building.delete(recipe);
  run.built.set(recipe, result);
  run.results.push(result);
  return result;
}

/**
 * The images the copy-from steps of `recipe` read, by stage (a recipe, built here first, or an
 * image reference, looked up in the store). A stage recipe that fails to build fails this step:
 * its error, naming its own recipe and step, is told as this step's.
 */
async function resolveStages(store: Store, recipe: Recipe, opts: BuildOptions, run: BuildRun): Promise<Map<Recipe | string, StageInfo>> {
  const out = new Map<Recipe | string, StageInfo>();
  for (const [i, s] of recipe.steps.entries()) {
    if (s?.kind !== "copy-from" || !isStageSource(s.from) || out.has(s.from.stage)) continue;
    const where = `recipe '${recipe.name}' step ${i + 1}`;
    const stage = s.from.stage;
    if (isRecipe(stage)) {
      const built = await buildNode(store, stage, { ...opts, tag: undefined }, run, false).catch((e: unknown) => {
        if (e instanceof MinicError && e.code === "EINTERRUPTED") throw e;
        throw withContext(e, `${where}: stage '${stage.name}'`);
      });
      const img = await store.readImage(built.manifestDigest);
      out.set(stage, { name: stage.name, layers: img.manifest.layers, manifestDigest: built.manifestDigest, stored: false });
    } else {
      const img = await stageImage(store, stage, where);
      out.set(stage, { name: stage, layers: img.manifest.layers, manifestDigest: img.manifestDigest, stored: true });
    }
  }
  return out;
}

/** The stored image a from() stage names; ENOTFOUND naming `where` when the store has none by that name. */
async function stageImage(store: Store, ref: string, where: string) {
  return store.getImage(ref).catch((e: unknown) => {
    if (e instanceof MinicError && e.code !== "ENOTFOUND") throw withContext(e, `${where}: stage image '${ref}'`);
    throw new MinicError("ENOTFOUND", `${where}: stage image '${ref}' is not in the store`, {
      hint: "build, load or pull it first (minic images lists the store), or give from() the recipe that builds it", cause: e,
    });
  });
}

/** Throws (see stageImage) for the first copy-from step in the graph of `recipe` whose stage image is not in the store. */
async function checkStageImages(store: Store, recipe: Recipe): Promise<void> {
  for (const r of graphRecipes(recipe)) {
    for (const [i, s] of r.steps.entries()) {
      if (s?.kind === "copy-from" && isStageSource(s.from) && typeof s.from.stage === "string") await stageImage(store, s.from.stage, `recipe '${r.name}' step ${i + 1}`);
    }
  }
}

/** Every recipe `recipe` stands on (bases, from() stages, theirs), itself first, each once (a cycle is buildNode's error). */
function graphRecipes(recipe: Recipe): Recipe[] {
  const seen = new Set<Recipe>();
  const visit = (r: Recipe) => {
    if (seen.has(r)) return;
    seen.add(r);
    if (isRecipe(r.base)) visit(r.base);
    for (const s of r.steps) if (s?.kind === "copy-from" && isStageSource(s.from) && isRecipe(s.from.stage)) visit(s.from.stage);
  };
  visit(recipe);
  return [...seen];
}

async function buildOne(store: Store, recipe: Recipe, opts: BuildOptions, run: BuildRun, base: BaseInfo, stages: ReadonlyMap<Recipe | string, StageInfo>, top: boolean): Promise<BuildResult> {
  const { layers: baseLayers, run: baseRun, history: baseHistory } = base;
  const ref = opts.tag ?? parseRef(recipe.name);
  const p = opts.progress;
  await holdBase(store, recipe.name, baseLayers);
  if (base.stored) await checkStoredBase(run.verified, recipe.name, base);
  for (const st of stages.values()) {
    await holdBase(store, recipe.name, st.layers);
    if (st.stored) await checkStoredBase(run.verified, recipe.name, { ...st, run: defaultRunConfig(), history: [] });
  }
  // The base image's env and workdir reach its run steps (and so their cache key); a copy from a
  // stage has the stage's layers in its key.
  const steps = canonicalSteps(recipe, baseRun, (stage) => {
    const st = stages.get(stage);
    return st && { name: st.name, layers: st.layers.map((l) => l.diffId) };
  });
  const stageLayers = new Map<number, LayerDescriptor[]>();
  recipe.steps.forEach((s, i) => {
    if (s.kind === "copy-from") stageLayers.set(i, stages.get(s.from.stage)!.layers);
  });
  const cpus = availableParallelism();
  const runConfig = mergeRunConfig(baseRun, recipe.config, (l, below) => parseLimits(l, cpus, below));
  // Checked before anything runs (also on a cache hit): a bad limit is the recipe's error.
  const controls = new Map<number, RunControl>();
  const uses = new Map<number, RunUses>();
  recipe.steps.forEach((s, i) => {
    const where = `recipe '${recipe.name}' step ${i + 1}`;
    if (s.kind !== "run") return;
    controls.set(i, combineControl(stepControl(s, where, cpus), opts.control, where));
    const u = runUses(s, where);
    uses.set(i, { ...u, network: opts.network === "none" ? "none" : u.network });
  });
  const recipeFile = recipeFileOf(recipe);
  const recipeDir = dirname(recipeFile);
  const digests = steps.some((s) => s.kind === "copy") ? await DigestCache.open(join(store.layout.cacheDir, DIGEST_CACHE)) : undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      return await buildLayer();
    } catch (e) {
      // A remembered digest that the copy found wrong (or a file changed while it was built):
      // forgotten, and the layer's inputs are hashed again, once.
      if (!(e instanceof StaleInputError) || !digests || attempt > 1) throw e;
      digests.forget(e.hostPath);
      await digests.save();
      p.log(`${recipe.name}: '${e.hostPath}' did not hold what its digest said; hashing the copy sources again`);
    }
  }

  async function buildLayer(): Promise<BuildResult> {
    const inputs = new Map<number, CopyInput[]>();
    const inputKeys = new Map<number, CopyInputKey[]>();
    for (let i = 0; i < steps.length; i++) {
      const s = steps[i]!;
      if (s.kind !== "copy") continue;
      const found = await resolveCopyInputs(s.from, recipeDir, `recipe '${recipe.name}' step ${i + 1}`, join(store.layout.cacheDir, "globs"), digests);
      inputs.set(i, found);
      inputKeys.set(i, found.map((f) => ({ rel: f.rel, digest: f.digest, executable: f.executable, kind: f.kind, ...(f.linkOf === undefined ? {} : { linkOf: f.linkOf }), ...(f.xattrs === undefined ? {} : { xattrs: f.xattrs }) })));
    }
    await digests?.save();
    const parts = keyParts(baseLayers.map((l) => l.diffId), stepDigests(steps, inputKeys), opts.epoch);
    const key = cacheKey(parts);
    let hit = opts.noCache ? undefined : await lookupCache(store, key);
    if (hit?.layer) {
      const state = await run.verified.check(hit.layer.digest);
      if (state !== "intact") {
        p.log(`${recipe.name}: the cached layer ${hit.layer.digest.slice(0, 19)}… is ${state === "missing" ? "missing" : "damaged (its bytes do not match its digest)"}; building it again`);
        hit = undefined;
      }
    }
    if (opts.explain) {
      explain(p, recipe.name, hit, await lastBuildOf(store, recipe.name), parts, steps.map(describeStep), inputKeys, opts.noCache);
      explainStages(p, recipe, steps, stages);
    }

    let layer: LayerDescriptor | null;
    if (hit) {
      layer = hit.layer;
      await noteCacheHit(store, hit, { name: recipe.name, file: recipeFile });
      p.succeed(`${recipe.name}: cached (${layer ? layer.diffId.slice(0, 19) : "no layer"})`);
    } else {
      p.start(`${recipe.name}: building ${steps.length} step(s)`);
      layer = steps.length === 0 ? null : await materialize(store, {
        name: recipe.name, baseLayers, steps, inputs, controls, uses, secrets: opts.secrets, stages: stageLayers, base: { name: base.name, manifestDigest: base.manifestDigest }, epoch: opts.epoch, now: opts.now, security: opts.security,
      }, p);
      const rec: CacheRecord = {
        key, parts, layer, recipe: { name: recipe.name, file: recipeFile },
        inputs: Object.fromEntries([...inputKeys].map(([i, ks]) => [i, inputRecords(ks)])),
        steps: steps.map(describeStep),
      };
      await saveCache(store, rec);
      p.succeed(`${recipe.name}: built ${layer ? `layer ${layer.diffId.slice(0, 19)}… (${layer.size} bytes)` : "config only"}`);
    }
    const recipeDigest = digestOf({ name: recipe.name, steps, config: recipe.config });
    const history = [...baseHistory, recipeHistory(recipe.name, recipeDigest, layer === null)];
    const layers = layer ? [...baseLayers, layer] : baseLayers;
    // putImage writes the manifest and config again when they are missing or damaged.
    const manifestDigest = await putImage(store, layers, runConfig, history, opts.epoch);
    const tag = await tagImage(store, ref, manifestDigest, recipeFile, top);
    return { ref, manifestDigest, layer, cached: hit !== undefined, recipeFile, tag };
  }
}

/** The file a recipe was defined in. */
function recipeFileOf(recipe: Recipe): string {
  return recipe.source.startsWith("file:") ? fileURLToPath(recipe.source) : recipe.source;
}

/**
 * Throws ERECIPE when two recipes of the graph are named alike: the top one would silently take
 * the name from the base or stage built a moment before (and `--explain` would compare it with
 * that one's last build), or two bases or stages would overwrite each other's. A top image
 * named by -t is left out: the name was asked for, as with podman build -t.
 */
function checkNames(recipe: Recipe, tag: ImageRef | undefined): void {
  const byRef = new Map<string, Recipe>();
  for (const r of graphRecipes(recipe)) {
    if (r === recipe && tag) continue;
    const ref = formatRef(parseRef(r.name));
    const other = byRef.get(ref);
    if (!other) {
      byRef.set(ref, r);
      continue;
    }
    const files = recipeFileOf(other) === recipeFileOf(r) ? `both in ${recipeFileOf(r)}` : `in ${recipeFileOf(other)} and ${recipeFileOf(r)}`;
    throw new MinicError("ERECIPE", `two recipes of this build are named '${ref}' (${files}): one's image would take the other's name`, {
      hint: `give one of them another name (defineRecipe({ name: … }))${other === recipe ? ", or build with -t NAME" : ""}`,
    });
  }
}

/**
 * Throws ERECIPE naming the recipe and step for the first run step, in `recipe` or a recipe it
 * stands on (a base, a from() stage), that reads a secret the build was not given (or names one badly).
 */
function checkSecrets(recipe: Recipe, given: ReadonlyMap<string, string>): void {
  for (const r of graphRecipes(recipe)) {
    r.steps.forEach((s, i) => {
      if (s.kind !== "run") return;
      const where = `recipe '${r.name}' step ${i + 1}`;
      const missing = runUses(s, where).secrets.find((id) => !given.has(id));
      if (missing) throw new MinicError("ERECIPE", `${where}: secret '${missing}' is not given to this build`, { hint: `minic build --secret id=${missing},src=FILE` });
    });
  }
}

/**
 * Holds the base's layers, blobs and unpacked dirs, for the build (see Store.hold): gc leaves
 * them while the steps run on them and until the new image names them. Throws ENOTFOUND when a
 * blob is gone (the base lost its name and a gc freed it after the build read its manifest).
 */
async function holdBase(store: Store, name: string, layers: readonly LayerDescriptor[]): Promise<void> {
  await store.hold({ blobs: layers.map((l) => l.digest), layers: layers.map((l) => l.diffId) });
  for (const l of layers) {
    if (await store.hasBlob(l.digest)) continue;
    throw new MinicError("ENOTFOUND", `recipe '${name}': layer ${l.digest.slice(0, 19)}… of its base is no longer in the store`, {
      hint: "the base image was removed (rmi, then gc) while the build read it; build, load or pull the base again",
    });
  }
}

/** Throws EDIGEST when a layer of a base image taken from the store is damaged or missing. */
async function checkStoredBase(verified: VerifiedBlobs, name: string, base: BaseInfo): Promise<void> {
  for (const l of base.layers) {
    const state = await verified.check(l.digest);
    if (state === "intact") continue;
    throw new MinicError("EDIGEST", `recipe '${name}': layer ${l.digest.slice(0, 19)}… of base image '${base.name}' is ${state === "missing" ? "missing from the store" : "damaged (its bytes do not match its digest)"}`, {
      hint: "load or pull the base image again, or build it from its recipe; 'minic fsck' lists what is damaged",
    });
  }
}

/** For --explain: what each copy from a stage depends on (the stage's image and its layers, which are in the step's key). */
function explainStages(p: Progress, recipe: Recipe, steps: readonly CanonicalStep[], stages: ReadonlyMap<Recipe | string, StageInfo>): void {
  recipe.steps.forEach((s, i) => {
    if (s.kind !== "copy-from") return;
    const st = stages.get(s.from.stage)!;
    const layers = st.layers.map((l) => `${l.diffId.slice(0, 19)}…`).join(", ");
    p.log(`${recipe.name}: step ${i + 1} (${describeStep(steps[i]!)}) depends on ${st.stored ? "image" : "stage"} '${st.name}': image ${st.manifestDigest.slice(0, 19)}…, layers ${layers || "none"}`);
  });
}

function explain(p: Progress, name: string, hit: CacheRecord | undefined, last: CacheRecord | undefined, parts: ReturnType<typeof keyParts>, lines: string[], inputs: Map<number, CopyInputKey[]>, noCache: boolean): void {
  if (noCache) return p.log(`${name}: cache bypassed (--no-cache)`);
  if (hit) return p.log(`${name}: cache hit (key ${hit.key.slice(0, 19)}…)`);
  const why = explainMiss(last?.parts, parts, (i) => lines[i] ?? "?");
  const first = last ? parts.steps.findIndex((d, i) => last.parts.steps[i] !== d) : -1;
  const detail = last && first >= 0 && inputs.has(first) ? explainInputs(last.inputs[first] ?? {}, inputs.get(first)!) : [];
  p.log(`${name}: cache miss: ${[...why, ...detail].join("; ") || "the cached layer is gone from the store"}`);
}

