// Pure: the shapes of minic's image documents (manifest and config), checked whenever one is
// read: from the store, from a tarball or from a registry.
import { CONFIG_MEDIA_TYPE, LAYER_MEDIA_TYPE, MANIFEST_MEDIA_TYPE, type ImageConfig, type Manifest } from "./image.js";
import { arrayOf, bool, digest, int, literal, matching, num, object, optional, recordOf, str, type Shape } from "./json-shape.js";

/** A layer of a minic manifest. */
export const LAYER_SHAPE = object({ mediaType: literal(LAYER_MEDIA_TYPE), digest, size: int(), diffId: digest });

/** A minic manifest. */
export const MANIFEST_SHAPE: Shape<Manifest> = object({
  schemaVersion: literal(1),
  mediaType: literal(MANIFEST_MEDIA_TYPE),
  config: object({ mediaType: literal(CONFIG_MEDIA_TYPE), digest, size: int() }),
  layers: arrayOf(LAYER_SHAPE),
});

const strings = arrayOf(str());

/** Run limits as minic stores them (parsed: bytes, CPUs, a CPU list, a pid count). */
export const LIMITS_SHAPE = object({
  memoryBytes: optional(int(1)),
  cpus: optional(num(0)),
  cpuset: optional(matching(/^\d+(-\d+)?(,\d+(-\d+)?)*$/, "a CPU list such as 0-1")),
  pids: optional(int(1)),
});

/** OCI config fields minic keeps (OciExtras): checked as OCI's config defines them. */
export const OCI_EXTRAS_SHAPE = object({
  ExposedPorts: optional(recordOf(object({}))),
  Volumes: optional(recordOf(object({}))),
  StopSignal: optional(str()),
  Healthcheck: optional(object({ Test: optional(strings) })),
  Shell: optional(strings),
  OnBuild: optional(strings),
  Hostname: optional(str()),
});

/** A minic image config. */
export const CONFIG_SHAPE: Shape<ImageConfig> = object({
  schemaVersion: literal(1),
  architecture: str(),
  os: literal("linux"),
  created: str(),
  config: object({
    cmd: strings,
    entrypoint: strings,
    env: strings,
    workdir: str(),
    user: str(),
    hostname: str(),
    limits: LIMITS_SHAPE,
    labels: recordOf(str()),
    oci: optional(OCI_EXTRAS_SHAPE),
  }),
  rootfs: object({ type: literal("layers"), diffIds: arrayOf(digest) }),
  history: arrayOf(object({ createdBy: str(), recipeDigest: optional(digest), empty: optional(bool) })),
});
