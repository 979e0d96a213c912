// Build cache records: cache key → layer, and per recipe name the parts of its last build.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Digest } from "../core/digest.js";
import type { InputRecord, KeyParts } from "../core/cache-key.js";
import type { LayerDescriptor } from "../core/image.js";
import { writeFileAtomic } from "../store/atomic.js";
import type { Store } from "../store/store.js";

export interface CacheRecord {
  key: Digest;
  parts: KeyParts;
  /** The layer built for this key; absent for a recipe without steps. */
  layer: LayerDescriptor | null;
  recipe: { name: string; file: string };
  /** Per step, the copy inputs (destination → kind, digest, executable), for --explain. */
  inputs: Record<number, Record<string, InputRecord>>;
  /** One line per step, for --explain. */
  steps: string[];
}

/** The record for `key` when it exists and its layer blob is still in the store (held from then on). */
export async function lookupCache(store: Store, key: Digest): Promise<CacheRecord | undefined> {
  const rec = await readJson<CacheRecord>(store.layout.cacheEntry(key));
  if (!rec) return undefined;
  if (rec.layer) {
    await store.hold({ blobs: [rec.layer.digest] });
    if (!(await store.hasBlob(rec.layer.digest))) return undefined;
  }
  return rec;
}

/** The record of the last build of a recipe with this name (any key). */
export async function lastBuildOf(store: Store, name: string): Promise<CacheRecord | undefined> {
  return readJson<CacheRecord>(lastPath(store, name));
}

/** Stores the record under its key and as the recipe's last build. */
export async function saveCache(store: Store, rec: CacheRecord): Promise<void> {
  const json = JSON.stringify(rec);
  await writeFileAtomic(store.layout.cacheEntry(rec.key), json);
  await writeFileAtomic(lastPath(store, rec.recipe.name), json);
}

function lastPath(store: Store, name: string): string {
  return join(store.layout.cacheDir, "last", `${encodeURIComponent(name)}.json`);
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as T;
  } catch {
    return undefined;
  }
}
