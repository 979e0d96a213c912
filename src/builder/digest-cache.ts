// Remembers the sha256 of the host files a build copies, by path and identity (device, inode,
// size, mtime and ctime in ns), so that a no-op build does not read them all again (1 GiB is
// ~1 s of hashing). ctime cannot be set from user space: every write or metadata change moves
// it. File timestamps come from a coarse clock, though, so a write in the same tick as an earlier
// one may not move them: a file changed in the last two seconds is not remembered (git's rule
// for racily clean files), and a later change then always shows. Beside a file's content digest
// it keeps the digest of its carried xattrs (setting or removing one moves ctime too), so that a
// no-op build runs no getfattr either.
import type { BigIntStats } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { statSync } from "node:fs";
import type { Digest } from "../core/digest.js";
import { DIGEST_CACHE_SHAPE } from "../core/record-shapes.js";
import { openSealed, sealRecord } from "../core/sealed-record.js";
import { writeFileAtomic } from "../store/atomic.js";

interface Remembered {
  /** `dev:ino:size:mtimeNs:ctimeNs` */
  id: string;
  digest: Digest;
  /** Digest of the carried xattrs; null: none; absent: not known (an older record). */
  xattrs?: Digest | null;
}

const RACY_NS = 2_000_000_000n;

/** The cache's file name in the store's cache directory. */
export const DIGEST_CACHE = "digests.json";

function identity(st: BigIntStats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

export class DigestCache {
  private dirty = false;

  private constructor(private readonly path: string, private readonly byPath: Map<string, Remembered>) {}

  /**
   * The cache kept in `path`; empty when there is none, or it is not intact (damaged, edited by
   * hand, or written by an older minic): a digest is never taken from a damaged record.
   */
  static async open(path: string): Promise<DigestCache> {
    const text = await readFile(path, "utf8").catch(() => "");
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      /* none, or damaged: an empty cache */
    }
    const rec = openSealed(data, DIGEST_CACHE_SHAPE);
    return new DigestCache(path, new Map(Object.entries(rec?.files ?? {})));
  }

  /** The digest of the file at `path` whose (fstat) identity is `st`, if remembered. */
  lookup(path: string, st: BigIntStats): Digest | undefined {
    const r = this.byPath.get(path);
    return r && r.id === identity(st) ? r.digest : undefined;
  }

  /**
   * The digest of the carried xattrs of the file at `path` whose identity is `st`: null when it
   * has none, undefined when that is not remembered.
   */
  lookupXattrs(path: string, st: BigIntStats): Digest | null | undefined {
    const r = this.byPath.get(path);
    return r && r.id === identity(st) ? r.xattrs : undefined;
  }

  /**
   * Remembers the digest of the carried xattrs (null: none) of `path`, read after `st` was
   * taken, beside its content digest remembered for that same identity (else nothing: a file
   * changed too recently, or since, is not remembered).
   */
  rememberXattrs(path: string, st: BigIntStats, xattrs: Digest | null): void {
    const r = this.byPath.get(path);
    if (!r || r.id !== identity(st) || r.xattrs === xattrs) return;
    r.xattrs = xattrs;
    this.dirty = true;
  }

  /** Remembers `digest` for `path` as it was when `st` was taken, unless it changed too recently. */
  remember(path: string, st: BigIntStats, digest: Digest, nowNs = BigInt(Date.now()) * 1_000_000n): void {
    if (st.ctimeNs > nowNs - RACY_NS || st.mtimeNs > nowNs - RACY_NS) return;
    this.byPath.set(path, { id: identity(st), digest });
    this.dirty = true;
  }

  /** Writes the cache if anything was remembered (a no-op build writes nothing). */
  async save(): Promise<void> {
    if (!this.dirty) return;
    const files = Object.fromEntries([...this.byPath].sort(([a], [b]) => (a < b ? -1 : 1)));
    await writeFileAtomic(this.path, JSON.stringify(sealRecord({ version: 2 as const, files })));
    this.dirty = false;
  }

  /** Forgets what is remembered of `path` (a digest that turned out wrong); save() writes it. */
  forget(path: string): void {
    if (this.byPath.delete(path)) this.dirty = true;
  }

  /**
   * For gc: forgets the files that are gone or have changed since; returns how many. The whole
   * cache goes when nothing in it is left.
   */
  async prune(): Promise<number> {
    let removed = 0;
    for (const [p, r] of this.byPath) {
      const st = statSync(p, { bigint: true, throwIfNoEntry: false });
      if (st && identity(st) === r.id) continue;
      this.byPath.delete(p);
      removed++;
    }
    if (removed === 0) return 0;
    if (this.byPath.size === 0) await rm(this.path, { force: true });
    else {
      this.dirty = true;
      await this.save();
    }
    return removed;
  }
}
