// Pure: the OCI image-spec and docker-archive shapes minic reads and writes, and their media types.
import { MinicError, type ErrorCode } from "../core/errors.js";
import type { Digest } from "../core/digest.js";
import type { DescriptorDoc, DockerArchiveDoc, OciConfigDoc, OciIndexDoc, OciManifestDoc } from "../core/oci-shapes.js";

export const OCI_LAYOUT_VERSION = "1.0.0";
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
export const OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar";
export const OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
export const OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd";
export const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
export const DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
export const DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
export const DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip";
export const DOCKER_LAYER_TAR = "application/vnd.docker.image.rootfs.diff.tar";

/** The annotation that names an image in an OCI layout's index.json. */
export const REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name";
/** artifactType of the manifest that carries a minic image unchanged through a registry. */
export const MINIC_ARTIFACT_TYPE = "application/vnd.minic.image.v1";
/**
 * The platform of that manifest's entry in a pushed index: "unknown/unknown", so that no runtime
 * selects it. containerd (ctr pull, the CRI plugin Kubernetes uses) and containers/image (podman,
 * CRI-O) keep an index entry only when its os and architecture equal the wanted ones, and keep an
 * entry without a platform always (containerd then fetches its blobs too, and warns about their
 * media type). BuildKit marks its attestation manifests the same way for the same reason; the
 * image-spec asks (SHOULD, not MUST) for GOOS/GOARCH values, and every real one would make a
 * runtime of that platform take the minic image.
 */
export const MINIC_ENTRY_PLATFORM = { architecture: "unknown", os: "unknown" } as const;
/** Annotation on that manifest: the minic manifest's canonical JSON, byte for byte. */
export const MINIC_MANIFEST_ANNOTATION = "io.minic.manifest";
/** Labels that carry the minic run settings OCI has no field for. */
export const HOSTNAME_LABEL = "io.minic.hostname";
export const LIMITS_LABEL = "io.minic.limits";

/** Manifest media types a registry GET asks for, most preferred first. */
export const ACCEPTED_MANIFESTS = [OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST];

/** Layer media types minic can convert into its own layers. */
export const CONVERTIBLE_LAYERS = new Set([OCI_LAYER_TAR, OCI_LAYER_GZIP, OCI_LAYER_ZSTD, DOCKER_LAYER_GZIP, DOCKER_LAYER_TAR]);

/**
 * Throws (with `code`) unless an OCI/docker manifest is a container image minic can convert: its
 * config an image config (an OCI artifact, a Helm chart say, has a config of its own type) and
 * every layer a tar. load and pull alike, before any layer is read.
 */
export function checkConvertible(m: { config: { mediaType?: string }; layers: readonly { mediaType?: string }[] }, code: ErrorCode): void {
  const cfg = m.config.mediaType;
  if (cfg !== undefined && cfg !== OCI_CONFIG && cfg !== DOCKER_CONFIG) {
    throw new MinicError(code, `not a container image: its config is of type '${cfg}' (an OCI artifact)`, { hint: "minic takes images whose config is an OCI or docker image config" });
  }
  const bad = m.layers.find((l) => l.mediaType === undefined || !CONVERTIBLE_LAYERS.has(l.mediaType));
  if (bad) throw new MinicError(code, `layer type '${bad.mediaType}' cannot be converted`, { hint: "minic converts tar, tar+gzip and tar+zstd layers" });
}

/** The shapes are checked where documents are read (core/oci-shapes.ts); these are their types. */
export type Descriptor = DescriptorDoc;
export type Platform = NonNullable<Descriptor["platform"]>;
export type OciIndex = OciIndexDoc;
export type OciManifest = OciManifestDoc;
/** The part of an OCI / docker image config minic maps (other fields are ignored). */
export type OciConfig = OciConfigDoc;
/** One image of a docker-archive `manifest.json`. Paths are relative to the tar's root. */
export type DockerArchiveEntry = DockerArchiveDoc[number];

/** Path of a blob inside an OCI layout. */
export function blobPath(d: Digest): string {
  return `blobs/sha256/${d.slice("sha256:".length)}`;
}

/** The digest a layout path names (`blobs/sha256/<hex>`), or undefined. */
export function digestOfBlobPath(p: string): Digest | undefined {
  const m = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(p);
  return m ? (`sha256:${m[1]}` as Digest) : undefined;
}

/** True for a manifest media type that lists other manifests. */
export function isIndexType(mediaType: string | undefined): boolean {
  return mediaType === OCI_INDEX || mediaType === DOCKER_LIST;
}
