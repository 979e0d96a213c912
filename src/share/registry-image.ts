// How a minic image travels through an OCI registry unchanged: an OCI manifest with
// artifactType application/vnd.minic.image.v1 whose config and layers are minic's own blobs and
// whose annotation holds the minic manifest's canonical JSON (registries accept only OCI/docker
// manifest types, so the minic manifest cannot be pushed as a manifest itself).
import { canonicalJson, sha256 } from "../core/digest.js";
import { MinicError } from "../core/errors.js";
import { CONFIG_MEDIA_TYPE, foreignArchNote, type Manifest } from "../core/image.js";
import { hostArchitecture } from "../store/images.js";
import { intakeMinic, type IntakeResult } from "./image-intake.js";
import { MANIFEST_SHAPE } from "../core/image-shapes.js";
import { parseShaped } from "../core/json-shape.js";
import type { MemberPolicy } from "./member-policy.js";
import { MINIC_ARTIFACT_TYPE, MINIC_ENTRY_PLATFORM, MINIC_MANIFEST_ANNOTATION, OCI_MANIFEST, type Descriptor, type OciIndex, type OciManifest } from "./oci-model.js";
import type { BlobStaging } from "./staging.js";

/** Pure: the registry manifest that carries `manifest` (whose stored bytes are `json`). */
export function wrapMinicManifest(manifest: Manifest, json: string): OciManifest {
  return {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: MINIC_ARTIFACT_TYPE,
    config: { mediaType: manifest.config.mediaType, digest: manifest.config.digest, size: manifest.config.size },
    layers: manifest.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    annotations: { [MINIC_MANIFEST_ANNOTATION]: json },
  };
}

/**
 * Pure: the minic manifest inside a wrapper, checked against the wrapper's descriptors (which the
 * registry and the digest checks vouch for). Throws EINPUT when they disagree.
 */
export function unwrapMinicManifest(w: OciManifest): { manifest: Manifest; json: string } {
  const json = w.annotations?.[MINIC_MANIFEST_ANNOTATION];
  if (typeof json !== "string") throw new MinicError("EINPUT", "minic image manifest lacks its minic manifest annotation", { hint: "the manifest was changed after minic pushed it; push the image again, or pull its OCI form (--format oci)" });
  const manifest = parseShaped(MANIFEST_SHAPE, json, "the minic manifest annotation", "the image is malformed; nothing was stored");
  const same = (a: { digest: string; size: number; mediaType: string }, b: Descriptor | undefined) => b !== undefined && a.digest === b.digest && a.size === b.size && a.mediaType === b.mediaType;
  if (canonicalJson(manifest) !== json || !same(manifest.config, w.config) || manifest.layers.length !== w.layers.length || !manifest.layers.every((l, i) => same(l, w.layers[i]))) {
    throw new MinicError("EINPUT", "minic manifest annotation does not match the blobs it travels with", { hint: "the image was tampered with" });
  }
  return { manifest, json };
}

/** Stages the minic manifest carried by a wrapper whose blobs are staged, then checks the image. */
export async function intakeWrapper(staging: BlobStaging, w: OciManifest, policy: MemberPolicy): Promise<IntakeResult> {
  const { json } = unwrapMinicManifest(w);
  const info = await staging.putBytes(json, sha256(json));
  return intakeMinic(staging, info.digest, policy);
}

/** True for an index entry (or manifest) that says it carries a minic image. */
export function isMinicEntry(d: Descriptor): boolean {
  return d.artifactType === MINIC_ARTIFACT_TYPE;
}

/**
 * True for a manifest that carries a minic image: by its artifactType or, failing that, its
 * config's media type (image-spec: artifactType falls back to config.mediaType; `skopeo copy`
 * drops an index entry's artifactType, and other copies may drop the manifest's).
 */
export function isMinicManifest(m: OciManifest): boolean {
  return m.artifactType === MINIC_ARTIFACT_TYPE || m.config.mediaType === CONFIG_MEDIA_TYPE;
}

/** Which manifest of an index minic uses, and why (for the user). */
export interface ChosenManifest {
  descriptor: Descriptor;
  /** "minic image", or the platform taken ("linux/amd64"), or "the one entry without a platform". */
  what: string;
}

/**
 * Which manifest of an index minic uses: the minic image if there is one (no conversion, same
 * digests), else the linux image for this host's architecture, else the one entry without a
 * platform. An entry without a platform or with minic's unknown/unknown may be a minic image whose
 * artifactType a copy dropped: `read` fetches such entries' manifests (small JSON) to find out.
 */
export async function chooseManifest(index: OciIndex, read: (d: Descriptor) => Promise<OciManifest>, arch = hostArchitecture()): Promise<ChosenManifest> {
  const all = Array.isArray(index.manifests) ? index.manifests : [];
  const minic = all.find(isMinicEntry);
  if (minic) return { descriptor: minic, what: "minic image" };
  const unlabelled = all.filter((d) => (!d.platform || isMinicEntryPlatform(d.platform)) && d.mediaType === OCI_MANIFEST);
  for (const d of unlabelled) if (isMinicManifest(await read(d))) return { descriptor: d, what: "minic image" };
  const linux = all.filter((d) => d.platform?.os === "linux" && d.platform.architecture === arch);
  if (linux.length > 0) return { descriptor: linux[0]!, what: platformName(linux[0]!.platform!) };
  const bare = all.filter((d) => !d.platform);
  if (bare.length === 1) return { descriptor: bare[0]!, what: "the one entry without a platform" };
  const offered = [...new Set(all.map((d) => (d.platform ? platformName(d.platform) : "none")))].join(", ");
  throw new MinicError("EINPUT", `no image for linux/${arch} among ${all.length} manifest(s) (platforms: ${offered || "none"})`, { hint: "the image was not built for this platform" });
}

/** Pure: true for the platform a minic entry of a pushed index has (unknown/unknown). */
export function isMinicEntryPlatform(p: NonNullable<Descriptor["platform"]>): boolean {
  return p.os === MINIC_ENTRY_PLATFORM.os && p.architecture === MINIC_ENTRY_PLATFORM.architecture;
}

/** Pure: "linux/arm64/v8". */
export function platformName(p: NonNullable<Descriptor["platform"]>): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join("/");
}

/**
 * A note when an image's config says it is for another architecture than this host's (a single
 * manifest has no index to choose from), or undefined.
 */
export function foreignConfigNote(config: { architecture?: string }, arch = hostArchitecture()): string | undefined {
  const note = foreignArchNote(config.architecture, arch);
  return note && `the image ${note}`;
}
