// Builds newc cpio bytes by hand, independently of src/archive, so tests can craft hostile or
// malformed archives in memory (node-tar style: one archive per hazard, built by the test).

export interface RawMember {
  name: string;
  /** Full st_mode, e.g. 0o100644. */
  mode: number;
  data?: string | Buffer;
  ino?: number;
  nlink?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  rdevmajor?: number;
  rdevminor?: number;
  /** Overrides the filesize field (to lie about the data length). */
  filesize?: number;
  /** Overrides the magic (default 070701). */
  magic?: string;
}

export const S = { file: 0o100000, dir: 0o040000, symlink: 0o120000, chr: 0o020000, blk: 0o060000, fifo: 0o010000 } as const;

const pad4 = (n: number) => (4 - (n % 4)) % 4;
const hex = (n: number) => n.toString(16).padStart(8, "0");

/** One member's bytes: header, name, padding, data, padding. */
export function rawMember(m: RawMember, autoIno = 1): Buffer {
  const name = Buffer.from(m.name, "utf8");
  const data = m.data === undefined ? Buffer.alloc(0) : Buffer.from(m.data);
  const fields = [
    m.ino ?? autoIno, m.mode, m.uid ?? 0, m.gid ?? 0, m.nlink ?? 1, m.mtime ?? 0, m.filesize ?? data.length,
    0, 0, m.rdevmajor ?? 0, m.rdevminor ?? 0, name.length + 1, 0,
  ];
  const head = Buffer.from((m.magic ?? "070701") + fields.map(hex).join(""), "latin1");
  const headLen = head.length + name.length + 1;
  return Buffer.concat([head, name, Buffer.alloc(1 + pad4(headLen)), data, Buffer.alloc(pad4(data.length))]);
}

/** A whole archive: members then the trailer (unless `trailer` is false). */
export function rawArchive(members: RawMember[], trailer = true): Buffer {
  const parts = members.map((m, i) => rawMember(m, i + 1));
  if (trailer) parts.push(rawMember({ name: "TRAILER!!!", mode: 0, ino: 0 }));
  return Buffer.concat(parts);
}

/** Feeds a buffer as an async stream of small chunks (exercises chunk boundaries). */
export async function* chunked(buf: Buffer, size = 7): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

/** Every header field of a parsed member, as the bytes say (an independent parser for checks). */
export interface ParsedHeader {
  magic: string;
  ino: number; mode: number; uid: number; gid: number; nlink: number; mtime: number; filesize: number;
  devmajor: number; devminor: number; rdevmajor: number; rdevminor: number; namesize: number; check: number;
  name: string;
  /** Raw name bytes (for bytewise order checks). */
  nameBytes: Buffer;
  data: Buffer;
}

/** Parses a whole newc archive (strictly: padding must be zero); returns members incl. the trailer. */
export function parseRawCpio(buf: Buffer): { members: ParsedHeader[]; end: number } {
  const members: ParsedHeader[] = [];
  let off = 0;
  for (;;) {
    const f = (i: number) => parseInt(buf.toString("latin1", off + 6 + i * 8, off + 14 + i * 8), 16);
    const magic = buf.toString("latin1", off, off + 6);
    const h = { magic, ino: f(0), mode: f(1), uid: f(2), gid: f(3), nlink: f(4), mtime: f(5), filesize: f(6), devmajor: f(7), devminor: f(8), rdevmajor: f(9), rdevminor: f(10), namesize: f(11), check: f(12) };
    const nameBytes = buf.subarray(off + 110, off + 110 + h.namesize - 1);
    if (buf[off + 110 + h.namesize - 1] !== 0) throw new Error(`name of member at ${off} is not NUL-terminated`);
    let p = off + 110 + h.namesize;
    const np = pad4(110 + h.namesize);
    if (buf.subarray(p, p + np).some((b) => b !== 0)) throw new Error(`non-zero name padding at ${p}`);
    p += np;
    const data = buf.subarray(p, p + h.filesize);
    p += h.filesize;
    const dp = pad4(h.filesize);
    if (buf.subarray(p, p + dp).some((b) => b !== 0)) throw new Error(`non-zero data padding at ${p}`);
    p += dp;
    members.push({ ...h, name: nameBytes.toString("utf8"), nameBytes, data });
    off = p;
    if (members.at(-1)!.name === "TRAILER!!!") return { members, end: off };
  }
}
