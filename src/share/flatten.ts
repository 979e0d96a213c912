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
import { WHITEOUT_PREFIX } from "../archive/entry.js";
import { tempName } from "../store/atomic.js";
import { flattenLayers, layerMembers } from "../store/layers.js";
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
 * Writes the flattened image to `out` (and ends it). A one-layer image without whiteouts is its
 * own flattened archive and is copied verbatim (verified); otherwise the layers are unpacked in
 * order into a private temp dir with deletions applied (a symlink planted by a lower layer is
 * replaced by the upper layer's directory, never followed), then packed canonically.
 */
export async function flattenImage(store: Store, image: StoredImage, out: Writable): Promise<FlattenReport> {
  const layers = image.manifest.layers;
  if (layers.length === 1 && !(await hasWhiteouts(store, image))) {
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
 * Whether the one layer has whiteouts. Answered from its unpacked form when that is in place and
 * matches its seal (load, pull, import and build unpack every layer): an opaque directory is in
 * its record, and every whiteout is a character device (a device node of the layer counts too:
 * then the slow path decides), so no byte of the blob is decompressed. Else the layer is read.
 */
async function hasWhiteouts(store: Store, image: StoredImage): Promise<boolean> {
  const layer = image.manifest.layers[0]!;
  const known = unpackedWhiteouts(store.layout.unpacked(layer.diffId));
  if (known !== undefined) return known;
  let found = false;
  for await (const m of layerMembers(store, image.manifest.layers[0]!)) {
    if (m.entry.name.slice(m.entry.name.lastIndexOf("/") + 1).startsWith(WHITEOUT_PREFIX)) found = true;
    for await (const _ of m.data);
  }
  return found;
}

/** true/false when `dir` is a sealed unpacked layer that may have / has no whiteouts; undefined when it cannot tell. */
function unpackedWhiteouts(dir: string): boolean | undefined {
  try {
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
