// Parses a newc cpio stream into entries with their data, one member at a time.
import { MinicError } from "../core/errors.js";
import { climbsOrNul, safeMemberName, shownName } from "../core/container-path.js";
import { ByteReader } from "./byte-reader.js";
import { decodeFixed, HEADER_SIZE, pad4, TRAILER_NAME, XATTR_TABLE_NAME, type NewcHeader } from "./cpio-newc.js";
import { decodeXattrTable, type Xattr } from "../core/xattrs.js";
import { kindOfMode, type Entry } from "./entry.js";
import { utf8Name } from "./utf8-name.js";

/** One member: the entry and its data. `data` must be consumed (or ignored) before the next. */
export interface CpioMember {
  entry: Entry;
  /** Raw inode number from the header (hard links share it). */
  ino: number;
  nlink: number;
  /** The member's header as stored (raw name, every field), for checks of a layer's form. */
  header: NewcHeader;
  data: AsyncIterable<Buffer>;
}

const MAX_NAME = 4096;
const MAX_LINK = 4096;
/** The largest xattr table minic reads (a layer of 100k files with capabilities needs ~7 MiB). */
const MAX_XATTR_TABLE = 64 * 1024 * 1024;

export interface ReadCpioOptions {
  /**
   * What follows the trailer. "ignore" (minic's own layers, checked by digest): nothing is read.
   * "archives": further newc archives, after zero padding, are read as the kernel reads an
   * initramfs (their inode numbers are their own: hard links never span two); anything else
   * there (an appended compressed archive, as in an initrd with early microcode, or a crafted
   * tail) is refused, never dropped. "padding" (a layer's form is checked, see canonical-check.ts):
   * read, and told to `tail` with the zero padding to 512 that minic's writer puts there.
   */
  afterTrailer?: "ignore" | "archives" | "padding";
  /** With "padding": what followed the trailer (its length, whether all zero) and the padding there should be. */
  tail?: (t: { bytes: number; zero: boolean; padding: number }) => void;
}

/** How far apart the inode numbers of concatenated archives are kept (newc's field is 32 bits). */
const PART_INODES = 2 ** 32;

/**
 * Reads members until the trailer. Names are made relative and checked: an absolute name has its
 * leading `/` stripped, and a name with `..` is refused (EARCHIVE), as is an unknown file type.
 * Symlink targets are returned as stored; what they may point at is the unpacker's concern.
 * A layer's xattr table (its first member, XATTR_TABLE_NAME) is not yielded: its rows become the
 * `xattrs` of the members they name. A table anywhere else, malformed, or naming a member the
 * archive does not have is refused (EARCHIVE).
 */
export async function* readCpio(source: AsyncIterable<Buffer | Uint8Array | string>, opts: ReadCpioOptions = {}): AsyncGenerator<CpioMember> {
  const r = new ByteReader(source);
  let part = 0;
  let first = true;
  let table: Map<string, Xattr[]> | undefined;
  for (;;) {
    const fixed = await r.read(HEADER_SIZE);
    if (fixed === null) throw new MinicError("EARCHIVE", "cpio archive ends without a trailer", { hint: "the file is truncated" });
    const { header: fields, namesize } = decodeFixed(fixed);
    if (namesize < 1 || namesize > MAX_NAME) throw new MinicError("EARCHIVE", `cpio name size ${namesize} is invalid`, { hint: "the archive is corrupt, or not a newc cpio (cpio -o -H newc writes one)" });
    const nameBuf = await r.readExact(namesize + pad4(HEADER_SIZE + namesize));
    const raw = utf8Name(nameBuf.subarray(0, namesize - 1), "cpio member name");
    const header: NewcHeader = { ...fields, name: raw };
    if (raw === TRAILER_NAME) {
      unclaimed(table);
      table = undefined;
      if (opts.afterTrailer === "padding") {
        const padding = (512 - (r.offset % 512)) % 512;
        opts.tail?.({ ...(await r.drain()), padding });
        return;
      }
      if (opts.afterTrailer !== "archives") {
        await r.drain();
        return;
      }
      const next = await r.peekAfterZeros(6);
      if (next === null) return;
      const magic = next.toString("latin1");
      if (magic !== "070701" && magic !== "070702") {
        throw new MinicError("EARCHIVE", `cpio archive goes on after its trailer at byte ${r.offset} with ${tailKind(next)}, not another newc archive`, {
          hint: "unpack the parts separately (an initrd's compressed main archive: skip the first part, decompress the rest) and import the tree; nothing was stored",
        });
      }
      part++;
      continue;
    }
    const name = safeMemberName(raw);
    if (name === null) {
      throw new MinicError("EARCHIVE", `refusing archive member '${shownName(raw)}': ${climbsOrNul(raw)}`, { hint: "the archive is hostile or corrupt" });
    }
    const kind = kindOfMode(header.mode);
    if (kind === undefined) throw new MinicError("EARCHIVE", `member '${raw}' has an unknown file type (mode ${header.mode.toString(8)})`, { hint: "the archive is corrupt, or not a newc cpio (cpio -o -H newc writes one)" });
    const wasFirst = first;
    first = false;
    if (name === XATTR_TABLE_NAME) {
      if (!wasFirst || part > 0 || kind !== "file") {
        throw new MinicError("EARCHIVE", `member '${raw}' has the name reserved for a layer's xattr table but is not its first regular file`, { hint: "a minic layer's xattr table extracted as a file: apply it (setfattr -h --restore=.minic-xattrs in the tree) and leave it out, or rename it" });
      }
      if (header.filesize > MAX_XATTR_TABLE) throw new MinicError("EARCHIVE", `the layer's xattr table is ${header.filesize} bytes, over the ${MAX_XATTR_TABLE} minic reads`, { hint: "the layer is hostile or corrupt" });
      table = decodeXattrTable(await r.readExact(header.filesize));
      await r.skip(pad4(header.filesize));
      continue;
    }
    const entry: Entry = {
      name,
      kind,
      mode: header.mode & 0o7777,
      uid: header.uid,
      gid: header.gid,
      mtime: header.mtime,
      size: kind === "file" ? header.filesize : 0,
    };
    const xattrs = table?.get(name);
    if (xattrs !== undefined) {
      entry.xattrs = xattrs;
      table!.delete(name);
    }
    if (kind === "chardev" || kind === "blockdev") {
      entry.rdevMajor = header.rdevmajor;
      entry.rdevMinor = header.rdevminor;
    }
    const dataPad = pad4(header.filesize);
    if (kind === "symlink") {
      if (header.filesize > MAX_LINK) throw new MinicError("EARCHIVE", `symlink '${raw}' target is too long`, { hint: `a target is at most ${MAX_LINK} bytes; the archive is corrupt, or the link was made for another system` });
      entry.linkname = utf8Name(await r.readExact(header.filesize), `symlink target of '${raw}'`);
      await r.skip(dataPad);
      yield { entry, ino: header.ino + part * PART_INODES, nlink: header.nlink, header, data: empty() };
      continue;
    }
    if (kind !== "file" && header.filesize !== 0) {
      await r.skip(header.filesize + dataPad);
      yield { entry, ino: header.ino + part * PART_INODES, nlink: header.nlink, header, data: empty() };
      continue;
    }
    let consumed = false;
    const size = header.filesize;
    const data: AsyncIterable<Buffer> = {
      [Symbol.asyncIterator]: () => {
        consumed = true;
        return r.chunks(size)[Symbol.asyncIterator]();
      },
    };
    const before = r.offset;
    yield { entry, ino: header.ino + part * PART_INODES, nlink: header.nlink, header, data };
    if (!consumed) await r.skip(size);
    else if (r.offset !== before + size) await r.skip(before + size - r.offset);
    await r.skip(dataPad);
  }
}

async function* empty(): AsyncGenerator<Buffer> {}

/** Refuses a table row no member claimed: the table names a file the archive does not have. */
function unclaimed(table: Map<string, Xattr[]> | undefined): void {
  const left = table?.keys().next();
  if (left && !left.done) throw new MinicError("EARCHIVE", `the layer's xattr table names '${left.value}', which is not a member of the layer`, { hint: "the layer is corrupt" });
}

/** Pure: what bytes after a trailer look like, for the refusal. */
function tailKind(head: Buffer): string {
  const hex = head.toString("hex");
  if (hex.startsWith("1f8b")) return "gzip data";
  if (hex.startsWith("425a68")) return "bzip2 data";
  if (hex.startsWith("fd377a585a00")) return "xz data";
  if (hex.startsWith("28b52ffd")) return "zstd data";
  if (hex.startsWith("894c5a4f")) return "lzo data";
  if (hex.startsWith("02214c18")) return "lz4 data";
  return `bytes ${hex.slice(0, 12)}`;
}
