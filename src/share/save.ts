// minic save: images → one tar. Two shapes, both OCI image layouts (oci-layout, index.json,
// blobs/sha256/…):
// - "minic": the index names minic manifests; blobs are the store's own (cpio+bzip2 layers), so
//   the tarball carries images between minic stores with identical digests;
// - "oci": the index names OCI manifests with tar+gzip layers converted from the cpio layers,
//   plus a docker-archive manifest.json over the same blobs, for skopeo, umoci, podman, docker.
import { createReadStream } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import type { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";
import type { Digest } from "../core/digest.js";
import { formatRef, withLocalhost, type ImageRef } from "../core/reference.js";
import { MANIFEST_MEDIA_TYPE } from "../core/image.js";
import { tempName } from "../store/atomic.js";
import type { StoredImage, Store } from "../store/store.js";
import { toOciImage } from "./oci-convert.js";
import type { TarLayerFile } from "./layer-to-tar.js";
import {
  blobPath, OCI_INDEX, OCI_LAYOUT_VERSION, REF_NAME_ANNOTATION, type Descriptor, type DockerArchiveEntry, type OciIndex,
} from "./oci-model.js";

export type SaveFormat = "minic" | "oci";

/** An image to save and the name it carries in the tarball. */
export interface SaveItem {
  ref: ImageRef;
  image: StoredImage;
}

/** One file of the tarball: bytes in memory, a store blob, or a host file. */
type Part = { name: string; size: number } & ({ bytes: Buffer } | { blob: Digest } | { file: string });

/**
 * The name an image carries outside minic: its own when it has a registry host, else
 * `localhost/NAME:TAG` (podman's name for local images).
 */
export function externalName(ref: ImageRef): string {
  return formatRef(withLocalhost(ref));
}

/**
 * Writes the images as one tar to `out` (ends it). Blobs shared between images are written once.
 * Every store blob is read through a verifying stream, so a corrupt store fails the save.
 */
export async function saveImages(store: Store, items: readonly SaveItem[], format: SaveFormat, out: Writable): Promise<void> {
  const scratch = tempName(store.layout.tmpDir, "save");
  await mkdir(scratch, { mode: 0o700 });
  try {
    const parts = format === "minic" ? await minicParts(store, items) : await ociParts(store, items, scratch);
    await writeTar(store, parts, out);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function minicParts(store: Store, items: readonly SaveItem[]): Promise<Part[]> {
  const blobs = new Map<Digest, number>();
  const manifests: Descriptor[] = [];
  for (const { ref, image } of items) {
    for (const l of image.manifest.layers) blobs.set(l.digest, l.size);
    blobs.set(image.manifest.config.digest, image.manifest.config.size);
    const size = (await store.readBlob(image.manifestDigest)).length;
    blobs.set(image.manifestDigest, size);
    manifests.push({ mediaType: MANIFEST_MEDIA_TYPE, digest: image.manifestDigest, size, annotations: { [REF_NAME_ANNOTATION]: formatRef(ref) } });
  }
  const index: OciIndex = { schemaVersion: 2, mediaType: OCI_INDEX, manifests };
  return [
    json("oci-layout", { imageLayoutVersion: OCI_LAYOUT_VERSION }),
    ...[...blobs].map(([d, size]) => ({ name: blobPath(d), size, blob: d })),
    json("index.json", index),
  ];
}

async function ociParts(store: Store, items: readonly SaveItem[], scratch: string): Promise<Part[]> {
  const cache = new Map<Digest, TarLayerFile>();
  const parts = new Map<string, Part>();
  const manifests: Descriptor[] = [];
  const docker: DockerArchiveEntry[] = [];
  for (const { ref, image } of items) {
    const oci = await toOciImage(store, image, scratch, cache);
    for (const l of oci.layers) parts.set(blobPath(l.digest), { name: blobPath(l.digest), size: l.size, file: l.path });
    parts.set(blobPath(oci.configDigest), { name: blobPath(oci.configDigest), size: oci.config.length, bytes: oci.config });
    parts.set(blobPath(oci.manifestDigest), { name: blobPath(oci.manifestDigest), size: oci.manifest.length, bytes: oci.manifest });
    manifests.push({ ...oci.descriptor, annotations: { [REF_NAME_ANNOTATION]: externalName(ref) } });
    docker.push({ Config: blobPath(oci.configDigest), RepoTags: [externalName(ref)], Layers: oci.layers.map((l) => blobPath(l.digest)) });
  }
  return [
    json("oci-layout", { imageLayoutVersion: OCI_LAYOUT_VERSION }),
    ...parts.values(),
    json("index.json", { schemaVersion: 2, mediaType: OCI_INDEX, manifests } satisfies OciIndex),
    json("manifest.json", docker),
  ];
}

function json(name: string, value: unknown): Part {
  const bytes = Buffer.from(JSON.stringify(value));
  return { name, size: bytes.length, bytes };
}

/** Streams the parts as a deterministic tar (fixed mtime, root-owned, 0644). */
async function writeTar(store: Store, parts: readonly Part[], out: Writable): Promise<void> {
  const pack = tar.pack();
  const piped = pipeline(pack as unknown as Readable, out);
  try {
    for (const p of parts) {
      const header = { name: p.name, size: p.size, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0, type: "file" as const };
      if ("bytes" in p) {
        await new Promise<void>((res, rej) => pack.entry(header, p.bytes, (e?: Error | null) => (e ? rej(e) : res())));
        continue;
      }
      const src = "blob" in p ? store.openBlob(p.blob) : createReadStream(p.file);
      await new Promise<void>((res, rej) => {
        const sink = pack.entry(header, (e?: Error | null) => (e ? rej(e) : res()));
        src.on("error", (e: Error) => { sink.destroy(e); rej(e); });
        sink.on("error", rej); // the output went away (EPIPE) or the pack was destroyed
        src.pipe(sink as unknown as NodeJS.WritableStream);
      });
    }
    pack.finalize();
  } catch (e) {
    pack.destroy(e as Error);
    await piped.catch(() => {});
    throw e;
  }
  await piped;
}
