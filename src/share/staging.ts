// A private area in the store's tmp dir where incoming blobs are written and verified before
// any of them enters the store: a failed load or pull leaves the store exactly as it was.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { digestHex, type Digest } from "../core/digest.js";
import { MinicError } from "../core/errors.js";
import { parseShaped, type Shape } from "../core/json-shape.js";
import { tempName } from "../store/atomic.js";
import type { BlobInfo, Store } from "../store/store.js";
import { verifyingStream } from "../store/verify-stream.js";
import { hashWrite, type ByteSource } from "../store/hash-write.js";
import { ByteChannel } from "../util/byte-channel.js";
import { interruptible } from "../util/exec.js";
import type { MemberPolicy } from "./member-policy.js";
import { readMinicLayer, type LayerRead } from "./minic-layer-read.js";

/** What to do about a malformed document in a tarball or registry. */
export const MALFORMED_HINT = "the image is malformed or was made by a tool minic does not understand; nothing was stored";

interface Staged {
  size: number;
  /** True when the store already had the blob (its bytes were verified, not written). */
  inStore: boolean;
}

export class BlobStaging {
  private readonly blobs = new Map<Digest, Staged>();
  /** Side reads of putLayer by blob digest (each never rejects: undefined when it failed), and every one started. */
  private readonly layerReads = new Map<Digest, Promise<LayerRead | undefined>>();
  private readonly pending: Promise<unknown>[] = [];
  private spools = 0;

  private constructor(readonly store: Store, readonly dir: string) {}

  /** Creates an empty staging area for `store`. Call discard() in a finally. */
  static async open(store: Store): Promise<BlobStaging> {
    const dir = tempName(store.layout.tmpDir, "stage");
    await mkdir(dir, { mode: 0o700 });
    await mkdir(join(dir, "blobs"), { mode: 0o700 });
    return new BlobStaging(store, dir);
  }

  /**
   * Hashes `source` while writing it to the staging area. With `expected`, a mismatch throws
   * EDIGEST. A blob the store already holds is hashed but not written again (stored once), and
   * held from then on (see Store.hold), as is every blob staged: gc keeps what commit relies on.
   */
  put(source: ByteSource, expected?: Digest): Promise<BlobInfo> {
    // A signal stops the read at once (nothing else passes it on to a download or a tarball).
    return this.write(interruptible(source as AsyncIterable<Buffer>, "reading the input"), expected);
  }

  /** put of a source already interruptible. */
  private async write(source: AsyncIterable<Buffer>, expected?: Digest): Promise<BlobInfo> {
    const known = expected !== undefined && (this.blobs.has(expected) || (await this.stored(expected)));
    const tmp = join(this.dir, `part-${this.spools++}`);
    try {
      const { digest, size } = await hashWrite(source, known ? null : tmp, expected, 0o600);
      if (!known && !this.blobs.has(digest)) {
        await this.store.hold({ blobs: [digest] });
        await rename(tmp, this.path(digest));
        this.blobs.set(digest, { size, inStore: false });
      } else if (!this.blobs.has(digest)) {
        this.blobs.set(digest, { size, inStore: known || (await this.stored(digest)) });
      }
      return { digest, size };
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /**
   * put for a blob that may be a minic layer: while it is hashed and written, the same bytes are
   * also read as one (readMinicLayer: decompressed, hashed for the diff id, unpacked into a temp
   * dir of this area), side by side, so that decompressing and unpacking overlap the download or
   * the tarball's read instead of following it. What that read found is kept for takeLayerRead,
   * by blob digest, once the blob is staged and verified; nothing is in place until the intake
   * compared the diff id and the image is committed. Bytes that are not bzip2, not a minic
   * layer, or not taken by `policy` leave nothing (the intake then reads the staged blob, and
   * says what is wrong); so does a blob this area or the store already has. The side read is
   * let go if it fails and never slows the blob's own write beyond its bounded queue.
   */
  async putLayer(source: ByteSource, expected: Digest, policy: MemberPolicy): Promise<BlobInfo> {
    if (this.blobs.has(expected) || (await this.stored(expected))) return this.put(source, expected);
    const side = new ByteChannel();
    const read = readLayerSide(side, policy, expected, this.tempPath("unpack"));
    this.pending.push(read);
    // Interruptible under the side channel too: a stalled source that a signal stops ends the side read.
    const info = await this.write(feeding(interruptible(source as AsyncIterable<Buffer>, "reading the input"), side), expected);
    this.layerReads.set(info.digest, read);
    return info;
  }

  /**
   * What the side read of putLayer found for the staged blob `d` (at most once: the caller owns
   * its temp dir from then on), or undefined when there was none or it failed.
   */
  async takeLayerRead(d: Digest): Promise<LayerRead | undefined> {
    const read = this.layerReads.get(d);
    if (!read) return undefined;
    this.layerReads.delete(d);
    return read;
  }

  /**
   * Uses the store's copy of a blob instead of fetching it (the store verified it when it was
   * written). Returns false when the store does not have it.
   */
  async adoptStored(d: Digest): Promise<boolean> {
    if (this.blobs.has(d)) return true;
    await this.store.hold({ blobs: [d] });
    const st = await stat(this.store.layout.blob(d)).catch(() => null);
    if (!st) return false;
    this.blobs.set(d, { size: st.size, inStore: true });
    return true;
  }

  /** Stores small bytes (manifests, configs). */
  async putBytes(data: Buffer | string, expected?: Digest): Promise<BlobInfo> {
    return this.put([Buffer.from(data)], expected);
  }

  /** True when the blob was staged (or found in the store) during this session. */
  has(d: Digest): boolean {
    return this.blobs.has(d);
  }

  /** Size of a staged blob. */
  size(d: Digest): number {
    const b = this.blobs.get(d);
    if (!b) throw new MinicError("EINPUT", `blob ${d} is missing`, { hint: "the archive or registry does not hold every blob the image needs" });
    return b.size;
  }

  /** A verifying stream of a staged (or already stored) blob. */
  open(d: Digest): Readable {
    const b = this.blobs.get(d);
    if (!b) throw new MinicError("EINPUT", `blob ${d} is missing`, { hint: "the archive or registry does not hold every blob the image needs" });
    if (b.inStore) return this.store.openBlob(d);
    const v = verifyingStream(d, `staged blob ${d.slice(0, 19)}…`);
    const src = createReadStream(this.path(d));
    src.on("error", (e) => v.destroy(e));
    return src.pipe(v);
  }

  /**
   * A staged JSON blob, parsed and checked against `shape` (`what` names the document in the
   * one-line refusal: "OCI image config"); refuses blobs over `limit` bytes. Throws EINPUT.
   */
  async readJson<T>(d: Digest, shape: Shape<T>, what: string, limit = 4 << 20): Promise<T> {
    if (this.size(d) > limit) throw new MinicError("EINPUT", `${what} ${d.slice(0, 19)}… is too large for JSON (${this.size(d)} bytes)`, { hint: MALFORMED_HINT });
    const b = this.blobs.get(d)!;
    const buf = b.inStore ? await this.store.readBlob(d) : await readFile(this.path(d));
    if (`sha256:${createHash("sha256").update(buf).digest("hex")}` !== d) throw new MinicError("EDIGEST", `staged blob ${d} changed on disk`, { hint: "something else writes in the store's tmp/; stop it and run the command again (nothing was stored)" });
    return parseShaped(shape, buf.toString("utf8"), `${what} ${d.slice(0, 19)}…`, MALFORMED_HINT);
  }

  /** A new name inside the staging area (nothing is made): removed with it unless moved out. */
  tempPath(prefix: string): string {
    return join(this.dir, `${prefix}-${this.spools++}`);
  }

  /** A fresh private directory inside the staging area (for spooled data). */
  async scratch(): Promise<string> {
    const d = join(this.dir, `scratch-${this.spools++}`);
    await mkdir(d, { mode: 0o700 });
    return d;
  }

  /**
   * Moves the given blobs into the store, in order (so a manifest lands after what it names).
   * Idempotent per blob: one the store already has is left alone. Every blob was held when it
   * was staged or found stored, so gc leaves them until this process exits, after the caller
   * has named the image.
   */
  async commit(digests: Iterable<Digest>): Promise<void> {
    for (const d of digests) {
      const b = this.blobs.get(d);
      if (!b) throw new MinicError("EINPUT", `blob ${d} is missing`, { hint: "the archive or registry does not hold every blob the image needs" });
      if (b.inStore || (await this.store.hasBlob(d))) continue;
      await rename(this.path(d), this.store.layout.blob(d));
      b.inStore = true;
    }
  }

  /** Removes the staging area and everything left in it, once no side read writes into it. */
  async discard(): Promise<void> {
    await Promise.all(this.pending);
    await rm(this.dir, { recursive: true, force: true });
  }

  /** True when the store has the blob, looked for once it is held (see Store.hold). */
  private async stored(d: Digest): Promise<boolean> {
    await this.store.hold({ blobs: [d] });
    return this.store.hasBlob(d);
  }

  private path(d: Digest): string {
    return join(this.dir, "blobs", digestHex(d));
  }
}

/**
 * Yields `source` unchanged while feeding each chunk to `side` first (waiting while its queue is
 * full); a side reader that gave up is let go and the source goes on. `side` ends with the
 * source, and fails when the source fails or is not read to its end.
 */
async function* feeding(source: AsyncIterable<Buffer>, side: ByteChannel): AsyncGenerator<Buffer> {
  let attached = true;
  let done = false;
  try {
    for await (const c of source) {
      if (attached) {
        try {
          await side.write(c);
        } catch {
          attached = false;
        }
      }
      yield c;
    }
    done = true;
    side.end();
  } finally {
    if (!done) side.fail(new MinicError("EARCHIVE", "the blob was not read to its end"));
  }
}

/** The side read of putLayer: undefined unless `bytes` are bzip2 and read as a minic layer; its channel is let go either way. */
async function readLayerSide(bytes: ByteChannel, policy: MemberPolicy, digest: Digest, tmp: string): Promise<LayerRead | undefined> {
  const it = bytes[Symbol.asyncIterator]();
  try {
    const first = await it.next();
    if (first.done || !isBzip2(first.value)) return undefined;
    async function* all(): AsyncGenerator<Buffer> {
      yield first.value as Buffer;
      for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
    }
    return await readMinicLayer(all(), policy, `${digest.slice(0, 19)}…`, tmp);
  } catch {
    return undefined;
  } finally {
    bytes.abort(new MinicError("EARCHIVE", "the side read of the layer ended"));
  }
}

/** A bzip2 stream's magic: "BZh" and a block size digit. */
function isBzip2(b: Buffer): boolean {
  return b.length >= 4 && b[0] === 0x42 && b[1] === 0x5a && b[2] === 0x68 && b[3]! >= 0x31 && b[3]! <= 0x39;
}
