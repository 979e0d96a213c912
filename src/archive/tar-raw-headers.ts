// Reads what tar-stream (which parses the members) does not give, from the raw header bytes:
// the extended attributes of the pax headers, exact (tar-stream decodes pax values as UTF-8,
// which mangles binary values such as security.capability), each member's typeflag (tar-stream
// has no name for one it does not know) and an old GNU sparse member's map. This scanner
// watches the same bytes go by.
import { MinicError } from "../core/errors.js";
import type { Xattr } from "../core/xattrs.js";
import { MAX_SPARSE_SEGMENTS, type SparseMap } from "./tar-sparse.js";

const BLOCK = 512;

/** Keys of xattr pax records: GNU tar and star write `SCHILY.xattr.NAME=RAW`, bsdtar also `LIBARCHIVE.xattr.URLNAME=BASE64`. */
const SCHILY = "SCHILY.xattr.";
const LIBARCHIVE = "LIBARCHIVE.xattr.";

/** What the raw headers say of one member. */
export interface RawMember {
  /** The xattrs its pax headers (and the global ones before it) give, as found, unchecked. */
  xattrs: Xattr[];
  /** Its header's typeflag byte, as a character ("\0" for an old-style file). */
  typeflag: string;
  /** An old GNU sparse member (typeflag S): its map (header and extension blocks) and its real size. */
  gnuSparse?: { map: SparseMap; realSize: number };
}

/**
 * Passes a tar stream through unchanged while noting, for each member in order (not pax or GNU
 * long-name headers), what its raw headers say (RawMember). A reader that parses the same
 * stream takes them with `next()` for each member it meets, in order.
 */
export class TarRawHeaders {
  private readonly queue: RawMember[] = [];
  private header = Buffer.alloc(0);
  /** Bytes of member data (and padding) still to pass over. */
  private skip = 0;
  /** A pax header's records being collected: its type and how many bytes are still missing. */
  private collecting: { type: "x" | "g"; left: number; parts: Buffer[]; pad: number } | undefined;
  private global: Xattr[] = [];
  private local: Xattr[] | undefined;
  private localSize: number | undefined;
  /** An old GNU sparse header held back while its extension blocks are read. */
  private extended: { header: Buffer; member: RawMember; skip: number } | undefined;

  /** What the raw headers said of the next member. */
  next(): RawMember {
    return this.queue.shift() ?? { xattrs: [], typeflag: "0" };
  }

  /**
   * Yields `source`, scanning it as it goes: unchanged, except that an old GNU sparse header's
   * extension blocks (its map's further segments, which tar-stream would take for data) are
   * read here and left out, the header passed on only once they are (its member's map whole).
   */
  async *tap(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of source) yield* this.scan(chunk);
    // A header cut short: passed on, for the parser to find the tar truncated.
    if (this.header.length > 0) yield this.header;
    if (this.extended) yield this.extended.header;
  }

  private *scan(chunk: Buffer): Generator<Buffer> {
    let at = 0;
    while (at < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - at);
        yield chunk.subarray(at, at + n);
        this.skip -= n;
        at += n;
        continue;
      }
      const c = this.collecting;
      if (c !== undefined) {
        const n = Math.min(c.left, chunk.length - at);
        yield chunk.subarray(at, at + n);
        c.parts.push(Buffer.from(chunk.subarray(at, at + n)));
        c.left -= n;
        at += n;
        if (c.left === 0) {
          this.collecting = undefined;
          this.skip = c.pad;
          this.records(c.type, Buffer.concat(c.parts));
        }
        continue;
      }
      // A header block (or an extension block of a sparse header), whole before it is looked at.
      const n = Math.min(BLOCK - this.header.length, chunk.length - at);
      this.header = Buffer.concat([this.header, chunk.subarray(at, at + n)]);
      at += n;
      if (this.header.length < BLOCK) continue;
      const h = this.header;
      this.header = Buffer.alloc(0);
      if (this.extended) {
        if (!this.onExtension(h)) continue;
        yield this.extended.header;
        this.skip = this.extended.skip;
        this.extended = undefined;
      } else {
        this.onHeader(h);
        if (!this.extended) yield h;
      }
    }
  }

  private onHeader(h: Buffer): void {
    if (h.every((b) => b === 0)) return; // end-of-archive blocks (tar-stream reads on past them too)
    const type = String.fromCharCode(h[156]!);
    const size = sizeField(h.subarray(124, 136));
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if (type === "x" || type === "g") {
      this.collecting = { type, left: size, parts: [], pad };
      if (size === 0) {
        this.collecting = undefined;
        this.records(type, Buffer.alloc(0));
      }
      return;
    }
    if (type === "L" || type === "K") {
      this.skip = size + pad;
      return;
    }
    // A member: its xattrs are the global ones overridden by its own pax header's.
    const own = this.local ?? [];
    const merged = [...this.global.filter((g) => !own.some((x) => x.name === g.name)), ...own];
    const member: RawMember = { xattrs: merged, typeflag: type };
    if (type === "S") {
      member.gnuSparse = gnuSparseHeader(h);
      if (h[482] !== 0) this.extended = { header: h, member, skip: 0 };
    }
    this.queue.push(member);
    const dataSize = type === "5" ? 0 : this.localSize ?? size;
    this.local = undefined;
    this.localSize = undefined;
    this.skip = dataSize + ((BLOCK - (dataSize % BLOCK)) % BLOCK);
    // Its extension blocks come first: the data is passed over once they are read.
    if (this.extended) [this.extended.skip, this.skip] = [this.skip, 0];
  }

  /** One extension block of a sparse header: 21 more (offset, size) pairs; true when it is the last. */
  private onExtension(b: Buffer): boolean {
    const map = this.extended!.member.gnuSparse!.map;
    for (let i = 0; i < 21; i++) {
      const at = i * 24;
      if (b[at] === 0) break;
      map.push({ offset: sizeField(b.subarray(at, at + 12)), size: sizeField(b.subarray(at + 12, at + 24)) });
    }
    // A hostile chain of extension blocks is bounded by the map's own limit (see tar-sparse).
    return b[504] === 0 || map.length > MAX_SPARSE_SEGMENTS;
  }

  private records(type: "x" | "g", buf: Buffer): void {
    const schily: Xattr[] = [];
    const libarchive: Xattr[] = [];
    let size: number | undefined;
    let at = 0;
    while (at < buf.length) {
      const sp = buf.indexOf(0x20, at);
      if (sp < 0) break;
      const len = Number(buf.toString("latin1", at, sp));
      if (!Number.isSafeInteger(len) || len <= sp - at || at + len > buf.length) break;
      const rec = buf.subarray(sp + 1, at + len - 1);
      at += len;
      const eq = rec.indexOf(0x3d);
      if (eq < 0) continue;
      const key = rec.toString("utf8", 0, eq);
      const value = rec.subarray(eq + 1);
      if (key.startsWith(SCHILY)) schily.push({ name: gnuDecode(key.slice(SCHILY.length)), value: Buffer.from(value) });
      else if (key.startsWith(LIBARCHIVE)) {
        const name = urlDecode(key.slice(LIBARCHIVE.length));
        if (name !== undefined) libarchive.push({ name, value: Buffer.from(value.toString("latin1"), "base64") });
      } else if (key === "size" && type === "x") size = Number(value.toString("latin1"));
    }
    // bsdtar writes both; its SCHILY keywords leave a '=' in a name as it is (then the record
    // splits in the wrong place), its LIBARCHIVE ones are exact: when a header has those, they win.
    const found = libarchive.length > 0 ? libarchive : schily;
    if (type === "g") this.global = found;
    else {
      this.local = found;
      this.localSize = Number.isSafeInteger(size) ? size : undefined;
    }
  }
}

/**
 * The sparse map of an old GNU sparse header: four (offset, size) pairs at 386, "more in
 * extension headers" at 482, the real size at 483. An unused pair is empty.
 */
function gnuSparseHeader(h: Buffer): { map: SparseMap; realSize: number } {
  const map: SparseMap = [];
  for (let i = 0; i < 4; i++) {
    const at = 386 + i * 24;
    if (h[at] === 0) break;
    map.push({ offset: sizeField(h.subarray(at, at + 12)), size: sizeField(h.subarray(at + 12, at + 24)) });
  }
  return { map, realSize: sizeField(h.subarray(483, 495)) };
}

/** GNU tar's xattr keyword: `%25` and `%3D` stand for `%` and `=`. */
function gnuDecode(s: string): string {
  return s.replace(/%3D/g, "=").replace(/%25/g, "%");
}

/**
 * A ustar numeric field: octal digits, or base-256 (GNU) when the high bit of its first byte is
 * set. A negative base-256 value (first byte 0xff, two's complement) is refused, as GNU tar,
 * bsdtar and Go's archive/tar refuse it (tar-stream read it as a size of 0: an empty file).
 */
function sizeField(f: Buffer): number {
  if (f[0] === 0xff) {
    throw new MinicError("EARCHIVE", "a tar header gives a negative size (base-256)", { hint: "the tarball is corrupt or hostile (GNU tar: 'Archive value … is out of off_t range'); nothing was stored" });
  }
  if (f[0]! & 0x80) {
    // GNU's base-256 starts with 0x80 (0xff: negative); other lead bytes are read as sizes past
    // 2^88 by some readers and as nothing by others (tar-stream: an empty file): refused.
    let n = 0;
    for (let i = 1; i < f.length; i++) n = n * 256 + f[i]!;
    if (f[0] !== 0x80 || !Number.isSafeInteger(n)) {
      throw new MinicError("EARCHIVE", "a tar header gives a size no tar reader agrees on (base-256 past 2^53)", { hint: "the tarball is corrupt or hostile; nothing was stored" });
    }
    return n;
  }
  const txt = f.toString("latin1").replace(/\0.*$/s, "").trim();
  return txt === "" ? 0 : parseInt(txt, 8);
}

/** bsdtar's %XX-encoded xattr name, or undefined when it is not valid UTF-8 after decoding. */
function urlDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}
