// Hashes a byte stream while writing it to a new file: the one way blobs reach the disk.
import { createHash } from "node:crypto";
import { open, rm } from "node:fs/promises";
import type { Readable } from "node:stream";
import type { Digest } from "../core/digest.js";
import { MinicError } from "../core/errors.js";
import { atPath } from "../core/faults.js";
import { writevAll } from "../util/write-all.js";

export type ByteSource = Readable | AsyncIterable<Buffer> | Iterable<Buffer>;

/**
 * Chunks are written in batches of at least this many bytes, one writev each: a download comes
 * in 16-64 KiB chunks, and a write per chunk was a thread-pool round trip per chunk, each one
 * holding up the read of the next (1,436 for an 86 MB layer). Chunks are held until written, so
 * a source must not reuse a buffer it has yielded (none of minic's does: streams, zlib, channels).
 */
const BATCH_BYTES = 1 << 20;

/**
 * Consumes `source`, hashing it, and writes it to `path` (created exclusively and fsynced) when
 * a path is given. With `expected`, a different digest throws EDIGEST. On any failure the file
 * is removed; on success the caller renames it into place.
 */
export async function hashWrite(source: ByteSource, path: string | null, expected?: Digest, mode = 0o644): Promise<{ digest: Digest; size: number }> {
  const h = createHash("sha256");
  let size = 0;
  const fh = path === null ? null : await open(path, "wx", mode);
  try {
    const batch: Buffer[] = [];
    let batched = 0;
    for await (const chunk of source as AsyncIterable<Buffer>) {
      h.update(chunk);
      size += chunk.length;
      if (!fh || chunk.length === 0) continue;
      batch.push(chunk);
      batched += chunk.length;
      if (batched >= BATCH_BYTES) {
        await writevAll(fh, batch.splice(0));
        batched = 0;
      }
    }
    if (fh && batch.length > 0) await writevAll(fh, batch);
    if (fh) {
      await fh.sync();
      await fh.close();
    }
    const digest = `sha256:${h.digest("hex")}` as Digest;
    if (expected && digest !== expected) {
      throw new MinicError("EDIGEST", `blob does not match its digest (expected ${expected}, got ${digest})`, {
        hint: "the data is corrupt, truncated or was tampered with; nothing was stored",
      });
    }
    return { digest, size };
  } catch (e) {
    await fh?.close().catch(() => {});
    if (path !== null) await rm(path, { force: true });
    throw path === null ? e : atPath(e, path);
  }
}
