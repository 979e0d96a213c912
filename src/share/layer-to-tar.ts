// Converts a minic layer (cpio members) into an OCI tar+gzip layer file: same entries, `.wh.`
// whiteouts unchanged, cpio hard-link groups as tar hard links to the member carrying the data.
import { atPath } from "../core/faults.js";
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { Readable, Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { padding, TAR_END, tarHeader, type TarFields, type TarType } from "../archive/tar-header.js";
import { throughProgram } from "../archive/through-program.js";
import type { Digest } from "../core/digest.js";
import type { Entry, EntryKind } from "../archive/entry.js";
import type { CpioMember } from "../archive/cpio-reader.js";

/** A converted layer on disk, with the digests an OCI manifest and config need. */
export interface TarLayerFile {
  path: string;
  /** sha256 of the compressed file (the blob). */
  digest: Digest;
  size: number;
  /** sha256 of the uncompressed tar (the OCI diff_id). */
  diffId: Digest;
}

const TYPES: Record<Exclude<EntryKind, "socket">, TarType> = {
  file: "file",
  dir: "dir",
  symlink: "symlink",
  chardev: "chardev",
  blockdev: "blockdev",
  fifo: "fifo",
};

/** Pure: the tar fields for an entry (a hard link to `linkTo` when given): exactly the entry's. */
export function tarFields(e: Entry, linkTo?: string): TarFields {
  if (e.kind === "socket") throw new Error("tarFields: tar cannot hold a socket");
  const f: TarFields = {
    name: e.name, type: linkTo !== undefined ? "link" : TYPES[e.kind], mode: e.mode & 0o7777, uid: e.uid, gid: e.gid, mtime: e.mtime,
    size: linkTo === undefined && e.kind === "file" ? e.size : 0,
  };
  if (linkTo !== undefined) f.linkname = linkTo;
  if (e.xattrs?.length) f.xattrs = e.xattrs;
  if (e.kind === "symlink") f.linkname = e.linkname ?? "";
  if (e.kind === "chardev" || e.kind === "blockdev") {
    f.devmajor = e.rdevMajor ?? 0;
    f.devminor = e.rdevMinor ?? 0;
  }
  return f;
}

/**
 * Writes the members as tar+gzip to `dest` (which must not exist). Deterministic: the same
 * members give the same bytes. Every mode, owner, name and time is written as the layer has it
 * (archive/tar-header.ts). Sockets are skipped (tar cannot hold them; neither can cpio unpack).
 */
export async function writeTarLayer(members: AsyncIterable<CpioMember>, dest: string, compression: LayerCompression = "gzip"): Promise<TarLayerFile> {
  const diff = createHash("sha256");
  const blob = createHash("sha256");
  let size = 0;
  // gzip in-process (zlib); zstd through the zstd tool (Node 20's zlib has none), at a fixed
  // level so that the same layer gives the same bytes with the same zstd.
  const compress = compression === "gzip" ? createGzip({ level: 6 }) : (source: AsyncIterable<Buffer>) => throughProgram(ZSTD_ARGV, source);
  await pipeline(Readable.from(tarStream(members)), tap((c) => diff.update(c)), compress, tap((c) => { blob.update(c); size += c.length; }), createWriteStream(dest, { flags: "wx", mode: 0o600 }))
    .catch((e: unknown) => {
      throw atPath(e, dest);
    });
  return { path: dest, digest: `sha256:${blob.digest("hex")}`, size, diffId: `sha256:${diff.digest("hex")}` };
}

/** How an OCI layer is compressed. */
export type LayerCompression = "gzip" | "zstd";

const ZSTD_ARGV = ["zstd", "-3", "-c", "-q", "--no-progress", "-T1"];

/** The tar bytes of the members, in order, ending with the two zero blocks. */
export async function* tarStream(members: AsyncIterable<CpioMember>): AsyncGenerator<Buffer> {
  /** ino → name of the member written with data, or the names still waiting for it. */
  const groups = new Map<number, { carrier?: string; waiting: Entry[] }>();
  for await (const m of members) {
    const e = m.entry;
    if (e.kind === "socket") {
      for await (const _ of m.data);
      continue;
    }
    if (e.kind !== "file" || m.nlink <= 1) {
      yield* member(tarFields(e), e.kind === "file" ? m.data : undefined);
      continue;
    }
    const g = groups.get(m.ino) ?? { waiting: [] };
    groups.set(m.ino, g);
    if (g.carrier !== undefined) {
      for await (const _ of m.data);
      yield* member(tarFields(e, g.carrier));
    } else if (e.size > 0) {
      yield* member(tarFields(e), m.data);
      g.carrier = e.name;
      for (const w of g.waiting.splice(0)) yield* member(tarFields(w, e.name));
    } else {
      for await (const _ of m.data);
      g.waiting.push(e);
    }
  }
  for (const g of groups.values()) {
    if (g.carrier !== undefined || g.waiting.length === 0) continue;
    const [first, ...rest] = g.waiting;
    yield* member(tarFields(first!));
    for (const w of rest) yield* member(tarFields(w, first!.name));
  }
  yield TAR_END;
}

/** One member: its header, its data (exactly `size` bytes) and the padding to a whole block. */
async function* member(f: TarFields, data?: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  yield tarHeader(f);
  if (f.size === 0) return;
  let n = 0;
  for await (const c of data!) {
    n += c.length;
    yield c;
  }
  if (n !== f.size) throw new Error(`layer member '${f.name}' has ${n} bytes of data, not the ${f.size} its header says`);
  yield Buffer.alloc(padding(f.size));
}

function tap(f: (c: Buffer) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      f(chunk);
      cb(null, chunk);
    },
  });
}
