// minic image → OCI image: tar+gzip (or tar+zstd) layers converted from the cpio layers, an OCI config and
// manifest. Shared by `save --format oci` and `push`. Layer files go to a scratch directory.
import { join } from "node:path";
import { canonicalJson, sha256, type Digest } from "../core/digest.js";
import type { StoredImage, Store } from "../store/store.js";
import { layerMembers } from "../store/layers.js";
import { writeTarLayer, type LayerCompression, type TarLayerFile } from "./layer-to-tar.js";
import { toOciConfig } from "./oci-config.js";
import { OCI_CONFIG, OCI_LAYER_GZIP, OCI_LAYER_ZSTD, OCI_MANIFEST, type Descriptor, type OciManifest } from "./oci-model.js";

/** An OCI image ready to write: JSON blobs in memory, layer blobs as files. */
export interface OciImage {
  manifest: Buffer;
  manifestDigest: Digest;
  config: Buffer;
  configDigest: Digest;
  layers: TarLayerFile[];
  /** Descriptor for an index (with platform). */
  descriptor: Descriptor;
}

/**
 * Converts a stored image. `cache` maps minic layer digests to converted files so images that
 * share layers convert them once. Deterministic: same image, same OCI digests.
 */
export async function toOciImage(store: Store, image: StoredImage, scratch: string, cache: Map<Digest, TarLayerFile>, compression: LayerCompression = "gzip"): Promise<OciImage> {
  const layers: TarLayerFile[] = [];
  for (const l of image.manifest.layers) {
    let f = cache.get(l.digest);
    if (!f) {
      f = await writeTarLayer(layerMembers(store, l), join(scratch, `layer-${l.digest.slice(7)}.tar.${compression === "gzip" ? "gz" : "zst"}`), compression);
      cache.set(l.digest, f);
    }
    layers.push(f);
  }
  const config = Buffer.from(canonicalJson(toOciConfig(image.config, layers.map((l) => l.diffId))));
  const configDigest = sha256(config);
  const m: OciManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, digest: configDigest, size: config.length },
    layers: layers.map((l) => ({ mediaType: compression === "gzip" ? OCI_LAYER_GZIP : OCI_LAYER_ZSTD, digest: l.digest, size: l.size })),
  };
  const manifest = Buffer.from(canonicalJson(m));
  const manifestDigest = sha256(manifest);
  return {
    manifest,
    manifestDigest,
    config,
    configDigest,
    layers,
    descriptor: { mediaType: OCI_MANIFEST, digest: manifestDigest, size: manifest.length, platform: { architecture: image.config.architecture, os: image.config.os } },
  };
}
