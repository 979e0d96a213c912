// Builds a recipe (and, first, the recipes it stands on) into images in the store.
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { cacheKey, explainInputs, explainMiss, inputRecords, keyParts, stepDigests, type CopyInputKey } from "../core/cache-key.js";
import { digestOf, type Digest } from "../core/digest.js";
import { MinicError } from "../core/errors.js";
import { defaultRunConfig, type LayerDescriptor, type LayerHistory } from "../core/image.js";
import { parseLimits } from "../core/limits.js";
import { isRecipe, type Recipe } from "../core/recipe.js";
import { canonicalSteps, describeStep, mergeRunConfig, recipeHistory } from "../core/recipe-canonical.js";
import { formatRef, parseRef, type ImageRef } from "../core/reference.js";
import { combineControl, stepControl, type RunControl } from "../core/run-control.js";
import { putImage } from "../store/images.js";
import type { Store } from "../store/store.js";
import type { Progress } from "../util/progress.js";
import { tagImage, type TagResult } from "./base-tags.js";
import { lastBuildOf, lookupCache, saveCache, type CacheRecord } from "./build-cache.js";
import { resolveCopyInputs, type CopyInput } from "./copy-inputs.js";
import { DIGEST_CACHE, DigestCache } from "./digest-cache.js";
import { materialize } from "./materialize.js";
import type { SecurityProfile } from "../runtime/security-profile.js";

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
}

/** The image a recipe builds on, for its run steps' records. */
interface BaseInfo {
  layers: LayerDescriptor[];
  run: ReturnType<typeof defaultRunConfig>;
  history: LayerHistory[];
  name: string;
  manifestDigest: string;
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

/**
 * Builds `recipe` after its base recipes. The top image is tagged `tag` (default `name:latest`);
 * each base recipe's image `name:latest` when that name is free or holds an image of the same
 * recipe file, and is left untagged otherwise (see tagImage).
 */
export async function buildRecipe(store: Store, recipe: Recipe, opts: BuildOptions, seen: Set<Recipe> = new Set(), top = true): Promise<BuildResult[]> {
  if (seen.has(recipe)) throw new MinicError("ERECIPE", `recipe '${recipe.name}' is its own base`, { hint: "break the cycle of base imports" });
  seen.add(recipe);
  const results: BuildResult[] = [];
  let base: BaseInfo = { layers: [], run: defaultRunConfig(), history: [], name: "", manifestDigest: "" };
  if (isRecipe(recipe.base)) {
    const below = await buildRecipe(store, recipe.base, { ...opts, tag: undefined }, seen, false);
    results.push(...below);
    const under = below[below.length - 1]!;
    const img = await store.readImage(under.manifestDigest);
    base = { layers: img.manifest.layers, run: img.config.config, history: img.config.history, name: formatRef(under.ref), manifestDigest: under.manifestDigest };
  } else if (typeof recipe.base === "string") {
    const img = await store.getImage(recipe.base).catch((e: unknown) => {
      throw new MinicError("ENOTFOUND", `recipe '${recipe.name}': base image '${recipe.base}' is not in the store`, {
        hint: "build or load the base first, or import its recipe and use it as base", cause: e,
      });
    });
    base = { layers: img.manifest.layers, run: img.config.config, history: img.config.history, name: recipe.base, manifestDigest: img.manifestDigest };
  }
  results.push(await buildOne(store, recipe, opts, base, top));
  return results;
}

async function buildOne(store: Store, recipe: Recipe, opts: BuildOptions, base: BaseInfo, top: boolean): Promise<BuildResult> {
  const { layers: baseLayers, run: baseRun, history: baseHistory } = base;
  const ref = opts.tag ?? parseRef(recipe.name);
  const p = opts.progress;
  await holdBase(store, recipe.name, baseLayers);
  const steps = canonicalSteps(recipe);
  const cpus = availableParallelism();
  const runConfig = mergeRunConfig(baseRun, recipe.config, (l, below) => parseLimits(l, cpus, below));
  // Checked before anything runs (also on a cache hit): a bad limit is the recipe's error.
  const controls = new Map<number, RunControl>();
  recipe.steps.forEach((s, i) => {
    const where = `recipe '${recipe.name}' step ${i + 1}`;
    if (s.kind === "run") controls.set(i, combineControl(stepControl(s, where, cpus), opts.control, where));
  });
  const recipeFile = recipe.source.startsWith("file:") ? fileURLToPath(recipe.source) : recipe.source;
  const recipeDir = dirname(recipeFile);
  const inputs = new Map<number, CopyInput[]>();
  const inputKeys = new Map<number, CopyInputKey[]>();
  const digests = steps.some((s) => s.kind === "copy") ? await DigestCache.open(join(store.layout.cacheDir, DIGEST_CACHE)) : undefined;
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i]!;
    if (s.kind !== "copy") continue;
    const found = await resolveCopyInputs(s.from, recipeDir, `recipe '${recipe.name}' step ${i + 1}`, join(store.layout.cacheDir, "globs"), digests);
    inputs.set(i, found);
    inputKeys.set(i, found.map((f) => ({ rel: f.rel, digest: f.digest, executable: f.executable, kind: f.kind, ...(f.linkOf === undefined ? {} : { linkOf: f.linkOf }) })));
  }
  await digests?.save();
  const parts = keyParts(baseLayers.map((l) => l.diffId), stepDigests(steps, inputKeys), opts.epoch);
  const key = cacheKey(parts);
  const hit = opts.noCache ? undefined : await lookupCache(store, key);
  if (opts.explain) explain(p, recipe.name, hit, await lastBuildOf(store, recipe.name), parts, steps.map(describeStep), inputKeys, opts.noCache);

  let layer: LayerDescriptor | null;
  if (hit) {
    layer = hit.layer;
    p.succeed(`${recipe.name}: cached (${layer ? layer.diffId.slice(0, 19) : "no layer"})`);
  } else {
    p.start(`${recipe.name}: building ${steps.length} step(s)`);
    layer = steps.length === 0 ? null : await materialize(store, {
      name: recipe.name, baseLayers, steps, inputs, controls, base: { name: base.name, manifestDigest: base.manifestDigest }, epoch: opts.epoch, now: opts.now, security: opts.security,
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
  const manifestDigest = await putImage(store, layers, runConfig, history, opts.epoch);
  const tag = await tagImage(store, ref, manifestDigest, recipeFile, top);
  return { ref, manifestDigest, layer, cached: hit !== undefined, recipeFile, tag };
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

function explain(p: Progress, name: string, hit: CacheRecord | undefined, last: CacheRecord | undefined, parts: ReturnType<typeof keyParts>, lines: string[], inputs: Map<number, CopyInputKey[]>, noCache: boolean): void {
  if (noCache) return p.log(`${name}: cache bypassed (--no-cache)`);
  if (hit) return p.log(`${name}: cache hit (key ${hit.key.slice(0, 19)}…)`);
  const why = explainMiss(last?.parts, parts, (i) => lines[i] ?? "?");
  const first = last ? parts.steps.findIndex((d, i) => last.parts.steps[i] !== d) : -1;
  const detail = last && first >= 0 && inputs.has(first) ? explainInputs(last.inputs[first] ?? {}, inputs.get(first)!) : [];
  p.log(`${name}: cache miss: ${[...why, ...detail].join("; ") || "the cached layer is gone from the store"}`);
}

