// Garbage collection: removes blobs, unpacked layers and cache records nothing references.
import { readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { digestHex, type Digest } from "../core/digest.js";
import { parseCacheRecord } from "../core/cache-record.js";
import { messageLine } from "../core/errors.js";
import { formatRef } from "../core/reference.js";
import type { Store } from "./store.js";
import { tempName } from "./atomic.js";
import { announceGc, readLeases } from "./lease.js";
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

/** The diff id hex an entry of unpacked/ belongs to: a layer dir, its aufs form, its opaque record or a seal. */
function layerOf(name: string): string {
  if (name.endsWith(SEAL_SUFFIX)) name = name.slice(0, -SEAL_SUFFIX.length); // HEX.seal, HEX.aufs.seal
  for (const suffix of [".aufs", OPAQUE_RECORD_SUFFIX]) if (name.endsWith(suffix)) return name.slice(0, -suffix.length);
  return name;
}

/**
 * Marks everything reachable from the leases of live writers, from extra roots (the images of
 * running containers) and from references (manifests, configs, layers), then sweeps the rest.
 * Announces itself first (lease.ts): a writer that holds something after gc read the leases
 * waits for it to end. `rootsOf` is asked only then, for the same reason. Unpacked layers are
 * kept in both forms (overlay `HEX`, aufs `HEX.aufs`); the others are moved out of unpacked/,
 * and removed once gc's announcement is gone, so a gc killed half-way leaves none half removed
 * and writers do not wait for big trees to go. Cache records whose layer is gone are removed
 * too. Temp files older than an hour are swept. An image whose manifest is missing, corrupt or
 * malformed is reported in `damaged` and gc goes on with the rest (an extra manifest that is no
 * longer readable is skipped silently: nothing of it is left to keep).
 */
export async function gc(store: Store, rootsOf: () => GcRoots = () => ({})): Promise<GcReport> {
  const end = announceGc(store.layout.leasesDir);
  let swept: { report: GcReport; aside: string[] };
  try {
    swept = await collect(store, rootsOf);
  } finally {
    end();
  }
  // No one can be using what is left to remove: it goes once the announcement has, so that
  // writers waiting for this gc do not wait for the removal of big trees.
  for (const p of swept.aside) await rm(p, { recursive: true, force: true });
  await sweepTmp(store);
  return swept.report;
}

async function collect(store: Store, rootsOf: () => GcRoots): Promise<{ report: GcReport; aside: string[] }> {
  // Leases before references: a writer names its image before its lease goes, so what it
  // held is in one or the other when gc reads them in this order.
  const leased = readLeases(store.layout.leasesDir);
  const roots = rootsOf();
  const keepBlobs = new Set<string>(leased.blobs);
  const keepDiffs = new Set<string>([...(roots.layers ?? []), ...leased.layers]);
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
    const st = await stat(p).catch(() => null);
    if (!st) continue; // another gc's
    await rm(p, { force: true });
    report.bytes += st.size;
    report.blobs++;
  }
  const aside: string[] = [];
  for (const d of await readdir(store.layout.unpackedDir)) {
    if (liveTempName(d)) continue; // an opaque record being written beside its layer
    if (keepDiffs.has(layerOf(d))) continue;
    const moved = await moveAside(join(store.layout.unpackedDir, d), store.layout.tmpDir);
    if (moved === undefined) continue;
    aside.push(moved);
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
  return { report, aside };
}

/** Removes what dead processes left in tmp/ (scratch dirs, temp files), and unowned names an hour old. */
async function sweepTmp(store: Store): Promise<void> {
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
}

/**
 * Moves `path` out of the way into `tmpDir` under a name of this process, so that it is whole
 * or gone, never half removed, if gc dies while removing it (the next sweep removes the rest).
 * Returns where it went; undefined when it was gone already (another gc's). A `tmpDir` on
 * another filesystem: removed in place.
 */
async function moveAside(path: string, tmpDir: string): Promise<string | undefined> {
  const aside = tempName(tmpDir, "trash");
  try {
    await rename(path, aside);
    return aside;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    if (code !== "EXDEV") throw e;
    await rm(path, { recursive: true, force: true });
    return path;
  }
}
