// The content-addressed store: blobs by digest, references to manifests, build cache entries.
import { createHash } from "node:crypto";
import { createReadStream, existsSync, readFileSync } from "node:fs";
import { readdir, rename, rm, rmdir, stat, unlink } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { Readable } from "node:stream";
import { canonicalJson, isDigest, type Digest } from "../core/digest.js";
import { MinicError } from "../core/errors.js";
import { formatRef, parseRef, withLocalhost, type ImageRef } from "../core/reference.js";
import { MANIFEST_MEDIA_TYPE, type ImageConfig, type Manifest } from "../core/image.js";
import { CONFIG_SHAPE, MANIFEST_SHAPE } from "../core/image-shapes.js";
import { checkShape, parseShaped } from "../core/json-shape.js";
import { tempName, writeFileAtomic } from "./atomic.js";
import { StoreLayout } from "./layout.js";
import { prepareStoreDir } from "./store-dir.js";
import { verifyingStream } from "./verify-stream.js";
import { hashWrite, type ByteSource } from "./hash-write.js";
import { Lease, waitForGc, type Held } from "./lease.js";

/** What to do about an image whose blobs are damaged or missing. */
export const DAMAGED_HINT = "the store is damaged: build, load or pull the image again ('minic fsck' lists what is damaged and repairs what it can)";

export interface BlobInfo {
  digest: Digest;
  size: number;
}

/** An entry of refs/ that is not a reference (see scanRefs); `entry` is relative to the store, `why` a phrase. */
export interface BadRef {
  entry: string;
  why: string;
}

/** A resolved image: where it is named, its manifest and its config. */
export interface StoredImage {
  ref?: ImageRef;
  manifestDigest: Digest;
  manifest: Manifest;
  config: ImageConfig;
}

export class Store {
  readonly layout: StoreLayout;
  private lease: Lease | undefined;

  private constructor(root: string) {
    this.layout = new StoreLayout(root);
  }

  /**
   * Opens the store at `root` (see prepareStoreDir): refuses a path that is not a directory,
   * makes a missing store (0700) unless `create` is false (commands that only read a store
   * must not leave one behind), and tightens one other users can enter, telling `note`.
   */
  static async open(root: string, create = true, note?: (line: string) => void): Promise<Store> {
    const s = new Store(resolve(root));
    const l = s.layout;
    const r = await prepareStoreDir(s.root, create, [l.blobsDir, l.refsDir, l.cacheDir, l.unpackedDir, l.containersDir, l.tmpDir, l.leasesDir]);
    if (r.tightenedFrom !== undefined) {
      note?.(`minic: store ${s.root} was open to other users (mode ${r.tightenedFrom.toString(8).padStart(4, "0")}); made it 0700, as its unpacked layers may hold setuid binaries`);
    }
    return s;
  }

  get root(): string {
    return this.layout.root;
  }

  /** True when the blob is present (not verified). */
  async hasBlob(d: Digest): Promise<boolean> {
    try {
      await stat(this.layout.blob(d));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Keeps blobs and unpacked layers from gc for as long as this process lives (see lease.ts).
   * Call it before looking for, reading or making what the caller will rely on, and look after
   * it returns: a gc that was under way may have removed them just before. Idempotent.
   */
  hold(items: Held): Promise<void> {
    this.lease ??= new Lease(this.layout.leasesDir);
    return this.lease.hold(items);
  }

  /**
   * Ends what this Store holds (see hold): gc may free it unless names or containers reach it.
   * For long-lived processes (tests, library use); a minic command's lease ends when it exits.
   */
  release(): void {
    this.lease?.release();
  }

  /**
   * For a user whose use of `image` is already on record where gc reads it (a container's
   * state): waits for the gcs under way, which may have missed the record, to end, then checks
   * that the manifest and config are still stored (so gc keeps the layers they name from now
   * on). Throws ENOTFOUND when a gc removed the image meanwhile (it had lost its last name).
   */
  async confirmImage(image: StoredImage, name: string): Promise<void> {
    await waitForGc(this.layout.leasesDir);
    if (existsSync(this.layout.blob(image.manifestDigest)) && existsSync(this.layout.blob(image.manifest.config.digest))) return;
    throw new MinicError("ENOTFOUND", `image '${name}' was removed from store ${this.root} while it was being started`, {
      hint: "it had lost its last name ('minic rmi') and 'minic gc' freed it; build, load or pull it again",
    });
  }

  /**
   * Stores a stream as a blob: written to a temp file while hashing, then held (see hold) and
   * renamed to its digest. Idempotent. With `expected`, a mismatch throws EDIGEST and nothing
   * is stored.
   */
  async putBlobStream(source: ByteSource, expected?: Digest): Promise<BlobInfo> {
    const tmp = tempName(this.layout.tmpDir, "blob");
    const info = await hashWrite(source, tmp, expected);
    try {
      await this.hold({ blobs: [info.digest] });
      await rename(tmp, this.layout.blob(info.digest));
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    return info;
  }


  /**
   * Stores bytes (small: manifests, configs) as a blob (held, see hold). A blob already present
   * is not written again when it holds these bytes; one that does not (damaged on disk) is replaced.
   */
  async putBlob(data: Buffer | string, expected?: Digest): Promise<BlobInfo> {
    const buf = Buffer.from(data);
    const digest = `sha256:${createHash("sha256").update(buf).digest("hex")}` as Digest;
    if (!expected || expected === digest) {
      await this.hold({ blobs: [digest] });
      if (this.holds(digest, buf)) return { digest, size: buf.length };
    }
    return this.putBlobStream([buf], expected);
  }

  /** True when the blob is present and holds exactly `bytes`. */
  private holds(d: Digest, bytes: Buffer): boolean {
    try {
      return readFileSync(this.layout.blob(d)).equals(bytes);
    } catch {
      return false;
    }
  }

  /** Stores a value as canonical JSON. */
  async putJson(value: unknown): Promise<BlobInfo> {
    return this.putBlob(canonicalJson(value));
  }

  /** A stream of the blob that errors with EDIGEST at its end if the bytes do not match. */
  openBlob(d: Digest): Readable {
    const src = createReadStream(this.layout.blob(d));
    const v = verifyingStream(d, `blob ${d.slice(0, 19)}…`);
    src.on("error", (e) => v.destroy(notFoundOr(e, d)));
    return src.pipe(v);
  }

  /**
   * The whole blob, verified (for small blobs such as manifests and configs: read in one sync
   * call, which for a few KiB is cheaper than open/stat/read/close through the thread pool).
   */
  async readBlob(d: Digest): Promise<Buffer> {
    let buf: Buffer;
    try {
      buf = readFileSync(this.layout.blob(d));
    } catch (e) {
      throw notFoundOr(e, d);
    }
    const got = `sha256:${createHash("sha256").update(buf).digest("hex")}`;
    if (got !== d) {
      throw new MinicError("EDIGEST", `blob ${d} is corrupt (its content hashes to ${got})`, { hint: DAMAGED_HINT });
    }
    return buf;
  }

  // ---- references ----

  /** The manifest digest a reference points to, or undefined (no such reference, or a damaged one). */
  async resolveRef(ref: ImageRef): Promise<Digest | undefined> {
    const r = this.readRef(ref);
    return r === "damaged" ? undefined : r;
  }

  /**
   * Whether `ref`'s tag file exists but holds no manifest digest (a torn or edited file): such a
   * name means a damaged image, never "look elsewhere" (see lookupRef).
   */
  isDamagedRef(ref: ImageRef): boolean {
    return this.readRef(ref) === "damaged";
  }

  private readRef(ref: ImageRef): Digest | "damaged" | undefined {
    let s: string;
    try {
      s = readFileSync(this.layout.ref(ref), "utf8").trim();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return undefined;
      if (code === "EISDIR") return "damaged";
      throw new MinicError("ESTORE", `cannot read the name ${formatRef(ref)} (${this.layout.ref(ref)}): ${code ?? (e as Error).message}`, { hint: "check the store's permissions and disk ('minic info' says which store is used)", cause: e });
    }
    return isDigest(s) ? s : "damaged";
  }

  /**
   * The reference a name given by the user means, and its manifest: the name itself, else (for a
   * name without a registry host) the same name under `localhost/`, as podman looks names up, so
   * `app:1` finds the `localhost/app:1` a docker-archive brought. Undefined when neither exists;
   * ESTORE when the first that exists is damaged (the other name is another image).
   */
  async lookupRef(ref: ImageRef): Promise<{ ref: ImageRef; manifest: Digest } | undefined> {
    for (const r of new Set([ref, withLocalhost(ref)])) {
      const manifest = this.readRef(r);
      if (manifest === "damaged") {
        throw new MinicError("ESTORE", `the name ${formatRef(r)} is damaged: ${this.layout.ref(r)} holds no manifest digest`, {
          hint: `'minic rmi ${formatRef(r)}' or 'minic fsck' removes it; then build, load or pull the image again`,
        });
      }
      if (manifest) return { ref: r, manifest };
    }
    return undefined;
  }

  /** Every reference that points at `manifest`, sorted as listRefs sorts them. */
  async namesOf(manifest: Digest): Promise<ImageRef[]> {
    return (await this.listRefs()).filter((r) => r.manifest === manifest).map((r) => r.ref);
  }

  /** Points `ref` at a manifest (atomic; no write when it already does). */
  async setRef(ref: ImageRef, manifest: Digest): Promise<void> {
    if ((await this.resolveRef(ref)) === manifest) return;
    await writeFileAtomic(this.layout.ref(ref), manifest + "\n");
  }

  /** Removes a reference; returns whether it existed. */
  async deleteRef(ref: ImageRef): Promise<boolean> {
    const path = this.layout.ref(ref);
    try {
      // A damaged name may be a directory where its tag file should be. (rm's recursive
      // fallback would report an unremovable file as ENOTDIR, which reads as "not there".)
      await unlink(path).catch((e: NodeJS.ErrnoException) => {
        if (e.code === "EISDIR") return rm(path, { recursive: true });
        throw e;
      });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return false;
      throw new MinicError("ESTORE", `cannot remove the name ${formatRef(ref)} (${path}): ${code ?? (e as Error).message}`, { hint: "check the store's permissions and disk ('minic info' says which store is used)", cause: e });
    }
    // The name's directory goes when its last tag does (rmdir fails, harmlessly, while others remain).
    await rmdir(dirname(path)).catch(() => {});
    return true;
  }

  /** Every (well-formed) reference and the manifest it points to, sorted by name then tag. */
  async listRefs(): Promise<{ ref: ImageRef; manifest: Digest }[]> {
    return (await this.scanRefs()).refs;
  }

  /**
   * Every reference, sorted by name then tag, and the entries of refs/ that are not one (a name
   * that is not URI-encoded or not an image name, a tag file that holds no digest, a stray file):
   * those are skipped, never a reason to fail, so one bad entry hides nothing else.
   */
  async scanRefs(): Promise<{ refs: { ref: ImageRef; manifest: Digest }[]; bad: BadRef[] }> {
    const refs: { ref: ImageRef; manifest: Digest }[] = [];
    const bad: BadRef[] = [];
    for (const enc of await readdir(this.layout.refsDir).catch(() => [] as string[])) {
      if (enc.startsWith(".")) continue;
      const entry = `refs/${enc}`;
      const tags = await readdir(`${this.layout.refsDir}/${enc}`).catch(() => null);
      if (tags === null) {
        bad.push({ entry, why: "not a directory of tags" });
        continue;
      }
      const ref = (tag: string): ImageRef | string => {
        let name: string;
        try {
          name = decodeURIComponent(enc);
        } catch {
          return "its name is not URI-encoded";
        }
        try {
          const r = parseRef(`${name}:${tag}`);
          return r.name === name && r.tag === tag && encodeURIComponent(name) === enc ? r : "not an image name";
        } catch {
          return "not an image name";
        }
      };
      for (const tag of tags) {
        if (tag.startsWith(".")) continue;
        const r = ref(tag);
        if (typeof r === "string") {
          bad.push({ entry: `${entry}/${tag}`, why: r });
          continue;
        }
        const d = await this.resolveRef(r);
        if (d) refs.push({ ref: r, manifest: d });
        else bad.push({ entry: `${entry}/${tag}`, why: "it holds no manifest digest" });
      }
    }
    refs.sort((a, b) => (a.ref.name === b.ref.name ? a.ref.tag.localeCompare(b.ref.tag) : a.ref.name.localeCompare(b.ref.name)));
    return { refs, bad };
  }

  // ---- images ----

  /** Stores manifest + config and returns the manifest's digest. */
  async putImage(manifest: Manifest, config: ImageConfig): Promise<Digest> {
    const c = await this.putJson(config);
    if (c.digest !== manifest.config.digest || c.size !== manifest.config.size) {
      throw new MinicError("ESTORE", "manifest does not describe its config (internal error)");
    }
    return (await this.putJson(manifest)).digest;
  }

  /**
   * Reads a manifest by digest: verified, and checked to be a well-formed minic manifest. Throws
   * ENOTFOUND (missing), EDIGEST (corrupt) or ESTORE (not a minic manifest, or malformed).
   */
  async readManifest(manifestDigest: Digest): Promise<Manifest> {
    let doc: unknown;
    try {
      doc = JSON.parse((await this.readBlob(manifestDigest)).toString("utf8"));
    } catch (e) {
      if (e instanceof MinicError) throw e;
      throw new MinicError("ESTORE", `blob ${manifestDigest} is not a minic manifest (not JSON)`, { hint: "give an image name or a manifest digest (see 'minic images')", cause: e });
    }
    if (doc === null || typeof doc !== "object" || (doc as { mediaType?: unknown }).mediaType !== MANIFEST_MEDIA_TYPE) {
      throw new MinicError("ESTORE", `blob ${manifestDigest} is not a minic manifest`, { hint: "give an image name or a manifest digest (see 'minic images')" });
    }
    return checkShape(MANIFEST_SHAPE, doc, `manifest ${manifestDigest.slice(0, 19)}…`, DAMAGED_HINT, "ESTORE");
  }

  /** Reads a manifest and its config by manifest digest (both verified and checked, see readManifest). */
  async readImage(manifestDigest: Digest): Promise<StoredImage> {
    const manifest = await this.readManifest(manifestDigest);
    const d = manifest.config.digest;
    const config = parseShaped(CONFIG_SHAPE, (await this.readBlob(d)).toString("utf8"), `image config ${d.slice(0, 19)}…`, DAMAGED_HINT, "ESTORE");
    return { manifestDigest, manifest, config };
  }

  /**
   * The named images whose manifest digest starts with `spec`, an image ID as `images` shows it
   * (12 to 64 hex digits), each with its names; undefined when `spec` is not such an ID.
   */
  async namedByIdPrefix(spec: string): Promise<{ manifest: Digest; names: ImageRef[] }[] | undefined> {
    if (!/^[0-9a-f]{12,64}$/.test(spec)) return undefined;
    const byManifest = new Map<Digest, ImageRef[]>();
    for (const r of await this.listRefs()) if (r.manifest.slice(7).startsWith(spec)) byManifest.set(r.manifest, [...(byManifest.get(r.manifest) ?? []), r.ref]);
    return [...byManifest].map(([manifest, names]) => ({ manifest, names }));
  }

  /**
   * Finds an image by `name[:tag]` or by manifest digest (`sha256:…` or a unique hex prefix of
   * at least 12 digits). Throws ENOTFOUND with a hint when nothing matches.
   */
  async getImage(spec: string): Promise<StoredImage> {
    if (isDigest(spec)) {
      // A digest names its image only, never a name that looks like it (parseRef refuses those).
      if (await this.hasBlob(spec)) return this.readImage(spec);
      throw new MinicError("ENOTFOUND", `no image with manifest digest ${spec} in store ${this.root}`, { hint: "load or pull the image, or see 'minic images'" });
    }
    const byId = await this.namedByIdPrefix(spec);
    if (byId?.length === 1) return { ...(await this.readImage(byId[0]!.manifest)), ref: byId[0]!.names[0] };
    if (spec.length === 64 && /^[0-9a-f]+$/.test(spec)) return this.getImage(`sha256:${spec}`); // a whole digest, named or not (never a name)
    const ambiguous = byId?.length ?? 0;
    const ref = parseRef(spec);
    const found = await this.lookupRef(ref);
    if (!found) {
      if (ambiguous > 1) {
        throw new MinicError("EREF", `'${spec}' is the start of ${ambiguous} image digests`, { hint: "give more digits of the digest, or the image name" });
      }
      if (byId) throw noImageWithId(spec, this.root);
      throw new MinicError("ENOTFOUND", `no image '${formatRef(ref)}' in store ${this.root}`, {
        hint: "build it with 'minic build RECIPE.ts', load it, or see 'minic images'",
      });
    }
    return { ...(await this.readImage(found.manifest)), ref: found.ref };
  }

}

function notFoundOr(e: unknown, d: Digest): Error {
  if ((e as NodeJS.ErrnoException).code === "ENOENT") {
    return new MinicError("ENOTFOUND", `blob ${d} is missing from the store`, { hint: DAMAGED_HINT, cause: e });
  }
  return e as Error;
}

/**
 * The error for an image ID (a hex prefix of 12 or more digits of a manifest digest) that no named
 * image has: an image whose names were all removed is gone, as podman's is (gc frees its blobs).
 */
export function noImageWithId(spec: string, root?: string): MinicError {
  return new MinicError("ENOTFOUND", `no image with ID ${spec}${root ? ` in store ${root}` : ""}`, { hint: "see 'minic images' (an image whose names were all removed is gone; 'minic gc' frees its blobs)" });
}
