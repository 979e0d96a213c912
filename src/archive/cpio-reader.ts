// Parses a newc cpio stream into entries with their data, one member at a time.
import { MinicError } from "../core/errors.js";
import { safeMemberName } from "../core/container-path.js";
import { ByteReader } from "./byte-reader.js";
import { decodeFixed, HEADER_SIZE, pad4, TRAILER_NAME } from "./cpio-newc.js";
import { kindOfMode, type Entry } from "./entry.js";
import { utf8Name } from "./utf8-name.js";

/** One member: the entry and its data. `data` must be consumed (or ignored) before the next. */
export interface CpioMember {
  entry: Entry;
  /** Raw inode number from the header (hard links share it). */
  ino: number;
  nlink: number;
  data: AsyncIterable<Buffer>;
}

const MAX_NAME = 4096;
const MAX_LINK = 4096;

export interface ReadCpioOptions {
  /**
   * What follows the trailer. "ignore" (minic's own layers, checked by digest): nothing is read.
   * "archives": further newc archives, after zero padding, are read as the kernel reads an
   * initramfs (their inode numbers are their own: hard links never span two); anything else
   * there (an appended compressed archive, as in an initrd with early microcode, or a crafted
   * tail) is refused, never dropped.
   */
  afterTrailer?: "ignore" | "archives";
}

/** How far apart the inode numbers of concatenated archives are kept (newc's field is 32 bits). */
const PART_INODES = 2 ** 32;

/**
 * Reads members until the trailer. Names are made relative and checked: an absolute name has its
 * leading `/` stripped, and a name with `..` is refused (EARCHIVE), as is an unknown file type.
 * Symlink targets are returned as stored; what they may point at is the unpacker's concern.
 */
export async function* readCpio(source: AsyncIterable<Buffer | Uint8Array | string>, opts: ReadCpioOptions = {}): AsyncGenerator<CpioMember> {
  const r = new ByteReader(source);
  let part = 0;
  for (;;) {
    const fixed = await r.read(HEADER_SIZE);
    if (fixed === null) throw new MinicError("EARCHIVE", "cpio archive ends without a trailer", { hint: "the file is truncated" });
    const { header, namesize } = decodeFixed(fixed);
    if (namesize < 1 || namesize > MAX_NAME) throw new MinicError("EARCHIVE", `cpio name size ${namesize} is invalid`);
    const nameBuf = await r.readExact(namesize + pad4(HEADER_SIZE + namesize));
    const raw = utf8Name(nameBuf.subarray(0, namesize - 1), "cpio member name");
    if (raw === TRAILER_NAME) {
      if (opts.afterTrailer !== "archives") return r.drain();
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
      throw new MinicError("EARCHIVE", `refusing archive member '${raw}': its name climbs out of the tree`, { hint: "the archive is hostile or corrupt" });
    }
    const kind = kindOfMode(header.mode);
    if (kind === undefined) throw new MinicError("EARCHIVE", `member '${raw}' has an unknown file type (mode ${header.mode.toString(8)})`);
    const entry: Entry = {
      name,
      kind,
      mode: header.mode & 0o7777,
      uid: header.uid,
      gid: header.gid,
      mtime: header.mtime,
      size: kind === "file" ? header.filesize : 0,
    };
    if (kind === "chardev" || kind === "blockdev") {
      entry.rdevMajor = header.rdevmajor;
      entry.rdevMinor = header.rdevminor;
    }
    const dataPad = pad4(header.filesize);
    if (kind === "symlink") {
      if (header.filesize > MAX_LINK) throw new MinicError("EARCHIVE", `symlink '${raw}' target is too long`);
      entry.linkname = utf8Name(await r.readExact(header.filesize), `symlink target of '${raw}'`);
      await r.skip(dataPad);
      yield { entry, ino: header.ino + part * PART_INODES, nlink: header.nlink, data: empty() };
      continue;
    }
    if (kind !== "file" && header.filesize !== 0) {
      await r.skip(header.filesize + dataPad);
      yield { entry, ino: header.ino + part * PART_INODES, nlink: header.nlink, data: empty() };
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
    yield { entry, ino: header.ino + part * PART_INODES, nlink: header.nlink, data };
    if (!consumed) await r.skip(size);
    else if (r.offset !== before + size) await r.skip(before + size - r.offset);
    await r.skip(dataPad);
  }
}

async function* empty(): AsyncGenerator<Buffer> {}

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
