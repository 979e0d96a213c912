// Layers in the store: pack entries into a cpio+bzip2 blob, read one back, unpack it once.
import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { MinicError } from "../core/errors.js";
import { LAYER_MEDIA_TYPE, type LayerDescriptor } from "../core/image.js";
import { planArchive, type PlannedMember } from "../archive/cpio-canonical.js";
import { writeCpio, type DataSource } from "../archive/cpio-writer.js";
import { readCpio, type CpioMember } from "../archive/cpio-reader.js";
import { compress, decompress } from "../archive/bzip2.js";
import { unpackMembers, type UnpackOptions } from "../archive/unpack.js";
import type { Entry } from "../archive/entry.js";
import { tempName } from "./atomic.js";
import { writeOpaqueRecord } from "./opaque-record.js";
import { sealUnpacked, unpackedProblem } from "./unpacked-seal.js";
import type { BlobInfo, Store } from "./store.js";

/** An entry with the source of its data (files only). */
export interface LayerItem {
  entry: Entry;
  data?: DataSource;
}

/** Where a packed blob goes: the store itself, or a staging area committed later. */
export type BlobSink = (stream: Readable) => Promise<BlobInfo>;

/**
 * Packs items into a canonical layer and hands the compressed stream to `sink`. The diff id is
 * the sha256 of the cpio bytes, the digest that of the compressed blob. Streams: memory stays
 * flat whatever the tree's size. Same items and epoch, same diff id (and, with the same bzip2
 * tool, the same digest). Throws EARCHIVE from the planner.
 */
export async function packLayer(items: readonly LayerItem[], epoch: number, sink: BlobSink): Promise<LayerDescriptor> {
  const sources = new Map<Entry, DataSource | undefined>(items.map((i) => [i.entry, i.data]));
  const plan = planArchive(items.map((i) => i.entry), epoch);
  const dataOf = (m: PlannedMember) => sources.get(m.entry);
  const diff = createHash("sha256");
  async function* hashed(): AsyncGenerator<Buffer> {
    for await (const chunk of writeCpio(plan, dataOf)) {
      diff.update(chunk);
      yield chunk;
    }
  }
  const blob = await sink(compress(hashed()));
  return { mediaType: LAYER_MEDIA_TYPE, digest: blob.digest, size: blob.size, diffId: `sha256:${diff.digest("hex")}` };
}

/** Packs items into a canonical layer stored in `store` (see packLayer). */
export function putLayer(store: Store, items: readonly LayerItem[], epoch: number): Promise<LayerDescriptor> {
  return packLayer(items, epoch, (s) => store.putBlobStream(s));
}

/**
 * The members of a stored layer. The blob digest and the diff id are both checked: a mismatch
 * errors the iteration at its end (after the trailer), so callers must write to a temp place.
 */
export async function* layerMembers(store: Store, layer: LayerDescriptor): AsyncGenerator<CpioMember> {
  const diff = createHash("sha256");
  async function* plain(): AsyncGenerator<Buffer> {
    for await (const chunk of decompress(store.openBlob(layer.digest))) {
      diff.update(chunk);
      yield chunk as Buffer;
    }
    const got = `sha256:${diff.digest("hex")}`;
    if (got !== layer.diffId) {
      throw new MinicError("EDIGEST", `layer ${layer.digest.slice(0, 19)}… unpacks to diff id ${got.slice(0, 19)}…, not ${layer.diffId.slice(0, 19)}…`, {
        hint: "the layer is corrupt; remove the image and build or load it again",
      });
    }
  }
  yield* readCpio(plain());
}

/** Reads a layer's blob fully (drains it) so that both digests are verified. */
export async function verifyLayer(store: Store, layer: LayerDescriptor): Promise<void> {
  for await (const m of layerMembers(store, layer)) for await (const _ of m.data);
}

/** How minic's own (verified) layers unpack: devices, setuid bits and owners kept. */
const TRUSTED: UnpackOptions = { whiteouts: "overlay", devices: true, setuid: true, owners: true };

/** Options for unpacking a stored layer with whiteouts handled as `whiteouts` says. */
export function trustedOptions(whiteouts: UnpackOptions["whiteouts"]): UnpackOptions {
  return { ...TRUSTED, whiteouts };
}

/** Unpacks `layers` (base first) into `dir` with deletions applied: the image as one tree. */
export async function flattenLayers(store: Store, layers: readonly LayerDescriptor[], dir: string): Promise<void> {
  for (const l of layers) await unpackMembers(layerMembers(store, l), dir, trustedOptions("apply"));
}

/**
 * The directory holding the layer unpacked in overlayfs form (whiteouts as 0/0 devices), or in
 * another form at another `dest` (the runtime keeps an aufs form with `.wh.` files beside it).
 * Unpacked once per store into a temp dir, sealed (store/unpacked-seal.ts) and renamed into
 * place; later calls reuse it while it matches its seal. One that was changed since (or has no
 * seal) is moved away and unpacked again, and `note` is told why.
 */
export async function unpackedLayer(store: Store, layer: LayerDescriptor, opts: UnpackOptions = TRUSTED, dest = store.layout.unpacked(layer.diffId), note?: (line: string) => void): Promise<string> {
  if (await exists(dest)) {
    const problem = unpackedProblem(dest);
    if (problem === undefined) return dest;
    if (problem !== "it has no seal") note?.(`minic: unpacked layer ${layer.diffId.slice(0, 19)}… no longer matches its seal (${problem}); unpacking it again`);
    await discardUnpacked(store, dest);
  }
  const tmp = tempName(store.layout.tmpDir, "unpack");
  await mkdir(tmp, { mode: 0o755 });
  try {
    const report = await unpackMembers(layerMembers(store, layer), tmp, opts);
    // Recorded and sealed before the directory appears: a layer dir in place always has both.
    if (opts.whiteouts === "overlay") await writeOpaqueRecord(dest, report.opaque);
    await sealUnpacked(tmp, dest);
    await rename(tmp, dest).catch(async (e: NodeJS.ErrnoException) => {
      if (e.code !== "ENOTEMPTY" && e.code !== "EEXIST") throw e;
      // Another minic unpacked it first; this one's seal may have replaced that one's: seal the
      // tree in place again (just made by that minic) unless its own seal is in place.
      await rm(tmp, { recursive: true, force: true });
      if (unpackedProblem(dest) !== undefined) await sealUnpacked(dest, dest);
    });
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return dest;
}

/** Moves an unpacked layer that may not be used out of place (into tmp/) and removes it. */
export async function discardUnpacked(store: Store, dir: string): Promise<void> {
  const aside = tempName(store.layout.tmpDir, "discard");
  try {
    await rename(dir, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return; // another minic moved it first
    throw e;
  }
  await rm(aside, { recursive: true, force: true });
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

