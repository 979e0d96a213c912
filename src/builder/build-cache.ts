// Build cache records on disk: cache key → layer, and per recipe name its last build. Each record
// carries a checksum (core/sealed-record.ts) and is checked before it is obeyed
// (core/cache-record.ts): one that is damaged, was edited, or names another key is removed and
// the layer built again.
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { parseCacheRecord, type CacheRecord } from "../core/cache-record.js";
import type { Digest } from "../core/digest.js";
import { sealRecord } from "../core/sealed-record.js";
import { writeFileAtomic } from "../store/atomic.js";
import type { Store } from "../store/store.js";

/**
 * The record for `key` when it exists, is intact (checksum, shape, its parts hash to `key`) and
 * its layer blob is still in the store (held from then on). A record that is not intact is removed.
 */
export async function lookupCache(store: Store, key: Digest): Promise<CacheRecord | undefined> {
  const rec = await readRecord(store.layout.cacheEntry(key), key);
  if (!rec) return undefined;
  if (rec.layer) {
    await store.hold({ blobs: [rec.layer.digest] });
    if (!(await store.hasBlob(rec.layer.digest))) return undefined;
  }
  return rec;
}

/** The record of the last build of a recipe with this name (any key), when intact. */
export async function lastBuildOf(store: Store, name: string): Promise<CacheRecord | undefined> {
  return readRecord(lastPath(store, name));
}

/** Stores the record (with its checksum) under its key and as the recipe's last build. */
export async function saveCache(store: Store, rec: CacheRecord): Promise<void> {
  const json = JSON.stringify(sealRecord(rec));
  await writeFileAtomic(store.layout.cacheEntry(rec.key), json);
  await writeFileAtomic(lastPath(store, rec.recipe.name), json);
}

/**
 * After a cache hit: makes `hit` (for `recipe`) the recipe's last build unless it already is, so
 * that --explain of its next miss compares with what it last built: a hit on a layer another
 * recipe made, or on an earlier version of this one, wrote no record of its own before. Nothing
 * is written on the usual no-op build (its last build is the hit).
 */
export async function noteCacheHit(store: Store, hit: CacheRecord, recipe: CacheRecord["recipe"]): Promise<void> {
  const last = await readRecord(lastPath(store, recipe.name));
  if (last?.key === hit.key) return;
  await writeFileAtomic(lastPath(store, recipe.name), JSON.stringify(sealRecord({ ...hit, recipe })));
}

function lastPath(store: Store, name: string): string {
  return join(store.layout.cacheDir, "last", `${encodeURIComponent(name)}.json`);
}

async function readRecord(path: string, key?: Digest): Promise<CacheRecord | undefined> {
  const text = await readFile(path, "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  const rec = parseCacheRecord(text, key);
  if (!rec) await rm(path, { force: true }); // dropped, never obeyed: the layer is built again
  return rec;
}
