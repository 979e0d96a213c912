// minic load: a tar (minic or OCI image layout, or docker-archive; plain, gzip or bzip2) → images
// in the store. Every blob is staged and verified first; blobs enter the store and refs move only
// when every image of the tarball checked out. On any error the store is left as it was.
import { posix } from "node:path";
import { climbsOrNul, safeMemberName, shownName } from "../core/container-path.js";
import type { Digest } from "../core/digest.js";
import { MinicError } from "../core/errors.js";
import { MANIFEST_MEDIA_TYPE } from "../core/image.js";
import { formatRef, type ImageRef } from "../core/reference.js";
import { foreignArchiveRef, ownArchiveRef } from "./archive-name.js";
import type { Store } from "../store/store.js";
import type { MemberPolicy } from "./member-policy.js";
import { plainStream } from "./compression.js";
import { intakeMinic, intakeOci, placeIntake, type IntakeResult } from "./image-intake.js";
import { DOCKER_ARCHIVE_SHAPE, OCI_CONFIG_SHAPE, OCI_INDEX_SHAPE, OCI_MANIFEST_SHAPE } from "../core/oci-shapes.js";
import { parseShaped } from "../core/json-shape.js";
import { checkConvertible, digestOfBlobPath, DOCKER_MANIFEST, isIndexType, OCI_MANIFEST, REF_NAME_ANNOTATION, type Descriptor } from "./oci-model.js";
import { chooseManifest, intakeWrapper, isMinicManifest } from "./registry-image.js";
import { BlobStaging, MALFORMED_HINT } from "./staging.js";
import { readTarMembers } from "./tar-members.js";
import type { CollectReport } from "./tree-collector.js";
import { throwIfInterrupted } from "../util/exec.js";

export interface LoadOptions {
  /** Name for the image when the tarball holds exactly one (overrides the name inside). */
  tag?: ImageRef;
  policy: MemberPolicy;
}

export interface LoadedImage {
  /** Its names: the -t name, else every usable name the tarball gives it (podman takes every RepoTag too). */
  refs: ImageRef[];
  manifestDigest: Digest;
  /** True when the layers were converted from tar (OCI/docker); false for minic blobs kept as is. */
  converted: boolean;
  report: CollectReport;
}

const SMALL_FILE = 4 << 20;
/** Files of a layout / docker-archive read into memory; every other file is staged as a blob. */
const METADATA = new Set(["oci-layout", "index.json", "manifest.json", "repositories"]);

/** What the tar held: blobs by path (staged), small metadata files in memory, symlinks. */
interface TarContents {
  paths: Map<string, Digest>;
  small: Map<string, Buffer>;
  /** The metadata names (METADATA) met, of any size or kind: each may come once. */
  metadata: Set<string>;
  links: Map<string, string>;
}

/** Loads every image of a tarball. Idempotent: loading the same tarball twice changes nothing more. */
export async function loadTarball(store: Store, source: AsyncIterable<Buffer>, opts: LoadOptions): Promise<LoadedImage[]> {
  const staging = await BlobStaging.open(store);
  try {
    const contents = await stageTar(staging, source, opts.policy);
    const images = await intakeAll(staging, contents, opts);
    if (images.length === 0) throw new MinicError("EINPUT", "the tarball holds no image", { hint: "give a tar made by 'minic save', 'podman save' or 'skopeo copy … oci-archive:'" });
    if (opts.tag && images.length > 1) throw new MinicError("EUSAGE", `the tarball holds ${images.length} images; -t names only one`, { hint: "load without -t" });
    const out: LoadedImage[] = [];
    for (const img of images) {
      const refs = opts.tag ? [opts.tag] : img.refs;
      if (refs.length === 0 && img.unusable.length > 0) {
        const names = img.unusable.slice(0, 3).map((n) => `'${n.slice(0, 200)}'`).join(", ");
        throw new MinicError("EUSAGE", `the tarball names its image ${names}, which ${img.unusable.length > 1 ? "are not usable image names" : "is not a usable image name"}`, { hint: "give it one with -t NAME[:TAG] ([HOST[:PORT]/]PATH[:TAG], lowercase); nothing was stored" });
      }
      if (refs.length === 0) throw new MinicError("EUSAGE", "the image in the tarball has no name", { hint: "give one with -t NAME[:TAG]; nothing was stored" });
      out.push({ refs, manifestDigest: img.result.manifestDigest, converted: img.converted, report: img.result.report });
    }
    checkOneImagePerName(out);
    // A signal until here stores nothing; once the blobs are in, the names follow.
    throwIfInterrupted("the load");
    for (const img of images) await staging.commit(img.result.blobs);
    for (const img of images) await placeIntake(store, img.result);
    for (const o of out) for (const r of o.refs) await store.setRef(r, o.manifestDigest);
    return out;
  } finally {
    await staging.discard();
  }
}

async function stageTar(staging: BlobStaging, source: AsyncIterable<Buffer>, policy: MemberPolicy): Promise<TarContents> {
  const c: TarContents = { paths: new Map(), small: new Map(), links: new Map(), metadata: new Set() };
  for await (const m of readTarMembers(await plainStream(source, "tarball"))) {
    const name = safeMemberName(m.rawName);
    if (name === null) {
      for await (const _ of m.data);
      throw new MinicError("EARCHIVE", `refusing tarball member '${shownName(m.rawName)}': ${climbsOrNul(m.rawName)}`, { hint: "the tarball is hostile or corrupt; nothing was stored" });
    }
    // Tar readers differ on a name given twice (podman takes the first manifest.json, a tar
    // extraction the last): which images the tarball holds would depend on who reads it.
    if (METADATA.has(name)) {
      if (c.metadata.has(name)) {
        for await (const _ of m.data);
        throw new MinicError("EINPUT", `the tarball holds ${name} twice`, { hint: "it was made or changed by hand, or is hostile; save or export the image again; nothing was stored" });
      }
      c.metadata.add(name);
    }
    if (m.entry.kind === "symlink" || m.hardlinkTo !== undefined) {
      const target = m.hardlinkTo !== undefined ? m.hardlinkTo : posix.join(posix.dirname(name), m.entry.linkname ?? "");
      const t = safeMemberName(target);
      if (t !== null) c.links.set(name, t);
      for await (const _ of m.data);
      continue;
    }
    if (m.entry.kind !== "file") {
      for await (const _ of m.data);
      continue;
    }
    const expected = digestOfBlobPath(name);
    if (expected === undefined && METADATA.has(name) && m.entry.size <= SMALL_FILE) {
      const parts: Buffer[] = [];
      for await (const d of m.data) parts.push(Buffer.from(d));
      c.small.set(name, Buffer.concat(parts));
      continue;
    }
    // A large blob named by its digest may be a minic layer (minic save puts them before the
    // index): read as one while it is staged (see putLayer).
    const info = expected !== undefined && m.entry.size >= LAYER_SIZED ? await staging.putLayer(m.data, expected, policy) : await staging.put(m.data, expected);
    c.paths.set(name, info.digest);
  }
  return c;
}

/** Refuses two different images under one name (the last named would win, silently), as podman does. */
function checkOneImagePerName(out: readonly LoadedImage[]): void {
  const seen = new Map<string, Digest>();
  for (const o of out) {
    for (const r of o.refs) {
      const name = formatRef(r);
      const other = seen.get(name);
      if (other !== undefined && other !== o.manifestDigest) {
        throw new MinicError("EINPUT", `the tarball names two images '${name}' (${other.slice(0, 19)}… and ${o.manifestDigest.slice(0, 19)}…)`, { hint: "load one of them: make a tarball of that image alone (skopeo copy, or save it again); nothing was stored" });
      }
      seen.set(name, o.manifestDigest);
    }
  }
}

/** Blobs at least this large are read as minic layers while they are staged. */
const LAYER_SIZED = 64 << 10;

interface Found {
  refs: ImageRef[];
  /** The names the tarball gives the image that are not valid names (refs has the valid ones). */
  unusable: string[];
  converted: boolean;
  result: IntakeResult;
}

async function intakeAll(staging: BlobStaging, c: TarContents, opts: LoadOptions): Promise<Found[]> {
  const index = c.small.get("index.json");
  if (index) {
    const idx = parseShaped(OCI_INDEX_SHAPE, index.toString("utf8"), "index.json", MALFORMED_HINT);
    const out: Found[] = [];
    for (const d of idx.manifests) {
      const name = d.annotations?.[REF_NAME_ANNOTATION];
      const ref = d.mediaType === MANIFEST_MEDIA_TYPE ? ownArchiveRef(name) : foreignArchiveRef(name);
      const found = await intakeDescriptor(staging, d, ref ? [ref] : [], opts.policy);
      out.push(ref || typeof name !== "string" ? found : { ...found, unusable: [name] });
    }
    return out;
  }
  const docker = c.small.get("manifest.json");
  if (docker) {
    const entries = parseShaped(DOCKER_ARCHIVE_SHAPE, docker.toString("utf8"), "manifest.json", MALFORMED_HINT);
    const out: Found[] = [];
    for (const e of entries) {
      const cfgDigest = lookup(c, e.Config);
      const oci = await staging.readJson(cfgDigest, OCI_CONFIG_SHAPE, "image config");
      const layers = e.Layers.map((p) => lookup(c, p));
      const result = await intakeOci(staging, oci, layers.length, (i) => staging.open(layers[i]!), opts.policy);
      const tags = Array.isArray(e.RepoTags) ? e.RepoTags.filter((t): t is string => typeof t === "string") : [];
      out.push({ refs: repoTagRefs(tags), unusable: tags.filter((t) => !foreignArchiveRef(t)), converted: true, result });
    }
    return out;
  }
  throw new MinicError("EINPUT", "not an image tarball: no index.json (OCI layout) and no manifest.json (docker-archive)", { hint: "give a tar made by 'minic save', 'podman save' or 'skopeo copy … oci-archive:'" });
}

/** One entry of an OCI index: a minic manifest, an OCI/docker manifest, or a nested index. */
async function intakeDescriptor(staging: BlobStaging, d: Descriptor, refs: ImageRef[], policy: MemberPolicy): Promise<Found> {
  checkSize(staging, d);
  if (d.mediaType === MANIFEST_MEDIA_TYPE) return { refs, unusable: [], converted: false, result: await intakeMinic(staging, d.digest, policy) };
  if (isIndexType(d.mediaType)) {
    const inner = await staging.readJson(d.digest, OCI_INDEX_SHAPE, "image index");
    const chosen = await chooseManifest(inner, (e) => staging.readJson(e.digest, OCI_MANIFEST_SHAPE, "image manifest"));
    return intakeDescriptor(staging, chosen.descriptor, refs, policy);
  }
  if (d.mediaType !== OCI_MANIFEST && d.mediaType !== DOCKER_MANIFEST) {
    throw new MinicError("EINPUT", `unsupported manifest type '${d.mediaType}'`, { hint: "minic loads minic, OCI and docker v2 images" });
  }
  const m = await staging.readJson(d.digest, OCI_MANIFEST_SHAPE, "image manifest");
  for (const x of [m.config, ...m.layers]) checkSize(staging, x);
  if (isMinicManifest(m)) return { refs, unusable: [], converted: false, result: await intakeWrapper(staging, m, policy) };
  checkConvertible(m, "EINPUT");
  const oci = await staging.readJson(m.config.digest, OCI_CONFIG_SHAPE, "image config");
  const result = await intakeOci(staging, oci, m.layers.length, (i) => staging.open(m.layers[i]!.digest), policy);
  return { refs, unusable: [], converted: true, result };
}

/** A descriptor's size MUST match its blob (image-spec descriptor.md): it is what bounds a download. */
function checkSize(staging: BlobStaging, d: Descriptor): void {
  if (staging.has(d.digest) && staging.size(d.digest) !== d.size) {
    throw new MinicError("EDIGEST", `blob ${d.digest.slice(0, 19)}… has ${staging.size(d.digest)} bytes, not the ${d.size} its descriptor says`, { hint: "the archive is corrupt or was tampered with; nothing was stored" });
  }
}

function lookup(c: TarContents, path: string): Digest {
  let p = safeMemberName(path);
  for (let hops = 0; p !== null && hops < 8; hops++) {
    const d = c.paths.get(p);
    if (d) return d;
    p = c.links.get(p) ?? null;
  }
  throw new MinicError("EINPUT", `manifest.json names '${path}', which the tarball does not hold`, { hint: "the tarball is truncated or corrupt" });
}

/** The usable names among a docker-archive entry's RepoTags, each once. */
function repoTagRefs(tags: readonly string[]): ImageRef[] {
  const refs = new Map<string, ImageRef>();
  for (const t of tags) {
    const r = foreignArchiveRef(t);
    if (r) refs.set(formatRef(r), r);
  }
  return [...refs.values()];
}
