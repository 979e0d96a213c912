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

/** What to do about a malformed document in a tarball or registry. */
export const MALFORMED_HINT = "the image is malformed or was made by a tool minic does not understand; nothing was stored";

interface Staged {
  size: number;
  /** True when the store already had the blob (its bytes were verified, not written). */
  inStore: boolean;
}

export class BlobStaging {
  private readonly blobs = new Map<Digest, Staged>();
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
  async put(source: ByteSource, expected?: Digest): Promise<BlobInfo> {
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
    if (`sha256:${createHash("sha256").update(buf).digest("hex")}` !== d) throw new MinicError("EDIGEST", `staged blob ${d} changed on disk`);
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

  /** Removes the staging area and everything left in it. */
  async discard(): Promise<void> {
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

