// minic push: a stored image → an OCI registry. What is sent (--format):
// - "both" (default): an OCI index whose entries are (1) the OCI image (tar+gzip layers converted
//   from the cpio layers, platform linux/ARCH) that podman, skopeo, docker and Kubernetes pull,
//   and (2) the minic image unchanged (artifactType application/vnd.minic.image.v1, platform
//   unknown/unknown, so that OCI clients never pick or fetch it), which `minic pull` prefers: same digests as the source store,
//   no conversion. Costs both layer sets in the registry, and is why it is the default: a
//   demanding user expects `podman pull` of what minic pushed to work, and minic users expect
//   identical digests after a round trip.
// - "oci": only the OCI image (minic pull converts it back; digests equal when nothing was lost).
// - "minic": only the minic image (smallest; OCI clients cannot use it).
// Blobs the repository already has (HEAD) are not uploaded again.
import { mkdir, rm } from "node:fs/promises";
import { canonicalJson, sha256, type Digest } from "../core/digest.js";
import { tempName } from "../store/atomic.js";
import type { StoredImage, Store } from "../store/store.js";
import type { LayerCompression, TarLayerFile } from "./layer-to-tar.js";
import { toOciImage } from "./oci-convert.js";
import { MINIC_ARTIFACT_TYPE, MINIC_ENTRY_PLATFORM, OCI_INDEX, OCI_MANIFEST, type Descriptor, type OciIndex } from "./oci-model.js";
import type { BlobBody, RegistryClient } from "./registry-client.js";
import { wrapMinicManifest } from "./registry-image.js";

export type PushFormat = "both" | "oci" | "minic";

export interface PushResult {
  /** Digest of what the tag points to (index or manifest). */
  digest: Digest;
  uploaded: number;
  skipped: number;
}

interface Upload {
  digest: Digest;
  size: number;
  body: BlobBody;
}

/** Pushes `image` to the client's repository under `reference` (a tag). */
export async function pushImage(store: Store, image: StoredImage, client: RegistryClient, reference: string, format: PushFormat, compression: LayerCompression = "gzip"): Promise<PushResult> {
  await client.ping();
  const scratch = tempName(store.layout.tmpDir, "push");
  await mkdir(scratch, { mode: 0o700 });
  try {
    const blobs = new Map<Digest, Upload>();
    const manifests: { bytes: Buffer; descriptor: Descriptor }[] = [];
    if (format !== "minic") {
      const oci = await toOciImage(store, image, scratch, new Map<Digest, TarLayerFile>(), compression);
      for (const l of oci.layers) blobs.set(l.digest, { digest: l.digest, size: l.size, body: { file: l.path } });
      blobs.set(oci.configDigest, { digest: oci.configDigest, size: oci.config.length, body: { bytes: oci.config } });
      manifests.push({ bytes: oci.manifest, descriptor: oci.descriptor });
    }
    if (format !== "oci") {
      const json = (await store.readBlob(image.manifestDigest)).toString("utf8");
      for (const l of image.manifest.layers) blobs.set(l.digest, { digest: l.digest, size: l.size, body: { file: store.layout.blob(l.digest) } });
      const c = image.manifest.config;
      blobs.set(c.digest, { digest: c.digest, size: c.size, body: { file: store.layout.blob(c.digest) } });
      const bytes = Buffer.from(canonicalJson(wrapMinicManifest(image.manifest, json)));
      manifests.push({ bytes, descriptor: { mediaType: OCI_MANIFEST, digest: sha256(bytes), size: bytes.length, artifactType: MINIC_ARTIFACT_TYPE, platform: { ...MINIC_ENTRY_PLATFORM } } });
    }
    let uploaded = 0;
    let skipped = 0;
    for (const b of blobs.values()) {
      if (await client.hasBlob(b.digest)) {
        skipped++;
        continue;
      }
      await client.putBlob(b.digest, b.size, b.body);
      uploaded++;
    }
    if (manifests.length === 1) {
      const digest = await client.putManifest(reference, OCI_MANIFEST, manifests[0]!.bytes);
      return { digest, uploaded, skipped };
    }
    for (const m of manifests) await client.putManifest(m.descriptor.digest, OCI_MANIFEST, m.bytes);
    const index: OciIndex = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: manifests.map((m) => m.descriptor) };
    const digest = await client.putManifest(reference, OCI_INDEX, Buffer.from(canonicalJson(index)));
    return { digest, uploaded, skipped };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
