// Run steps' cache mounts: `run(cmd, { cache: ["/var/cache/apt"] })` binds a persistent
// directory of the store over that path for the step, so that package caches survive builds
// without entering a layer. One directory per recipe name and path, `<store>/cache-mounts/ID/`
// (ID from both), holding `data/` (what is bound) and `mount.json` (whose it is, for listing).
// Builds of the same recipe share it, also at the same time, with no lock of minic's (as
// BuildKit's default sharing=shared): package managers lock their own caches (apt, npm).
import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../store/atomic.js";
import type { Store } from "../store/store.js";
import type { Bind } from "../runtime/runtime-argv.js";

/** One cache mount of the store. */
export interface CacheMount {
  id: string;
  recipe: string;
  path: string;
  /** Bytes its files take (apparent sizes). */
  bytes: number;
}

/** Pure: the id of the cache mount of recipe `recipe` at image path `path`. */
export function cacheMountId(recipe: string, path: string): string {
  return createHash("sha256").update(`${recipe}\0${path}`).digest("hex").slice(0, 24);
}

/**
 * The binds of a step's cache paths, each directory made (with its mount.json) when it is the
 * first use; targets not yet resolved inside the image (see resolveBindTarget). Idempotent.
 */
export async function cacheMountBinds(store: Store, recipe: string, paths: readonly string[]): Promise<Bind[]> {
  const binds: Bind[] = [];
  for (const path of paths) {
    const dir = join(store.layout.cacheMountsDir, cacheMountId(recipe, path));
    await mkdir(join(dir, "data"), { recursive: true, mode: 0o755 });
    const meta = join(dir, "mount.json");
    if ((await readFile(meta, "utf8").catch(() => undefined)) === undefined) await writeFileAtomic(meta, JSON.stringify({ recipe, path }));
    binds.push({ source: join(dir, "data"), target: path, readOnly: false, dir: true });
  }
  return binds;
}

/**
 * The cache mounts under `root` (a store's layout.cacheMountsDir), by recipe and path; none when
 * it does not exist. Reads only; an entry without a readable mount.json is listed with recipe
 * and path "?".
 */
export function listCacheMounts(root: string): CacheMount[] {
  const out: CacheMount[] = [];
  if (lstatSync(root, { throwIfNoEntry: false })?.isDirectory() !== true) return out;
  for (const id of readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name)) {
    let meta = { recipe: "?", path: "?" };
    try {
      meta = JSON.parse(readFileSync(join(root, id, "mount.json"), "utf8")) as typeof meta;
    } catch {
      /* being made, or damaged: listed all the same, so that gc --cache-mounts can remove it */
    }
    out.push({ id, recipe: String(meta.recipe), path: String(meta.path), bytes: treeBytes(join(root, id, "data")) });
  }
  return out.sort((a, b) => a.recipe.localeCompare(b.recipe) || a.path.localeCompare(b.path));
}

/**
 * Removes every cache mount: each is first renamed into the store's tmp/ (under this process's
 * name, so that a gc killed half-way leaves it whole or for the next sweep), then removed. A
 * step running meanwhile keeps the directory it has bound until it ends; the next one starts
 * with an empty cache. Returns what was removed.
 */
export async function removeCacheMounts(store: Store): Promise<CacheMount[]> {
  const gone = listCacheMounts(store.layout.cacheMountsDir);
  for (const m of gone) {
    const moved = join(store.layout.tmpDir, `.cache-mount-${process.pid}-${m.id}`);
    await rename(join(store.layout.cacheMountsDir, m.id), moved);
    await rm(moved, { recursive: true, force: true });
  }
  return gone;
}

/** Apparent bytes of the files under `dir` (symlinks not followed). */
function treeBytes(dir: string): number {
  let total = 0;
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop()!;
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      else total += lstatSync(p, { throwIfNoEntry: false })?.size ?? 0;
    }
  }
  return total;
}
