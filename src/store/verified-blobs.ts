// Which blobs were hashed and found intact, and how each file looked then (inode, size, ctime),
// so that a build checks the layers it reuses without hashing them all every time (a no-op
// build of a recipe copying 1 GiB would hash 1 GiB). minic never changes a blob in place: a
// write to one moves its ctime (which user space cannot set back), a replacement its inode, so a
// blob that still looks as it did when it was hashed still holds those bytes. Kept in
// cache/verified-blobs.json with a checksum; a damaged record is an empty one.
import { createHash } from "node:crypto";
import { createReadStream, statSync, type BigIntStats } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Digest } from "../core/digest.js";
import { VERIFIED_BLOBS_SHAPE } from "../core/record-shapes.js";
import { openSealed, sealRecord } from "../core/sealed-record.js";
import { writeFileAtomic } from "./atomic.js";
import type { Store } from "./store.js";

/** What checking a blob found. */
export type BlobState = "intact" | "missing" | "corrupt";

/** The record's file name in the store's cache directory. */
export const VERIFIED_BLOBS = "verified-blobs.json";

function identity(st: BigIntStats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.ctimeNs}`;
}

export class VerifiedBlobs {
  private dirty = false;

  private constructor(private readonly store: Store, private readonly path: string, private readonly seen: Map<string, string>) {}

  /** The record of `store` (empty when there is none or it is not intact). */
  static async open(store: Store): Promise<VerifiedBlobs> {
    const path = join(store.layout.cacheDir, VERIFIED_BLOBS);
    let data: unknown;
    try {
      data = JSON.parse(await readFile(path, "utf8"));
    } catch {
      /* none or damaged */
    }
    return new VerifiedBlobs(store, path, new Map(Object.entries(openSealed(data, VERIFIED_BLOBS_SHAPE)?.blobs ?? {})));
  }

  /**
   * Whether the blob is there and holds what its digest says: hashed unless it looks as it did
   * when last found intact. Remembers an intact blob (save() writes the record); forgets a bad one.
   */
  async check(d: Digest): Promise<BlobState> {
    const path = this.store.layout.blob(d);
    const st = statSync(path, { bigint: true, throwIfNoEntry: false });
    if (!st?.isFile()) return this.forget(d, "missing");
    if (this.seen.get(d) === identity(st)) return "intact";
    const h = createHash("sha256");
    try {
      for await (const c of createReadStream(path)) h.update(c as Buffer);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return this.forget(d, "missing");
      throw e;
    }
    if (`sha256:${h.digest("hex")}` !== d) return this.forget(d, "corrupt");
    // The identity taken before hashing: a write while hashing moved ctime, so it is hashed again next time.
    this.seen.set(d, identity(st));
    this.dirty = true;
    return "intact";
  }

  /** Writes the record if anything changed. */
  async save(): Promise<void> {
    if (!this.dirty) return;
    const blobs = Object.fromEntries([...this.seen].sort(([a], [b]) => (a < b ? -1 : 1)));
    await writeFileAtomic(this.path, JSON.stringify(sealRecord({ version: 1 as const, blobs })));
    this.dirty = false;
  }

  /** For gc: forgets blobs that are gone; returns how many. */
  async prune(): Promise<number> {
    let removed = 0;
    for (const d of [...this.seen.keys()]) {
      if (statSync(this.store.layout.blob(d as Digest), { throwIfNoEntry: false })) continue;
      this.seen.delete(d);
      this.dirty = true;
      removed++;
    }
    await this.save();
    return removed;
  }

  private forget(d: Digest, state: BlobState): BlobState {
    if (this.seen.delete(d)) this.dirty = true;
    return state;
  }
}
