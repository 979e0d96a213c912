// A recipe's distribution base (`base: debian({...})`): debootstrap into a scratch dir of the store,
// in namespaces of its own, then the tree becomes one content-addressed layer (as `minic import`
// of a directory makes one) and an unnamed image. Cached by its inputs like a recipe's layer.
import { access, rm } from "node:fs/promises";
import { join } from "node:path";
import { cacheKey, keyParts } from "../core/cache-key.js";
import type { CacheRecord } from "../core/cache-record.js";
import { digestOf, type Digest } from "../core/digest.js";
import {
  debootstrapArgv, debootstrapFailure, describeDistroBase, distroBaseInputs, distroBaseName, dpkgArch, tidyAction, unknownSuite,
  type DebootstrapBase,
} from "../core/distro-base.js";
import { MinicError } from "../core/errors.js";
import { defaultRunConfig, type LayerDescriptor, type LayerHistory, type RunConfig } from "../core/image.js";
import { putImage } from "../store/images.js";
import { putLayerUnpacked } from "../store/layers.js";
import { makeScratch, sweepScratch } from "../store/scratch.js";
import type { Store } from "../store/store.js";
import type { VerifiedBlobs } from "../store/verified-blobs.js";
import { LAYER_POLICY } from "../share/member-policy.js";
import { interrupted, run, spawn } from "../util/exec.js";
import type { Progress } from "../util/progress.js";
import { findProgram } from "../util/which.js";
import { lastBuildOf, lookupCache, noteCacheHit, saveCache } from "./build-cache.js";

/** Where debootstrap keeps its suite scripts (a suite without one is unknown to it). */
const SCRIPTS_DIR = "/usr/share/debootstrap/scripts";

export interface DistroBaseOptions {
  noCache: boolean;
  explain: boolean;
  epoch: number;
  progress: Progress;
  verified: VerifiedBlobs;
  /** The recipe file whose base this is (for the cache record). */
  recipeFile: string;
}

/** The image a distribution base gives the recipe on it. */
export interface DistroBaseImage {
  layer: LayerDescriptor;
  manifestDigest: Digest;
  run: RunConfig;
  history: LayerHistory[];
  cached: boolean;
}

/**
 * The layer and image of `base` for recipe `recipeName`: from the build cache when a layer of the
 * same inputs (see distroBaseInputs, and the epoch) is stored and intact, so no network is used;
 * else made by debootstrap. Idempotent. Throws EHOST without debootstrap or setpriv/unshare,
 * EINPUT for a suite or package debootstrap cannot find, EHOST when the mirror cannot be reached,
 * EINTERRUPTED on SIGINT/SIGTERM; nothing is written to the store then (the scratch tree goes).
 */
export async function distroBaseImage(store: Store, recipeName: string, base: DebootstrapBase, opts: DistroBaseOptions): Promise<DistroBaseImage> {
  const where = `recipe '${recipeName}': base ${distroBaseName(base)}`;
  const p = opts.progress;
  const program = need("debootstrap", "debootstrap");
  if (!(await access(join(SCRIPTS_DIR, base.suite)).then(() => true, () => false))) throw unknownSuite(`recipe '${recipeName}'`, base);
  const version = (await run([program, "--version"])).stdout.trim();
  const arch = dpkgArch(process.arch);
  const parts = keyParts([], [digestOf(distroBaseInputs(base, { arch, version }))], opts.epoch);
  const key = cacheKey(parts);
  const described = describeDistroBase(base);
  const recordName = `debootstrap ${base.distribution} ${base.suite}`;
  let hit = opts.noCache ? undefined : await lookupCache(store, key);
  if (hit?.layer && (await opts.verified.check(hit.layer.digest)) !== "intact") {
    p.log(`${distroBaseName(base)}: the cached layer ${hit.layer.digest.slice(0, 19)}… is missing or damaged; making it again`);
    hit = undefined;
  }
  if (opts.explain) {
    const last = await lastBuildOf(store, recordName);
    const why = opts.noCache ? "cache bypassed (--no-cache)" : hit ? `cache hit (key ${key.slice(0, 19)}…)`
      : `cache miss: ${last ? `was ${last.steps[0]} (${version}, ${arch}, epoch ${last.parts.epoch})` : "no earlier debootstrap of this suite in this store"}`;
    p.log(`${distroBaseName(base)}: ${why}`);
  }
  let layer: LayerDescriptor;
  if (hit?.layer) {
    layer = hit.layer;
    await noteCacheHit(store, hit, { name: recordName, file: opts.recipeFile });
    p.succeed(`${distroBaseName(base)}: cached (${layer.diffId.slice(0, 19)})`);
  } else {
    p.start(`${distroBaseName(base)}: ${described}`);
    layer = await debootstrapLayer(store, where, base, arch, opts.epoch, p);
    const rec: CacheRecord = { key, parts, layer, recipe: { name: recordName, file: opts.recipeFile }, inputs: {}, steps: [`${described} (${version}, ${arch})`] };
    await saveCache(store, rec);
    p.succeed(`${distroBaseName(base)}: built layer ${layer.diffId.slice(0, 19)}… (${layer.size} bytes)`);
  }
  const runConfig: RunConfig = { ...defaultRunConfig(), cmd: ["/bin/bash"] };
  const history: LayerHistory[] = [{ createdBy: described }];
  const manifestDigest = await putImage(store, [layer], runConfig, history, opts.epoch);
  return { layer, manifestDigest, run: runConfig, history, cached: hit !== undefined };
}

/**
 * Runs debootstrap into a fresh scratch dir of the store and packs the tree, tidied (tidyAction),
 * into a layer (unpacked beside it, as import does). debootstrap runs as PID 1 of a PID namespace
 * in a private mount namespace (`unshare --pid --fork --kill-child --mount`): the proc, sys and
 * dev mounts it makes in its target, and every process it starts, end with it, and are never seen
 * by the host; `setpriv --pdeathsig KILL` ends it if minic itself is killed. The scratch dir is
 * removed whatever happens.
 */
async function debootstrapLayer(store: Store, where: string, base: DebootstrapBase, arch: string, epoch: number, p: Progress): Promise<LayerDescriptor> {
  const setpriv = need("setpriv", "util-linux");
  const unshare = need("unshare", "util-linux");
  await sweepScratch(store);
  const scratch = await makeScratch(store);
  try {
    const target = join(scratch, "rootfs");
    const argv = [
      setpriv, "--pdeathsig", "KILL", "--",
      unshare, "--pid", "--fork", "--kill-child", "--mount", "--propagation", "private", "--",
      ...debootstrapArgv(need("debootstrap", "debootstrap"), base, arch, target),
    ];
    const env: NodeJS.ProcessEnv = { ...process.env, DEBIAN_FRONTEND: "noninteractive", LC_ALL: "C" };
    // shadow, dpkg and friends read SOURCE_DATE_EPOCH; unset (epoch 0), /etc/shadow's dates are
    // today's (a 0 there would mean "change the password now").
    if (epoch > 0) env.SOURCE_DATE_EPOCH = String(epoch);
    else delete env.SOURCE_DATE_EPOCH;
    const out = p.output();
    // unshare ignores SIGINT and SIGTERM while it waits: a signal of minic's becomes SIGKILL,
    // which kills debootstrap (--kill-child) and with it its whole PID namespace.
    const r = await spawn(argv, { env, work: true, newSession: true, stopSignal: "SIGKILL", onOutput: (c, s) => out.write(c, s) }).done;
    out.end();
    if (r.exitCode !== 0) {
      const sig = interrupted();
      if (sig) throw new MinicError("EINTERRUPTED", `${where}: debootstrap stopped by ${sig}`);
      throw debootstrapFailure(where, base, `${r.stdout}\n${r.stderr}`);
    }
    // Loaded here: its archive readers pull in tar-stream, which build's startup snapshot cannot
    // hold (an npm package); a cache hit never needs them.
    const { directoryItems } = await import("../share/import-source.js");
    const { items } = await directoryItems(target, LAYER_POLICY, tidyAction);
    return await putLayerUnpacked(store, items, epoch);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The path of a program minic needs for a distribution base, or EHOST with what to install. */
function need(name: string, pkg: string): string {
  const path = findProgram(name);
  if (!path) throw new MinicError("EHOST", `${name} is not installed: recipes on a debian() base need it`, { hint: `apt-get install ${pkg}` });
  return path;
}
