// Pure: the shapes of minic's own records in the store (build cache records, the digests of
// copied files, verified blobs, unpacked-layer seals, container state, the build's compile,
// type-check and glob records). A record that does not fit is dropped (or, for a container,
// not trusted): these records are minic's memory, never a reason to crash.
import { LAYER_SHAPE } from "./image-shapes.js";
import { arrayOf, bool, digest, int, literal, nullable, object, oneOf, optional, recordOf, str } from "./json-shape.js";

/** What a build cache record remembers of one copy input (a bare digest in older records). */
const INPUT_RECORD_SHAPE = oneOf("a digest or an input record", digest, object({
  kind: oneOf("file, symlink or dir", literal("file"), literal("symlink"), literal("dir")),
  digest,
  executable: bool,
  linkOf: optional(str()),
  xattrs: optional(digest),
}));

/** A build cache record: cache key → layer, with what --explain needs. */
export const CACHE_RECORD_SHAPE = object({
  key: digest,
  parts: object({ format: int(), epoch: int(), base: arrayOf(digest), steps: arrayOf(digest) }),
  layer: nullable(LAYER_SHAPE),
  recipe: object({ name: str(), file: str() }),
  inputs: recordOf(recordOf(INPUT_RECORD_SHAPE)),
  steps: arrayOf(str()),
});

/**
 * The remembered digests of copied host files: path → identity, digest and the digest of its
 * carried xattrs (null: none; absent: not read yet, as in records of an older minic).
 */
export const DIGEST_CACHE_SHAPE = object({ version: literal(2), files: recordOf(object({ id: str(), digest, xattrs: optional(nullable(digest)) })) });

/** The blobs found intact, and how each looked then: digest → identity. */
export const VERIFIED_BLOBS_SHAPE = object({ version: literal(1), blobs: recordOf(str()) });

/** A name minic build set (builder/base-tags.ts): the manifest and the recipe file that made it. */
export const TAG_RECORD_SHAPE = object({ ref: str(), manifest: digest, recipe: str() });

/** A container's state file (see runtime/state.ts ContainerState). */
export const CONTAINER_STATE_SHAPE = object({
  id: str(),
  name: str(),
  image: str(),
  manifestDigest: str(),
  command: arrayOf(str()),
  driver: str(),
  runtime: str(),
  net: str(),
  created: str(),
  minicPid: int(1),
  minicStart: str(),
  pid: optional(int(1)),
  pidStart: optional(str()),
  cgroups: arrayOf(str()),
  scope: optional(object({ unit: str(), dir: str() })),
  netns: optional(str()),
  veths: arrayOf(str()),
  address: optional(str()),
  ports: arrayOf(str()),
  build: optional(object({ recipe: str(), step: int(1) })),
  stopTimeoutMs: optional(int(0)),
});

/** A compiled recipe's index record (builder/compile-recipe.ts). */
export const RECIPE_INDEX_SHAPE = object({ out: str(), deps: arrayOf(str()), depOuts: arrayOf(str()), path: str(), sourceHash: str() });

/** A passed type-check: file → sha256 hex (builder/typecheck.ts). */
export const TYPECHECK_RECORD_SHAPE = object({ files: recordOf(str()) });

/** A glob's matches and the directories they depend on (builder/glob-cache.ts). */
export const GLOB_RECORD_SHAPE = object({ dirs: arrayOf(arrayOf(str(), 2)), matches: arrayOf(str()) });

/** The seal of an unpacked layer (store/unpacked-seal.ts). */
export const UNPACKED_SEAL_SHAPE = object({
  version: literal(1),
  /** The layer directory itself: `ino:mtimeMs`. */
  root: str(),
  /** Directories and non-symlink entries, in walk order: [relative name, `ino:size:ctimeMs`]. */
  entries: arrayOf(arrayOf(str(), 2)),
  /** The opaque record's text, or null when the layer has none. */
  opaque: nullable(str()),
  /**
   * Set by a minic whose every unpack checks the layer's form (canonical-check.ts): the blob is
   * one canonical archive, so export may copy it as it is. Absent in an older minic's seal.
   */
  form: optional(literal(true)),
});

/** An unpacked layer's opaque directories (store/opaque-record.ts). */
export const OPAQUE_RECORD_SHAPE = arrayOf(str());

