// Parses a newc cpio stream into entries with their data, one member at a time.
import { MinicError } from "../core/errors.js";
import { safeMemberName } from "../core/container-path.js";
import { ByteReader } from "./byte-reader.js";
import { decodeFixed, HEADER_SIZE, pad4, TRAILER_NAME } from "./cpio-newc.js";
import { kindOfMode, type Entry } from "./entry.js";

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

/**
 * Reads members until the trailer. Names are made relative and checked: an absolute name has its
 * leading `/` stripped, and a name with `..` is refused (EARCHIVE), as is an unknown file type.
 * Symlink targets are returned as stored; what they may point at is the unpacker's concern.
 */
export async function* readCpio(source: AsyncIterable<Buffer | Uint8Array | string>): AsyncGenerator<CpioMember> {
  const r = new ByteReader(source);
  for (;;) {
    const fixed = await r.read(HEADER_SIZE);
    if (fixed === null) throw new MinicError("EARCHIVE", "cpio archive ends without a trailer", { hint: "the file is truncated" });
    const { header, namesize } = decodeFixed(fixed);
    if (namesize < 1 || namesize > MAX_NAME) throw new MinicError("EARCHIVE", `cpio name size ${namesize} is invalid`);
    const nameBuf = await r.readExact(namesize + pad4(HEADER_SIZE + namesize));
    const raw = nameBuf.subarray(0, namesize - 1).toString("utf8");
    if (raw === TRAILER_NAME) {
      await r.drain();
      return;
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
      entry.linkname = (await r.readExact(header.filesize)).toString("utf8");
      await r.skip(dataPad);
      yield { entry, ino: header.ino, nlink: header.nlink, data: empty() };
      continue;
    }
    if (kind !== "file" && header.filesize !== 0) {
      await r.skip(header.filesize + dataPad);
      yield { entry, ino: header.ino, nlink: header.nlink, data: empty() };
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
    yield { entry, ino: header.ino, nlink: header.nlink, data };
    if (!consumed) await r.skip(size);
    else if (r.offset !== before + size) await r.skip(before + size - r.offset);
    await r.skip(dataPad);
  }
}

async function* empty(): AsyncGenerator<Buffer> {}
