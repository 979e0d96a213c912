// Turns staged blobs into a minic image, in the staging area, ready to commit. Two ways in:
// - a minic manifest (from a minic tarball or registry): every layer is read once to check its
//   diff id and run the member policy; the blobs are kept as they are (same digests);
// - an OCI/docker image: each tar layer is checked against its diff_id, its members go through
//   the member policy, and it is repacked as a canonical minic layer.
import { createHash } from "node:crypto";
import { rm } from "node:fs/promises";
import { canonicalJson, isDigest, type Digest } from "../core/digest.js";
import { CONFIG_SHAPE, MANIFEST_SHAPE } from "../core/image-shapes.js";
import { MinicError } from "../core/errors.js";
import { NEWC_FIELD_MAX } from "../archive/cpio-newc.js";
import type { LayerDescriptor } from "../core/image.js";
import { availableParallelism } from "node:os";
import { mapLimit } from "../util/map-limit.js";
import type { Store } from "../store/store.js";
import { makeImage, sourceDateEpoch } from "../store/images.js";
import type { MemberPolicy } from "./member-policy.js";
import { plainStream } from "./compression.js";
import { fromOciConfig } from "./oci-config.js";
import type { OciConfig } from "./oci-model.js";
import { isUnpacked, overlayTarget, packUnpacked, placeUnpacked, type PendingUnpack } from "../store/layers.js";
import { readMinicLayer } from "./minic-layer-read.js";
import type { BlobStaging } from "./staging.js";
import { readTarMembers } from "./tar-members.js";
import { emptyReport, TreeCollector, type CollectReport } from "./tree-collector.js";

/** An image assembled in staging: commit `blobs` in order, then point a ref at `manifestDigest`. */
export interface IntakeResult {
  manifestDigest: Digest;
  blobs: Digest[];
  /** What the member policy changed (summed over layers). */
  report: CollectReport;
  /** Layers unpacked in the same read as their check, to put in place once `blobs` are committed (placeIntake). */
  unpacked: PendingUnpack[];
}

/**
 * Puts the layers an intake unpacked in place (see placeUnpacked), after its blobs were
 * committed and before its image is named; held first, so a gc cannot take them meanwhile.
 */
export async function placeIntake(store: Store, result: IntakeResult): Promise<void> {
  await store.hold({ layers: result.unpacked.map((p) => p.layer.diffId) });
  for (const p of result.unpacked) await placeUnpacked(store, p);
}

/**
 * Checks a minic manifest whose blobs are staged: shape, config digest, and every layer (blob
 * digest, diff id, member policy). Throws EDIGEST / EARCHIVE / EINPUT; stages nothing new.
 */
export async function intakeMinic(staging: BlobStaging, manifestDigest: Digest, policy: MemberPolicy): Promise<IntakeResult> {
  const manifest = await staging.readJson(manifestDigest, MANIFEST_SHAPE, "minic manifest");
  const config = await staging.readJson(manifest.config.digest, CONFIG_SHAPE, "minic image config");
  if (staging.size(manifest.config.digest) !== manifest.config.size) throw new MinicError("EDIGEST", "config size does not match the manifest", { hint: "the image was changed after it was made; fetch or save it again" });
  const diffIds = config.rootfs?.diffIds ?? [];
  if (diffIds.length !== manifest.layers.length || diffIds.some((d, i) => d !== manifest.layers[i]!.diffId)) {
    throw new MinicError("EINPUT", "the image config and manifest disagree about the layers", { hint: "the archive is corrupt" });
  }
  const report = emptyReport();
  for (const l of manifest.layers) {
    if (staging.size(l.digest) !== l.size) {
      throw new MinicError("EDIGEST", `layer ${l.digest.slice(0, 19)}… is ${staging.size(l.digest)} bytes, not the ${l.size} its manifest says`, { hint: "the archive is truncated or corrupt: save or copy it again; nothing was stored" });
    }
  }
  // Side by side, as many as the machine has cores: each decompressor is a process of its own.
  const unpacked = (await mapLimit(manifest.layers, availableParallelism(), (l) => checkMinicLayer(staging, l, policy))).filter((p) => p !== undefined);
  return { manifestDigest, blobs: [...manifest.layers.map((l) => l.digest), manifest.config.digest, manifestDigest], report, unpacked };
}

/**
 * Reads a staged minic layer once: its blob digest and diff id must match, and every member must
 * pass the policy unchanged. In the same read, unless the store has it unpacked already, it is
 * unpacked into a temp dir of the staging area (decompressed once, the cpio hashed as it is
 * unpacked): returned, to be put in place (placeUnpacked) once the blobs are committed. A layer
 * that putLayer read while it was staged is not read again: what that read found is checked. On
 * a mismatch the temp dir is removed before the error is thrown, so none of its files is ever
 * in unpacked/.
 */
async function checkMinicLayer(staging: BlobStaging, layer: LayerDescriptor, policy: MemberPolicy): Promise<PendingUnpack | undefined> {
  const target = overlayTarget(staging.store, layer);
  const what = `${layer.digest.slice(0, 19)}…`;
  const read = (await staging.takeLayerRead(layer.digest))
    ?? (await readMinicLayer(staging.open(layer.digest), policy, what, (await isUnpacked(staging.store, layer, target)) ? undefined : staging.tempPath("unpack")));
  if (read.diffId !== layer.diffId) {
    if (read.tmp) await rm(read.tmp, { recursive: true, force: true });
    throw new MinicError("EDIGEST", `layer ${what} unpacks to diff id ${read.diffId.slice(0, 19)}…, not ${layer.diffId.slice(0, 19)}…`, { hint: "the archive is corrupt or was tampered with; nothing was stored" });
  }
  return read.tmp === undefined ? undefined : { layer, tmp: read.tmp, target, opaque: read.opaque };
}

/** Where the compressed (or plain) bytes of layer i of an OCI/docker image come from. */
export type LayerOpener = (index: number) => AsyncIterable<Buffer>;

/**
 * Converts an OCI/docker image whose blobs are staged into a minic image in staging. Each layer's
 * uncompressed bytes must hash to the config's diff_id. Files keep the layer's mtimes (newc
 * holds 0 to 2^32 - 1 s): they are the input's, so the conversion is a function of it. Only a
 * layer minic packs from a host tree clamps them (to SOURCE_DATE_EPOCH), and an image built
 * with SOURCE_DATE_EPOCH (BuildKit's) has a `created` older than files it did not touch.
 */
export async function intakeOci(staging: BlobStaging, oci: OciConfig, layerCount: number, openLayer: LayerOpener, policy: MemberPolicy): Promise<IntakeResult> {
  const diffIds = oci.rootfs?.diff_ids ?? [];
  if (!Array.isArray(diffIds) || diffIds.length !== layerCount || !diffIds.every(isDigest)) {
    throw new MinicError("EINPUT", `image config lists ${Array.isArray(diffIds) ? diffIds.length : 0} diff ids for ${layerCount} layers`, { hint: "the image is corrupt" });
  }
  const mapped = fromOciConfig(oci, layerCount);
  const epoch = mapped.created ?? sourceDateEpoch();
  const report = emptyReport();
  // Side by side, as many as the machine has cores (each layer's decompressor and compressor are
  // processes of their own); results in layer order, the lowest layer's error if any fails.
  const converted = await mapLimit(Array.from({ length: layerCount }, (_, i) => i), availableParallelism(), async (i) => {
    const scratch = await staging.scratch();
    try {
      const collector = new TreeCollector(scratch, policy);
      const diff = createHash("sha256");
      const expected = diffIds[i]!;
      async function* checked(src: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
        for await (const c of src) {
          diff.update(c);
          yield c;
        }
        const got = `sha256:${diff.digest("hex")}`;
        if (got !== expected) {
          throw new MinicError("EDIGEST", `layer ${i + 1} unpacks to diff id ${got.slice(0, 19)}…, not ${expected.slice(0, 19)}…`, { hint: "the archive is corrupt or was tampered with; nothing was stored" });
        }
      }
      for await (const m of readTarMembers(checked(await plainStream(openLayer(i), `layer ${i + 1}`)), { verified: true })) await collector.add(m);
      for (const k of Object.keys(report) as (keyof CollectReport)[]) report[k] += collector.report[k];
      return await packUnpacked(staging.store, collector.finish(epoch, false), NEWC_FIELD_MAX, (s) => staging.put(s), staging.tempPath("unpack"));
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });
  const layers = converted.map((c) => c.layer);
  const unpacked = converted.map((c) => c.pending);
  const { config, manifest } = makeImage(layers, mapped.run, mapped.history, epoch, mapped.architecture);
  const c = await staging.putBytes(canonicalJson(config));
  const m = await staging.putBytes(canonicalJson(manifest));
  if (c.digest !== manifest.config.digest) throw new MinicError("ESTORE", "config digest mismatch (internal error)");
  return { manifestDigest: m.digest, blobs: [...layers.map((l) => l.digest), c.digest, m.digest], report, unpacked };
}

/** One line saying what the policy changed, or "" when nothing. */
export function describeReport(r: CollectReport): string {
  const parts: string[] = [];
  if (r["dropped-device"]) parts.push(`dropped ${r["dropped-device"]} device node(s) (--keep-devices keeps them)`);
  if (r["cleared-setuid"]) parts.push(`cleared setuid/setgid on ${r["cleared-setuid"]} file(s) (--keep-setuid keeps them)`);
  if (r["skipped-socket"]) parts.push(`skipped ${r["skipped-socket"]} socket(s)`);
  if (r["skipped-root-opaque"]) parts.push("skipped the opaque marker at the root (.wh..wh..opq: it hides nothing there)");
  if (r["skipped-aufs-meta"]) parts.push(`skipped ${r["skipped-aufs-meta"]} aufs metadata entr${r["skipped-aufs-meta"] === 1 ? "y" : "ies"} (.wh..wh.aufs, .wh..wh.plnk, .wh..wh.orph: not files of the image)`);
  if (r["dropped-xattrs"]) {
    parts.push(`dropped extended attributes of ${r["dropped-xattrs"]} member(s) that minic layers do not carry (security.selinux and other security labels, system.* ACLs, trusted.*, any on a symlink, fifo or device node, where Linux allows no user.*; kept: security.capability and user.* of files and directories)`);
  }
  return parts.join("; ");
}
