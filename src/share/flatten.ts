// minic export: an image's merged tree (layers stacked, deletions applied) as ONE canonical newc
// cpio compressed with bzip2: the archive the tutorial ships, `bzip2 -dc | cpio -idm`-able and
// valid as a Linux initramfs (sorted, parents first, trailer, padded to 512).
import { existsSync, readdirSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { planArchive, type PlannedMember } from "../archive/cpio-canonical.js";
import { writeCpio } from "../archive/cpio-writer.js";
import { compress } from "../archive/bzip2.js";
import { walkTree, treeData } from "../archive/walk-tree.js";
import { tempName } from "../store/atomic.js";
import { flattenLayers } from "../store/layers.js";
import type { StoredImage, Store } from "../store/store.js";
import { readOpaqueRecord } from "../store/opaque-record.js";
import { unpackedProblem } from "../store/unpacked-seal.js";

export interface FlattenReport {
  entries: number;
  /** True when the single layer was copied as it is (it already is the flattened archive). */
  copied: boolean;
}

/** The epoch an image's archive is clamped to: its `created` time. */
export function imageEpoch(image: StoredImage): number {
  const t = Date.parse(image.config.created);
  return Number.isFinite(t) && t >= 0 ? Math.floor(t / 1000) : 0;
}

/**
 * Writes the flattened image to `out` (and ends it). A one-layer image without whiteouts, whose
 * form was checked, is its own flattened archive and is copied verbatim (verified); otherwise the layers are unpacked in
 * order into a private temp dir with deletions applied (a symlink planted by a lower layer is
 * replaced by the upper layer's directory, never followed), then packed canonically.
 */
export async function flattenImage(store: Store, image: StoredImage, out: Writable): Promise<FlattenReport> {
  const layers = image.manifest.layers;
  if (layers.length === 1 && !(await mustRepack(store, image))) {
    await pipeline(store.openBlob(layers[0]!.digest), out);
    return { entries: -1, copied: true };
  }
  const dir = tempName(store.layout.tmpDir, "export");
  await mkdir(dir, { mode: 0o700 });
  try {
    await flattenLayers(store, layers, dir);
    const tree = await walkTree(dir);
    const sources = new Map(tree.map((t) => [t.entry, treeData(t)]));
    const plan = planArchive(tree.map((t) => t.entry), imageEpoch(image));
    await pipeline(compress(writeCpio(plan, (m: PlannedMember) => sources.get(m.entry))) as Readable, out);
    return { entries: tree.length, copied: false };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Whether the one layer must be repacked rather than copied: it has whiteouts (or device nodes),
 * or nothing vouches for its blob. Answered from its unpacked form when that is in place, matches
 * its seal and the seal says its form was checked (load, pull, import and build unpack every
 * layer so): an opaque directory is in its record and every whiteout is a character device (a
 * device node of the layer counts too), so no byte of the blob is decompressed. A layer without
 * such a form (an older minic's, or its tree removed) goes the slow path, which unpacks it with
 * the checks of every unpack: its blob might be what an older minic let in, names a cpio
 * reader would write outside the directory it unpacks into.
 */
async function mustRepack(store: Store, image: StoredImage): Promise<boolean> {
  return unpackedWhiteouts(store.layout.unpacked(image.manifest.layers[0]!.diffId)) ?? true;
}

/** true/false when `dir` is a sealed unpacked layer that may have / has no whiteouts; undefined when it cannot tell. */
function unpackedWhiteouts(dir: string): boolean | undefined {
  try {
    // An older minic's seal does not vouch for the layer's form (unpackedProblem): the slow path repacks it.
    if (!existsSync(dir) || unpackedProblem(dir) !== undefined) return undefined;
    const opaque = readOpaqueRecord(dir);
    if (opaque === undefined) return undefined;
    if (opaque.size > 0) return true;
    const walk = (d: string): boolean => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isCharacterDevice()) return true;
        if (e.isDirectory() && walk(join(d, e.name))) return true;
      }
      return false;
    };
    const found = walk(dir);
    // Still the tree its seal vouches for (a gc may have moved it away meanwhile: no answer).
    return unpackedProblem(dir) === undefined ? found : undefined;
  } catch {
    return undefined;
  }
}
