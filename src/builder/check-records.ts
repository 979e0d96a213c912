// fsck of the build's records in the store's cache/: each is checked as the build would check it
// before use (checksum, shape, key), and one that is not intact is removed (the build would drop
// it anyway, and makes a new one). Nothing a build made is lost: these records only save work.
import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { parseCacheRecord } from "../core/cache-record.js";
import type { Digest } from "../core/digest.js";
import { shapedOrUndefined, type Shape } from "../core/json-shape.js";
import { DIGEST_CACHE_SHAPE, GLOB_RECORD_SHAPE, RECIPE_INDEX_SHAPE, TAG_RECORD_SHAPE, TYPECHECK_RECORD_SHAPE, VERIFIED_BLOBS_SHAPE } from "../core/record-shapes.js";
import { openSealed } from "../core/sealed-record.js";
import type { FsckProblem } from "../store/fsck.js";
import type { Store } from "../store/store.js";
import { VERIFIED_BLOBS } from "../store/verified-blobs.js";
import { DIGEST_CACHE } from "./digest-cache.js";

/** A record file and whether its text is intact. */
interface RecordKind {
  dir: string;
  matches: (name: string) => boolean;
  intact: (text: string, name: string) => boolean;
}

const shaped = (shape: Shape<unknown>) => (text: string) => {
  try {
    return shapedOrUndefined(shape, JSON.parse(text)) !== undefined;
  } catch {
    return false;
  }
};
const sealed = (shape: Shape<unknown>) => (text: string) => {
  try {
    return openSealed(JSON.parse(text), shape) !== undefined;
  } catch {
    return false;
  }
};

/** Checks (with `repair`, removes) the records of cache/ that are not intact; returns what it found and how many it checked. */
export async function checkBuildRecords(store: Store, repair: boolean): Promise<{ checked: number; problems: FsckProblem[] }> {
  const cache = store.layout.cacheDir;
  const kinds: RecordKind[] = [
    { dir: cache, matches: (n) => /^[0-9a-f]{64}\.json$/.test(n), intact: (t, n) => parseCacheRecord(t, `sha256:${n.slice(0, 64)}` as Digest) !== undefined },
    { dir: join(cache, "last"), matches: (n) => n.endsWith(".json"), intact: (t) => parseCacheRecord(t) !== undefined },
    { dir: cache, matches: (n) => n === DIGEST_CACHE, intact: sealed(DIGEST_CACHE_SHAPE) },
    { dir: cache, matches: (n) => n === VERIFIED_BLOBS, intact: sealed(VERIFIED_BLOBS_SHAPE) },
    { dir: cache, matches: (n) => n.startsWith("typecheck-") && n.endsWith(".json"), intact: shaped(TYPECHECK_RECORD_SHAPE) },
    { dir: join(cache, "recipes"), matches: (n) => n.endsWith(".json"), intact: shaped(RECIPE_INDEX_SHAPE) },
    { dir: join(cache, "globs"), matches: (n) => n.endsWith(".json"), intact: shaped(GLOB_RECORD_SHAPE) },
    { dir: join(cache, "tags"), matches: (n) => n.endsWith(".json"), intact: shaped(TAG_RECORD_SHAPE) },
  ];
  const problems: FsckProblem[] = [];
  let checked = 0;
  const listed = new Map<string, string[]>();
  for (const k of kinds) {
    if (!listed.has(k.dir)) listed.set(k.dir, await readdir(k.dir).catch(() => [] as string[]));
    for (const n of listed.get(k.dir)!.filter(k.matches)) {
      const path = join(k.dir, n);
      checked++;
      const text = await readFile(path, "utf8").catch(() => null);
      if (text !== null && k.intact(text, n)) continue;
      if (repair) await rm(path, { force: true });
      problems.push({ kind: "record", what: path.slice(store.root.length + 1), problem: "not an intact build record (damaged, edited, or written by an older minic; the next build makes a new one)", repaired: repair });
    }
  }
  return { checked, problems };
}
