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
import { OPAQUE_MARKER, WHITEOUT_PREFIX, type Entry, type EntryKind } from "../archive/entry.js";
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
  const opaque = new OpaqueMarkers();
  for await (const m of members) {
    const e = m.entry;
    if (e.kind === "socket" || !opaque.keep(e)) {
      for await (const _ of m.data);
      const marker = opaque.pending();
      if (marker) yield* member(tarFields(marker));
      continue;
    }
    if (e.kind !== "file" || m.nlink <= 1) {
      yield* member(tarFields(e), e.kind === "file" ? m.data : undefined);
      const marker = opaque.after(e);
      if (marker) yield* member(tarFields(marker));
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

/**
 * A minic layer with `.wh.d` and `d/` (d deleted below, made anew here) means d is opaque: an
 * OCI reader that applies the whiteout as it comes may not see that (podman showed the lower d's
 * files through it), so the tar says it, `d/.wh..wh..opq` after `d/`. A whiteout that comes
 * after its own name (`-d/` sorts before `.wh.-d`) is dropped, a directory then marked opaque:
 * a reader applying it would delete this layer's own `-d`.
 */
class OpaqueMarkers {
  private readonly whited = new Set<string>();
  private readonly marked = new Set<string>();
  private readonly kinds = new Map<string, EntryKind>();
  private marker: Entry | undefined;

  /** False for a member the tar leaves out (a whiteout of this layer's own name, a second marker). */
  keep(e: Entry): boolean {
    const cut = e.name.lastIndexOf("/");
    const base = e.name.slice(cut + 1);
    const parent = cut < 0 ? "" : e.name.slice(0, cut);
    if (base === OPAQUE_MARKER) return this.mark(parent);
    if (base.startsWith(WHITEOUT_PREFIX)) {
      const victim = (parent ? `${parent}/` : "") + base.slice(WHITEOUT_PREFIX.length);
      const kind = this.kinds.get(victim);
      if (kind === undefined) {
        this.whited.add(victim);
        return true;
      }
      if (kind === "dir" && !this.marked.has(victim)) this.marker = this.markerOf(victim, e.mtime);
      return false;
    }
    this.kinds.set(e.name, e.kind);
    return true;
  }

  /** The marker to write after a member left out, if leaving it out needs one. */
  pending(): Entry | undefined {
    const m = this.marker;
    this.marker = undefined;
    return m;
  }

  /** The marker to write after `e`, a directory this layer whited out first. */
  after(e: Entry): Entry | undefined {
    return e.kind === "dir" && this.whited.has(e.name) && !this.marked.has(e.name) ? this.markerOf(e.name, e.mtime) : undefined;
  }

  private mark(dir: string): boolean {
    if (this.marked.has(dir)) return false;
    this.marked.add(dir);
    return true;
  }

  private markerOf(dir: string, mtime: number): Entry {
    this.marked.add(dir);
    return { name: `${dir}/${OPAQUE_MARKER}`, kind: "file", mode: 0, uid: 0, gid: 0, mtime, size: 0 };
  }
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
