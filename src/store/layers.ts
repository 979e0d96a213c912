// Layers in the store: pack entries into a cpio+bzip2 blob, read one back, unpack it once.
import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { availableParallelism } from "node:os";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { MinicError } from "../core/errors.js";
import { LAYER_MEDIA_TYPE, type LayerDescriptor } from "../core/image.js";
import { planArchive, type PlannedMember } from "../archive/cpio-canonical.js";
import { writeCpio, type DataSource } from "../archive/cpio-writer.js";
import { checkedMembers } from "../archive/canonical-check.js";
import type { CpioMember } from "../archive/cpio-reader.js";
import { compress, decompress } from "../archive/bzip2.js";
import { unpackMembers, type UnpackMember, type UnpackOptions } from "../archive/unpack.js";
import { mapLimit } from "../util/map-limit.js";
import { ByteChannel } from "../util/byte-channel.js";
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
export async function packLayer(items: readonly LayerItem[], epoch: number, sink: BlobSink, tee?: ByteChannel): Promise<LayerDescriptor> {
  const sources = new Map<Entry, DataSource | undefined>(items.map((i) => [i.entry, i.data]));
  const plan = planArchive(items.map((i) => i.entry), epoch);
  const dataOf = (m: PlannedMember) => sources.get(m.entry);
  const diff = createHash("sha256");
  async function* hashed(): AsyncGenerator<Buffer> {
    let done = false;
    try {
      for await (const chunk of writeCpio(plan, dataOf)) {
        diff.update(chunk);
        await tee?.write(chunk);
        yield chunk;
      }
      done = true;
      tee?.end();
    } finally {
      if (!done) tee?.fail(new MinicError("EARCHIVE", "the layer was not packed to its end"));
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
 * packLayer that unpacks the layer in the same pass, for a layer minic makes (import, build,
 * an OCI layer converted at load or pull): its cpio bytes go to the compressor and, through a
 * bounded channel, to the unpacker writing the fresh temp dir `tmp`, side by side. The layer is
 * minic's own (its diff id is the hash of these very bytes), so nothing is checked again. Returns
 * the layer and its pending unpack, to put in place (placeUnpacked) once the blob is stored. On
 * failure `tmp` is removed.
 */
export async function packUnpacked(store: Store, items: readonly LayerItem[], epoch: number, sink: BlobSink, tmp: string): Promise<{ layer: LayerDescriptor; pending: PendingUnpack }> {
  const ch = new ByteChannel();
  await mkdir(tmp, { mode: 0o755 });
  // Checked as layers from outside are: the seal then vouches for the form of every unpacked tree.
  const unpacking = unpackMembers(checkedMembers(ch, "being written", "written"), tmp, TRUSTED, "fresh").catch((e: unknown) => {
    ch.abort(e);
    throw e;
  });
  // A packing that fails before its first chunk (no compressor) must still end the unpacker.
  const packing = packLayer(items, epoch, sink, ch).catch((e: unknown) => {
    ch.fail(e);
    throw e;
  });
  const [packed, unpacked] = await Promise.allSettled([packing, unpacking]);
  if (packed.status === "rejected" || unpacked.status === "rejected") {
    await rm(tmp, { recursive: true, force: true });
    throw packed.status === "rejected" ? packed.reason : (unpacked as PromiseRejectedResult).reason;
  }
  const layer = packed.value;
  return { layer, pending: { layer, tmp, target: overlayTarget(store, layer), opaque: unpacked.value.opaque } };
}

/**
 * Packs items into a layer stored in `store` and unpacked in place in the same pass (see
 * packUnpacked): the first run of an image that import or build made unpacks nothing.
 */
export async function putLayerUnpacked(store: Store, items: readonly LayerItem[], epoch: number): Promise<LayerDescriptor> {
  const { layer, pending } = await packUnpacked(store, items, epoch, (s) => store.putBlobStream(s), tempName(store.layout.tmpDir, "unpack"));
  await placeUnpacked(store, pending);
  return layer;
}

/**
 * The members of a stored layer. The blob digest and the diff id are both checked, and so is its
 * form (CanonicalCheck: a layer an older minic loaded was taken in without that check): a
 * mismatch errors the iteration at its end (after the trailer), a member out of form as it comes,
 * so callers must write to a temp place.
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
  yield* checkedMembers(plain(), `${layer.digest.slice(0, 19)}…`, "store");
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

/** The unpacked forms of a layer: overlayfs (whiteouts as 0/0 devices) in unpacked/, or another at another dest. */
export interface UnpackTarget {
  opts: UnpackOptions;
  dest: string;
}

/** A layer unpacked into a temp dir, its digests checked, not yet in place (see placeUnpacked). */
export interface PendingUnpack {
  layer: LayerDescriptor;
  tmp: string;
  target: UnpackTarget;
  opaque: string[];
}

/** The overlay form of `layer` in unpacked/ (what `minic run` stacks by default). */
export function overlayTarget(store: Store, layer: LayerDescriptor): UnpackTarget {
  return { opts: TRUSTED, dest: store.layout.unpacked(layer.diffId) };
}

/**
 * True when `layer` is unpacked at `target` and matches its seal, looked at once the layer is
 * held (Store.hold: a gc under way cannot remove it after this says so). A tree that no longer
 * matches (not one without a seal: an older minic's, or one being placed) is told to `note`.
 */
export async function isUnpacked(store: Store, layer: LayerDescriptor, target: UnpackTarget, note?: (line: string) => void): Promise<boolean> {
  await store.hold({ layers: [layer.diffId] });
  if (!(await exists(target.dest))) return false;
  const problem = unpackedProblem(target.dest);
  if (problem === undefined) return true;
  if (problem !== "it has no seal") note?.(`minic: unpacked layer ${layer.diffId.slice(0, 19)}… no longer matches its seal (${problem}); unpacking it again`);
  return false;
}

/**
 * Unpacks `members` (a layer's, whose iteration fails at its end unless both its digests matched:
 * layerMembers) into the fresh temp dir `tmp` (made here; a path under the store's tmp/, named
 * after this process so that the temp dir of a killed minic is swept). Nothing is in unpacked/
 * yet: placeUnpacked puts it there. On any failure `tmp` is removed and the error thrown.
 */
export async function unpackToTemp(members: AsyncIterable<UnpackMember>, layer: LayerDescriptor, target: UnpackTarget, tmp: string): Promise<PendingUnpack> {
  await mkdir(tmp, { mode: 0o755 });
  try {
    const report = await unpackMembers(members, tmp, target.opts, "fresh");
    return { layer, tmp, target, opaque: report.opaque };
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/**
 * Puts a checked temp tree in place: held, its opaque record (overlay form) and seal written
 * before the rename, so a layer dir in place always has both. A layer already in place and
 * sealed (another minic was first) is kept and the temp tree removed; one that no longer matches
 * its seal is moved away first. Returns the layer dir.
 */
export async function placeUnpacked(store: Store, p: PendingUnpack, note?: (line: string) => void): Promise<string> {
  const dest = p.target.dest;
  try {
    if (await isUnpacked(store, p.layer, p.target, note)) {
      await rm(p.tmp, { recursive: true, force: true });
      return dest;
    }
    if (await exists(dest)) await discardUnpacked(store, dest);
    if (p.target.opts.whiteouts === "overlay") await writeOpaqueRecord(dest, p.opaque);
    await sealUnpacked(p.tmp, dest);
    await rename(p.tmp, dest).catch(async (e: NodeJS.ErrnoException) => {
      if (e.code !== "ENOTEMPTY" && e.code !== "EEXIST") throw e;
      // Another minic unpacked it first; this one's seal may have replaced that one's: seal the
      // tree in place again (just made by that minic) unless its own seal is in place.
      await rm(p.tmp, { recursive: true, force: true });
      // That tree is another minic's (perhaps an older one's): sealed without vouching for its form.
      if (unpackedProblem(dest) !== undefined) await sealUnpacked(dest, dest, false);
    });
  } catch (e) {
    await rm(p.tmp, { recursive: true, force: true });
    throw e;
  }
  return dest;
}

/**
 * The directory holding the layer unpacked in overlayfs form (whiteouts as 0/0 devices), or in
 * another form at another `dest` (the runtime keeps an aufs form with `.wh.` files beside it).
 * Unpacked once per store, in one read of its blob (decompressed once, hashed and unpacked into
 * a temp dir, see unpackToTemp), sealed (store/unpacked-seal.ts) and renamed into place once
 * both digests matched; later calls reuse it while it matches its seal. One that was changed
 * since (or has no seal) is moved away and unpacked again, and `note` is told why.
 */
export async function unpackedLayer(store: Store, layer: LayerDescriptor, opts: UnpackOptions = TRUSTED, dest = store.layout.unpacked(layer.diffId), note?: (line: string) => void): Promise<string> {
  const target = { opts, dest };
  if (await isUnpacked(store, layer, target, note)) return dest;
  const p = await unpackToTemp(layerMembers(store, layer), layer, target, tempName(store.layout.tmpDir, "unpack"));
  return placeUnpacked(store, p);
}

/**
 * unpackedLayer for every layer of an image (base first; the dirs come back in that order),
 * those not unpacked yet unpacked side by side, as many at once as the machine has cores: each
 * one's decompressor is a process of its own, and one layer's writes overlap the others'
 * decompression.
 */
export async function unpackedLayers(store: Store, layers: readonly LayerDescriptor[], targetOf: (l: LayerDescriptor) => UnpackTarget, note?: (line: string) => void): Promise<string[]> {
  return mapLimit(layers, availableParallelism(), (l) => {
    const t = targetOf(l);
    return unpackedLayer(store, l, t.opts, t.dest, note);
  });
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

