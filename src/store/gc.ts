// Garbage collection: removes blobs, unpacked layers and cache records nothing references.
import { readdir, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { digestHex, type Digest } from "../core/digest.js";
import { parseCacheRecord } from "../core/cache-record.js";
import { messageLine } from "../core/errors.js";
import { formatRef } from "../core/reference.js";
import type { Store } from "./store.js";
import { OPAQUE_RECORD_SUFFIX } from "./opaque-record.js";
import { SEAL_SUFFIX } from "./unpacked-seal.js";
import { liveTempName, ownedTempName, sweepScratch } from "./scratch.js";

export interface GcReport {
  blobs: number;
  unpacked: number;
  cacheRecords: number;
  bytes: number;
  /** Damaged images and refs/ entries gc went past, one line each (what is wrong, and what to do). */
  damaged: string[];
}

/** What gc keeps besides the images that have a name. */
export interface GcRoots {
  /** Manifests to keep with their config and layers (images of running containers). */
  manifests?: ReadonlySet<Digest>;
  /** Unpacked layers to keep, by diff id hex. */
  layers?: ReadonlySet<string>;
}

/**
 * Marks everything reachable from references (manifests, configs, layers) and from extra roots
 * (the images of running containers), then sweeps the rest. Unpacked layers are kept in both
 * forms (overlay `HEX`, aufs `HEX.aufs`). Cache records whose layer is gone are removed too.
 * Temp files older than an hour are swept. An image whose manifest is missing, corrupt or
 * malformed is reported in `damaged` and gc goes on with the rest (an extra manifest that is no
 * longer readable is skipped silently: nothing of it is left to keep).
 */
/** The diff id hex an entry of unpacked/ belongs to: a layer dir, its aufs form, its opaque record or a seal. */
function layerOf(name: string): string {
  if (name.endsWith(SEAL_SUFFIX)) name = name.slice(0, -SEAL_SUFFIX.length); // HEX.seal, HEX.aufs.seal
  for (const suffix of [".aufs", OPAQUE_RECORD_SUFFIX]) if (name.endsWith(suffix)) return name.slice(0, -suffix.length);
  return name;
}

export async function gc(store: Store, roots: GcRoots = {}): Promise<GcReport> {
  const keepBlobs = new Set<string>();
  const keepDiffs = new Set<string>(roots.layers ?? []);
  const report: GcReport = { blobs: 0, unpacked: 0, cacheRecords: 0, bytes: 0, damaged: [] };
  const { refs, bad } = await store.scanRefs();
  for (const b of bad) report.damaged.push(`${b.entry} is not a reference (${b.why}): skipped`);
  const names = new Map<Digest, string>();
  for (const r of refs) if (!names.has(r.manifest)) names.set(r.manifest, formatRef(r.ref));
  const manifests = new Set<Digest>(names.keys());
  for (const m of roots.manifests ?? []) manifests.add(m);
  for (const manifest of manifests) {
    // A named manifest stays even when it cannot be read (fsck reports it; a build replaces it);
    // what it names cannot be known, and goes unless something else keeps it.
    if (names.has(manifest)) keepBlobs.add(digestHex(manifest));
    let m;
    try {
      m = await store.readManifest(manifest);
    } catch (e) {
      if (names.has(manifest)) report.damaged.push(`image ${names.get(manifest)}: ${messageLine(e)}`);
      continue;
    }
    keepBlobs.add(digestHex(manifest));
    keepBlobs.add(digestHex(m.config.digest));
    for (const l of m.layers) {
      keepBlobs.add(digestHex(l.digest));
      keepDiffs.add(digestHex(l.diffId));
    }
  }
  for (const f of await readdir(store.layout.blobsDir)) {
    if (keepBlobs.has(f)) continue;
    const p = join(store.layout.blobsDir, f);
    report.bytes += (await stat(p)).size;
    await rm(p, { force: true });
    report.blobs++;
  }
  for (const d of await readdir(store.layout.unpackedDir)) {
    if (liveTempName(d)) continue; // an opaque record being written beside its layer
    if (keepDiffs.has(layerOf(d))) continue;
    await rm(join(store.layout.unpackedDir, d), { recursive: true, force: true });
    report.unpacked++;
  }
  // Build cache records (cache/<key hex>.json, cache/last/<recipe>.json): one that is not
  // intact would be dropped when used anyway; one whose layer is gone can no longer be used.
  const cache = store.layout.cacheDir;
  const last = join(cache, "last");
  const records = [
    ...(await readdir(cache).catch(() => [] as string[])).filter((f) => /^[0-9a-f]{64}\.json$/.test(f)).map((f) => join(cache, f)),
    ...(await readdir(last).catch(() => [] as string[])).filter((f) => f.endsWith(".json")).map((f) => join(last, f)),
  ];
  for (const p of records) {
    const rec = parseCacheRecord(await readFile(p, "utf8").catch(() => ""));
    if (rec && (!rec.layer || keepBlobs.has(digestHex(rec.layer.digest)))) continue;
    await rm(p, { force: true });
    report.cacheRecords++;
  }
  await sweepScratch(store);
  // Names that carry no owner's pid (none minic writes today) go once they are an hour old;
  // an owned name belongs to its process while that lives, however long it works.
  const hourAgo = Date.now() - 3600_000;
  for (const f of await readdir(store.layout.tmpDir)) {
    if (ownedTempName(f)) continue;
    const p = join(store.layout.tmpDir, f);
    const st = await stat(p).catch(() => null);
    if (st && st.mtimeMs < hourAgo) await rm(p, { recursive: true, force: true });
  }
  return report;
}
