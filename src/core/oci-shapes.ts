// Pure: the shapes of the OCI and docker documents minic reads (index, manifest, image config,
// a docker-archive's manifest.json), checked before any of their members is used. Members minic
// does not read may be anything; those it reads must have their type (docker's nulls included).
import { arrayOf, bool, digest, int, literal, nullable, object, optional, recordOf, str, type ShapeOf } from "./json-shape.js";

const annotations = optional(recordOf(str()));

/** A content descriptor (an index entry, a manifest's config or layer). */
export const DESCRIPTOR_SHAPE = object({
  mediaType: str(),
  digest,
  size: int(),
  annotations,
  platform: optional(object({ architecture: str(), os: str(), variant: optional(str()) })),
  artifactType: optional(str()),
});

/** An OCI image index or docker manifest list. */
export const OCI_INDEX_SHAPE = object({ schemaVersion: literal(2), mediaType: optional(str()), manifests: arrayOf(DESCRIPTOR_SHAPE), annotations });

/** An OCI image manifest or docker v2 schema 2 manifest. */
export const OCI_MANIFEST_SHAPE = object({
  schemaVersion: literal(2),
  mediaType: optional(str()),
  artifactType: optional(str()),
  config: DESCRIPTOR_SHAPE,
  layers: arrayOf(DESCRIPTOR_SHAPE),
  annotations,
});

const strings = optional(nullable(arrayOf(str())));

/** The part of an OCI / docker image config minic maps. */
export const OCI_CONFIG_SHAPE = object({
  created: optional(str()),
  architecture: str(),
  os: str(),
  config: optional(nullable(object({
    User: optional(str()),
    Env: strings,
    Entrypoint: strings,
    Cmd: strings,
    WorkingDir: optional(str()),
    Labels: optional(nullable(recordOf(str()))),
    Hostname: optional(str()),
    ExposedPorts: optional(nullable(recordOf(object({})))),
    Volumes: optional(nullable(recordOf(object({})))),
    StopSignal: optional(str()),
    Healthcheck: optional(nullable(object({ Test: strings }))),
    Shell: strings,
    OnBuild: strings,
  }))),
  rootfs: object({ type: str(), diff_ids: arrayOf(digest) }),
  history: optional(nullable(arrayOf(object({
    created: optional(str()),
    created_by: optional(str()),
    comment: optional(str()),
    empty_layer: optional(bool),
  })))),
});

/** A docker-archive's manifest.json: one entry per image, paths relative to the tar's root. */
export const DOCKER_ARCHIVE_SHAPE = arrayOf(object({ Config: str(), RepoTags: optional(nullable(arrayOf(str()))), Layers: arrayOf(str()) }));

export type DescriptorDoc = ShapeOf<typeof DESCRIPTOR_SHAPE>;
export type OciIndexDoc = ShapeOf<typeof OCI_INDEX_SHAPE>;
export type OciManifestDoc = ShapeOf<typeof OCI_MANIFEST_SHAPE>;
export type OciConfigDoc = ShapeOf<typeof OCI_CONFIG_SHAPE>;
export type DockerArchiveDoc = ShapeOf<typeof DOCKER_ARCHIVE_SHAPE>;
