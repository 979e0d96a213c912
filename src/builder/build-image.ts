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
import { parseRef, type ImageRef } from "../core/reference.js";
import { putImage } from "../store/images.js";
import type { Store } from "../store/store.js";
import type { Progress } from "../util/progress.js";
import { lastBuildOf, lookupCache, saveCache, type CacheRecord } from "./build-cache.js";
import { resolveCopyInputs, type CopyInput } from "./copy-inputs.js";
import { DIGEST_CACHE, DigestCache } from "./digest-cache.js";
import { materialize } from "./materialize.js";

export interface BuildOptions {
  noCache: boolean;
  explain: boolean;
  epoch: number;
  /** Name for the top image (default: the recipe's name, tag latest). */
  tag?: ImageRef;
  progress: Progress;
}

export interface BuildResult {
  ref: ImageRef;
  manifestDigest: Digest;
  layer: LayerDescriptor | null;
  cached: boolean;
}

/** Builds `recipe` after its base recipes; every recipe's image is tagged `name:latest` (the top one `tag`). */
export async function buildRecipe(store: Store, recipe: Recipe, opts: BuildOptions, seen: Set<Recipe> = new Set()): Promise<BuildResult[]> {
  if (seen.has(recipe)) throw new MinicError("ERECIPE", `recipe '${recipe.name}' is its own base`, { hint: "break the cycle of base imports" });
  seen.add(recipe);
  const results: BuildResult[] = [];
  let baseLayers: LayerDescriptor[] = [];
  let baseRun = defaultRunConfig();
  let baseHistory: LayerHistory[] = [];
  if (isRecipe(recipe.base)) {
    const below = await buildRecipe(store, recipe.base, { ...opts, tag: undefined }, seen);
    results.push(...below);
    const img = await store.readImage(below[below.length - 1]!.manifestDigest);
    ({ layers: baseLayers } = img.manifest);
    baseRun = img.config.config;
    baseHistory = img.config.history;
  } else if (typeof recipe.base === "string") {
    const img = await store.getImage(recipe.base).catch((e: unknown) => {
      throw new MinicError("ENOTFOUND", `recipe '${recipe.name}': base image '${recipe.base}' is not in the store`, {
        hint: "build or load the base first, or import its recipe and use it as base", cause: e,
      });
    });
    baseLayers = img.manifest.layers;
    baseRun = img.config.config;
    baseHistory = img.config.history;
  }
  results.push(await buildOne(store, recipe, opts, baseLayers, baseRun, baseHistory));
  return results;
}

async function buildOne(store: Store, recipe: Recipe, opts: BuildOptions, baseLayers: LayerDescriptor[], baseRun: ReturnType<typeof defaultRunConfig>, baseHistory: LayerHistory[]): Promise<BuildResult> {
  const ref = opts.tag ?? parseRef(recipe.name);
  const p = opts.progress;
  await holdBase(store, recipe.name, baseLayers);
  const steps = canonicalSteps(recipe);
  const runConfig = mergeRunConfig(baseRun, recipe.config, (l) => parseLimits(l, availableParallelism()));
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
    layer = steps.length === 0 ? null : await materialize(store, { name: recipe.name, baseLayers, steps, inputs, epoch: opts.epoch }, p);
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
  await store.setRef(ref, manifestDigest);
  return { ref, manifestDigest, layer, cached: hit !== undefined };
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

