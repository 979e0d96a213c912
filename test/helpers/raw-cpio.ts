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
