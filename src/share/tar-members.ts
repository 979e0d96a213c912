// Reads a tar stream (ustar, pax, GNU long names) into members as the collector wants them.
import { Readable } from "node:stream";
import tar from "tar-stream";
import { MinicError } from "../core/errors.js";
import { interrupted } from "../util/exec.js";
import type { Entry, EntryKind } from "../archive/entry.js";
import { utf8Name } from "../archive/utf8-name.js";
import { TarRawHeaders, type RawMember } from "../archive/tar-raw-headers.js";
import { expandSparse, expandSparse10, MAX_SPARSE_SEGMENTS, parseSparseMapRecord } from "../archive/tar-sparse.js";
import { NEWC_FIELD_MAX } from "../archive/cpio-newc.js";
import { splitXattrs } from "../core/xattrs.js";
import type { IncomingMember } from "./tree-collector.js";

const KINDS: Record<string, EntryKind> = {
  file: "file",
  "contiguous-file": "file",
  link: "file",
  directory: "dir",
  symlink: "symlink",
  "character-device": "chardev",
  "block-device": "blockdev",
  fifo: "fifo",
};

/**
 * Yields the members of a tar stream in order. A member's data must be consumed before the next
 * is requested. A truncated or malformed stream throws EARCHIVE; unknown member types too.
 * `verified`: the caller checks the bytes by digest, so a missing end-of-archive is supplied.
 */
export async function* readTarMembers(source: AsyncIterable<Buffer>, opts: { verified?: boolean } = {}): AsyncGenerator<IncomingMember> {
  // Names as raw bytes (latin1 keeps every byte), decoded here: one that is not UTF-8 is refused.
  const extract = tar.extract({ filenameEncoding: "latin1" } as Parameters<typeof tar.extract>[0]);
  // xattrs are read from the raw pax records as the bytes go by (tar-stream decodes them as UTF-8).
  const pax = new TarRawHeaders();
  const input = Readable.from(pax.tap(opts.verified ? withEndBlocks(source) : source));
  input.on("error", (e) => extract.destroy(e));
  input.pipe(extract as unknown as NodeJS.WritableStream);
  try {
    for await (const stream of extract) {
      const h = stream.header;
      const raw = pax.next();
      const found = raw.xattrs;
      const paxRecords = (h.pax ?? {}) as Record<string, string | undefined>;
      // A pax path or linkpath is UTF-8 already (tar-stream decoded it); the ustar fields are bytes.
      if (paxRecords.path === undefined) h.name = utf8Name(Buffer.from(h.name, "latin1"), "tar member name");
      if (h.linkname && paxRecords.linkpath === undefined) h.linkname = utf8Name(Buffer.from(h.linkname, "latin1"), `link target of tar member '${h.name}'`);
      const sparse = sparseOf(raw, paxRecords, h.name);
      if (sparse) h.name = sparse.name;
      // tar-stream has no name for a typeflag it does not know (GNU's V, M, D, N, …): it is not a file.
      const type = sparse ? "file" : h.type ?? (raw.typeflag === "\0" ? "file" : `typeflag ${JSON.stringify(raw.typeflag)}`);
      const kind = KINDS[type];
      if (kind === undefined) {
        throw new MinicError("EARCHIVE", `tar member '${h.name}' has unsupported type '${type}'`, { hint: "minic reads regular files, directories, links, devices and fifos" });
      }
      // A pax header's owner and time win over the ustar fields (Go's archive/tar, which buildah,
      // podman and containerd use, writes owners over 2097151 only there); tar-stream applies
      // only its path, linkpath and size.
      const entry: Entry = {
        name: h.name,
        kind,
        mode: (h.mode ?? 0o644) & 0o7777,
        uid: paxId(paxRecords.uid, h.name, "uid") ?? h.uid ?? 0,
        gid: paxId(paxRecords.gid, h.name, "gid") ?? h.gid ?? 0,
        mtime: Math.max(0, Math.floor(paxTime(paxRecords.mtime) ?? (h.mtime?.getTime() ?? 0) / 1000)),
        size: sparse ? sparse.realSize : kind === "file" && type !== "link" ? h.size ?? 0 : 0,
      };
      // A layer is newc cpio, whose files hold at most 4 GiB: a bigger one (a sparse file's real
      // size, above all, which a few KiB of tar can declare) is refused here, before any of it is read.
      if (entry.size > NEWC_FIELD_MAX) {
        throw new MinicError("EARCHIVE", `tar member '${h.name}' is a ${sparse ? "sparse " : ""}file of ${entry.size} bytes, more than a layer holds (4 GiB - 1)`, { hint: "newc cpio holds files up to 4 GiB; nothing was stored" });
      }
      if (kind === "symlink") entry.linkname = h.linkname ?? "";
      if (kind === "chardev" || kind === "blockdev") {
        entry.rdevMajor = h.devmajor ?? 0;
        entry.rdevMinor = h.devminor ?? 0;
      }
      // Only a file's data is read. tar-stream never ends the data stream of a directory whose
      // header gives a size (it does not feed it), so a reader waiting for its end waited forever.
      let data = kind === "file" && type !== "link" ? guarded(stream as AsyncIterable<Buffer>) : none();
      if (sparse) data = sparse.map ? expandSparse(data, sparse.map, sparse.realSize, h.name) : expandSparse10(data, sparse.realSize, h.name);
      const m: IncomingMember = { rawName: h.name, entry, data };
      if (type === "link") m.hardlinkTo = h.linkname ?? "";
      if (found.length > 0) {
        const { carried, dropped } = splitXattrs(found, h.name);
        // Linux keeps user.* xattrs on files and directories only: on a symlink, fifo or device
        // node they cannot be set (podman fails with lsetxattr's EPERM), so they go with the note.
        const holds = kind === "file" || kind === "dir";
        if (carried.length > 0 && holds) entry.xattrs = carried;
        const lost = holds ? dropped : [...dropped, ...carried.map((x) => x.name)];
        if (lost.length > 0) m.droppedXattrs = lost;
      }
      yield m;
      stream.resume();
    }
  } catch (e) {
    if (e instanceof MinicError) throw e;
    throw tarError(e);
  } finally {
    input.destroy();
  }
}

/**
 * A sparse member's real name and size, and its map (none: format 1.0, whose map starts its
 * data); undefined for any other member. Forms minic cannot read are refused.
 */
function sparseOf(raw: RawMember, pax: Record<string, string | undefined>, name: string): { name: string; realSize: number; map?: ReturnType<typeof parseSparseMapRecord> } | undefined {
  const refuse = (what: string) =>
    new MinicError("EARCHIVE", `tar member '${name}' is a sparse file in ${what}, which minic cannot read`, { hint: "repack it with bsdtar, or GNU tar --format=posix (sparse format 1.0)" });
  if (raw.gnuSparse) {
    if (raw.gnuSparse.map.length > MAX_SPARSE_SEGMENTS) throw refuse(`GNU's old format with more than ${MAX_SPARSE_SEGMENTS} segments`);
    return { name, realSize: raw.gnuSparse.realSize, map: raw.gnuSparse.map };
  }
  const major = pax["GNU.sparse.major"];
  const size = pax["GNU.sparse.realsize"] ?? pax["GNU.sparse.size"];
  if (major === undefined && size === undefined) return undefined;
  const realName = pax["GNU.sparse.name"] ?? name;
  const realSize = /^\d{1,16}$/.test(size ?? "") ? Number(size) : NaN;
  if (!Number.isSafeInteger(realSize)) throw new MinicError("EARCHIVE", `tar member '${name}' is a sparse file without a readable size ('${(size ?? "").slice(0, 24)}')`, { hint: "the tarball is corrupt; nothing was stored" });
  if (major === "1" && pax["GNU.sparse.minor"] === "0") return { name: realName, realSize };
  if (major === undefined && pax["GNU.sparse.map"] !== undefined) return { name: realName, realSize, map: parseSparseMapRecord(pax["GNU.sparse.map"], realName) };
  throw refuse(major === undefined ? "pax format 0.0" : `pax format ${major}.${pax["GNU.sparse.minor"] ?? "?"}`);
}

/**
 * Some writers (umoci's layers) end a tar right after the last member's data, without padding
 * or the two zero blocks, and other tools accept that. For a stream whose bytes are checked by
 * digest (a layer's diff_id), the end is supplied; an unverified tar must be complete.
 */
async function* withEndBlocks(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let n = 0;
  for await (const c of source) {
    n += c.length;
    yield c;
  }
  yield Buffer.alloc(((512 - (n % 512)) % 512) + 1024);
}

async function* none(): AsyncGenerator<Buffer> {}

/** A pax uid or gid: a decimal number up to 2^32 - 1 (what Linux and newc cpio hold). */
function paxId(v: string | undefined, name: string, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = /^\d{1,10}$/.test(v) ? Number(v) : NaN;
  if (!(n <= 0xffffffff)) throw new MinicError("EARCHIVE", `tar member '${name}' has the pax ${what} '${v.slice(0, 40)}', not a number from 0 to 4294967295`, { hint: "the tarball is corrupt; nothing was stored" });
  return n;
}

/** A pax mtime (seconds, maybe with a fraction; minic keeps whole seconds), or undefined when absent or unreadable. */
function paxTime(v: string | undefined): number | undefined {
  if (v === undefined || !/^-?\d{1,12}(\.\d*)?$/.test(v)) return undefined;
  return Number(v);
}

/** A member's data; a read error (truncation) becomes EARCHIVE too. */
async function* guarded(data: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  try {
    for await (const c of data) yield c;
  } catch (e) {
    throw e instanceof MinicError ? e : tarError(e);
  }
}

function tarError(e: unknown): MinicError {
  // A read cut short because minic was interrupted (its decompressor stopped): not the tarball's fault.
  const sig = interrupted();
  if (sig) return new MinicError("EINTERRUPTED", `reading the tarball was stopped by ${sig}`, { cause: e });
  return new MinicError("EARCHIVE", `cannot read tar: ${(e as Error).message}`, { hint: "the tarball is truncated or corrupt; nothing was stored", cause: e });
}
