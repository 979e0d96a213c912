// Pure: tar (POSIX ustar + pax) headers that say exactly what an entry is. Every field that
// ustar cannot hold goes into a pax extended header ('x'), as GNU tar --format=posix, bsdtar and
// Go's archive/tar write it: a name over ustar's 100+155 bytes, a link target over 100, a uid
// or gid over 2097151 (7 octal digits), a size of 8 GiB or more, a negative mtime, and every
// extended attribute (SCHILY.xattr.NAME, the value's raw bytes, `%` and `=` in NAME as %25 and %3D
// as GNU tar writes them). Modes are
// written as they are, 0000 included (tar-stream, which minic used before, wrote a mode of 0 as
// 0644 or 0755 and clamped owners to 262143).

/** What a tar member says about itself. */
export interface TarFields {
  /** Relative name, without a trailing slash (one is added for directories). */
  name: string;
  type: TarType;
  /** Permission bits (0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch. */
  mtime: number;
  /** Data bytes that follow (files only). */
  size: number;
  /** A symlink's target, or the member a hard link names. */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Extended attributes (sorted by name): pax `SCHILY.xattr.NAME` records with the raw value, as GNU tar --xattrs writes them. */
  xattrs?: readonly { name: string; value: Buffer }[];
}

export type TarType = "file" | "link" | "symlink" | "chardev" | "blockdev" | "dir" | "fifo";

const TYPEFLAG: Record<TarType, string> = { file: "0", link: "1", symlink: "2", chardev: "3", blockdev: "4", dir: "5", fifo: "6" };
export const BLOCK = 512;

/** Largest value an octal field of `width` bytes holds (width - 1 digits and a NUL). */
const maxOctal = (width: number) => 8 ** (width - 1) - 1;

/**
 * The header blocks for `f`: a pax extended header (its header block and records, padded)
 * when some field does not fit ustar, then the ustar header block.
 */
export function tarHeader(f: TarFields): Buffer {
  const pax: [string, string | Buffer][] = [];
  const name = f.type === "dir" && !f.name.endsWith("/") ? `${f.name}/` : f.name;
  const split = splitName(name);
  if (!split) pax.push(["path", name]);
  const link = f.linkname ?? "";
  if (Buffer.byteLength(link) > 100) pax.push(["linkpath", link]);
  const num = (key: string, v: number, width: number): number => {
    if (Number.isSafeInteger(v) && v >= 0 && v <= maxOctal(width)) return v;
    pax.push([key, String(v)]);
    return 0;
  };
  const uid = num("uid", f.uid, 8);
  const gid = num("gid", f.gid, 8);
  const size = num("size", f.size, 12);
  const mtime = num("mtime", f.mtime, 12);
  for (const [what, v] of [["device major", f.devmajor ?? 0], ["device minor", f.devminor ?? 0]] as const) {
    if (!Number.isSafeInteger(v) || v < 0 || v > maxOctal(8)) throw new RangeError(`tar cannot hold the ${what} number ${v} of '${f.name}'`);
  }
  const block = ustarBlock({
    name: split ? Buffer.from(split.name) : truncate(name, 100), prefix: Buffer.from(split?.prefix ?? ""), mode: f.mode & 0o7777, uid, gid, size, mtime,
    typeflag: TYPEFLAG[f.type], linkname: truncate(link, 100), devmajor: f.devmajor ?? 0, devminor: f.devminor ?? 0,
  });
  for (const x of f.xattrs ?? []) pax.push([`SCHILY.xattr.${xattrKeyword(x.name)}`, x.value]);
  if (pax.length === 0) return block;
  const records = Buffer.concat(pax.map(([k, v]) => paxRecord(k, v)));
  const paxBlock = ustarBlock({
    name: Buffer.from("././@PaxHeader"), prefix: Buffer.alloc(0), mode: 0o644, uid: 0, gid: 0, size: records.length, mtime: 0,
    typeflag: "x", linkname: Buffer.alloc(0), devmajor: 0, devminor: 0,
  });
  return Buffer.concat([paxBlock, records, Buffer.alloc(padding(records.length)), block]);
}

/**
 * An xattr name as a pax keyword part: `%` and `=` (which would end the keyword) written `%25`
 * and `%3D`, as GNU tar writes (and reads) them.
 */
export function xattrKeyword(name: string): string {
  return name.replace(/%/g, "%25").replace(/=/g, "%3D");
}

/** Zero bytes that bring `size` bytes of data to a whole block. */
export function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** The end of an archive: two zero blocks. */
export const TAR_END = Buffer.alloc(2 * BLOCK);

/** One pax record: "LEN KEY=VALUE\n", LEN counting itself (a Buffer value is written as its raw bytes). */
export function paxRecord(key: string, value: string | Buffer): Buffer {
  const v = typeof value === "string" ? Buffer.from(value) : value;
  const body = Buffer.byteLength(` ${key}=\n`) + v.length;
  let len = body + String(body).length;
  if (String(len).length !== String(body).length) len = body + String(len).length;
  return Buffer.concat([Buffer.from(`${len} ${key}=`), v, Buffer.from("\n")]);
}

/** ustar's name split: `prefix/name` with name ≤ 100 and prefix ≤ 155 bytes, or undefined. */
function splitName(name: string): { prefix: string; name: string } | undefined {
  if (Buffer.byteLength(name) <= 100) return { prefix: "", name };
  // The last slash that leaves ≤ 155 bytes before it and ≤ 100 after (a directory's own
  // trailing slash stays with its name).
  const body = name.endsWith("/") ? name.slice(0, -1) : name;
  for (let i = body.lastIndexOf("/"); i > 0; i = body.lastIndexOf("/", i - 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) > 155) continue;
    if (Buffer.byteLength(rest) > 100 || rest === "") return undefined;
    return { prefix, name: rest };
  }
  return undefined;
}

/** The first `max` bytes of `s` (for a field that pax holds in full). */
function truncate(s: string, max: number): Buffer {
  return Buffer.from(s).subarray(0, max);
}

interface UstarFields {
  name: Buffer;
  prefix: Buffer;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: Buffer;
  devmajor: number;
  devminor: number;
}

function ustarBlock(u: UstarFields): Buffer {
  const b = Buffer.alloc(BLOCK);
  const str = (s: Buffer, at: number, width: number) => s.copy(b, at, 0, width);
  const oct = (v: number, at: number, width: number) => b.write(v.toString(8).padStart(width - 1, "0") + "\0", at, width, "latin1");
  str(u.name, 0, 100);
  oct(u.mode, 100, 8);
  oct(u.uid, 108, 8);
  oct(u.gid, 116, 8);
  oct(u.size, 124, 12);
  oct(u.mtime, 136, 12);
  b.write(" ".repeat(8), 148, 8, "latin1");
  b.write(u.typeflag, 156, 1, "latin1");
  str(u.linkname, 157, 100);
  b.write("ustar\u000000", 257, 8, "latin1");
  oct(u.devmajor, 329, 8);
  oct(u.devminor, 337, 8);
  str(u.prefix, 345, 155);
  let sum = 0;
  for (const x of b) sum += x;
  b.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8, "latin1");
  return b;
}
