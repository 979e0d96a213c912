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
    const marks = e.kind === "socket" ? { keep: false, before: [], after: [] } : opaque.plan(e);
    for (const x of marks.before) yield* member(tarFields(x));
    if (!marks.keep) {
      for await (const _ of m.data);
      for (const x of marks.after) yield* member(tarFields(x));
      continue;
    }
    if (e.kind !== "file" || m.nlink <= 1) {
      yield* member(tarFields(e), e.kind === "file" ? m.data : undefined);
      for (const x of marks.after) yield* member(tarFields(x));
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
 * A minic layer with `.wh.d` and `d/` (or `d/x` alone: d deleted below, made anew here) means d
 * is opaque: an OCI reader that applies the whiteout as it comes may not see that (podman showed
 * the lower d's files through it), so the tar says it, `d/.wh..wh..opq` first in d. A whiteout
 * that comes after its own name (`-d/` or `-d/x` sort before `.wh.-d`) is dropped, a directory
 * then marked opaque: a reader applying it would delete this layer's own `-d`.
 */
class OpaqueMarkers {
  private readonly whited = new Set<string>();
  private readonly marked = new Set<string>();
  /** Names this layer has (directories its members imply included), with their kinds. */
  private readonly kinds = new Map<string, EntryKind>();

  /** For member `e`: whether the tar keeps it, and the markers to write before and after it. */
  plan(e: Entry): { keep: boolean; before: Entry[]; after: Entry[] } {
    const cut = e.name.lastIndexOf("/");
    const base = e.name.slice(cut + 1);
    const parent = cut < 0 ? "" : e.name.slice(0, cut);
    const before = this.parents(parent, e.mtime);
    if (base === OPAQUE_MARKER) return { keep: this.mark(parent), before, after: [] };
    if (base.startsWith(WHITEOUT_PREFIX)) {
      const victim = (parent ? `${parent}/` : "") + base.slice(WHITEOUT_PREFIX.length);
      const kind = this.kinds.get(victim);
      if (kind === undefined) {
        this.whited.add(victim);
        return { keep: true, before, after: [] };
      }
      return { keep: false, before, after: kind === "dir" && this.mark(victim) ? [marker(victim, e.mtime)] : [] };
    }
    this.kinds.set(e.name, e.kind);
    return { keep: true, before, after: e.kind === "dir" && this.whited.has(e.name) && this.mark(e.name) ? [marker(e.name, e.mtime)] : [] };
  }

  /** Registers the directories `dir` implies; markers for those of them this layer whited out. */
  private parents(dir: string, mtime: number): Entry[] {
    const out: Entry[] = [];
    for (let d = dir; d && !this.kinds.has(d); d = d.includes("/") ? d.slice(0, d.lastIndexOf("/")) : "") {
      this.kinds.set(d, "dir");
      if (this.whited.has(d) && this.mark(d)) out.unshift(marker(d, mtime));
    }
    return out;
  }

  /** True the first time `dir` is marked. */
  private mark(dir: string): boolean {
    if (this.marked.has(dir)) return false;
    this.marked.add(dir);
    return true;
  }
}

function marker(dir: string, mtime: number): Entry {
  return { name: `${dir}/${OPAQUE_MARKER}`, kind: "file", mode: 0, uid: 0, gid: 0, mtime, size: 0 };
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
