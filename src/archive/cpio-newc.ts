// The newc ("070701") cpio header: pure encode and decode of the 110-byte header + name.
import { MinicError } from "../core/errors.js";

export const NEWC_MAGIC = "070701";
export const HEADER_SIZE = 110;
export const TRAILER_NAME = "TRAILER!!!";
/**
 * The reserved root member that carries a layer's extended attributes: the first member of a
 * layer that has any, a regular file holding the canonical xattr table (core/xattrs.ts). minic's
 * readers apply it and never write it as a file; other cpio readers extract it as a file.
 */
export const XATTR_TABLE_NAME = ".minic-xattrs";
/** The largest value a newc header field holds (8 hex digits): a file's size, an mtime. */
export const NEWC_FIELD_MAX = 0xffffffff;

/** Every field of a newc header, as numbers. */
export interface NewcHeader {
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: number;
  filesize: number;
  devmajor: number;
  devminor: number;
  rdevmajor: number;
  rdevminor: number;
  name: string;
}

const FIELDS = ["ino", "mode", "uid", "gid", "nlink", "mtime", "filesize", "devmajor", "devminor", "rdevmajor", "rdevminor"] as const;

/** Bytes of padding that bring `n` up to a multiple of 4. */
export function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

/** Encodes a header with its NUL-terminated name and padding (data follows, padded by the caller). */
export function encodeHeader(h: NewcHeader): Buffer {
  const name = Buffer.from(h.name, "utf8");
  const namesize = name.length + 1;
  const headLen = HEADER_SIZE + namesize;
  const buf = Buffer.alloc(headLen + pad4(headLen));
  let s = NEWC_MAGIC;
  for (const f of FIELDS) s += hex8(h[f], f, h.name);
  s += hex8(namesize, "namesize", h.name) + "00000000";
  buf.write(s, 0, "latin1");
  name.copy(buf, HEADER_SIZE);
  return buf;
}

function hex8(n: number, field: string, name: string): string {
  if (!Number.isInteger(n) || n < 0 || n > NEWC_FIELD_MAX) {
    throw new MinicError("EARCHIVE", `cpio field ${field}=${n} out of range for '${name}'`, {
      hint: field === "filesize" ? "newc cpio holds files up to 4 GiB" : "newc cpio fields are 32-bit",
    });
  }
  return n.toString(16).padStart(8, "0");
}

/** Pure: the 8 hex digits at `off` as a number, or -1 when they are not 8 hex digits. */
function hexField(buf: Buffer, off: number): number {
  let v = 0;
  for (let i = off; i < off + 8; i++) {
    const c = buf[i] ?? 0;
    const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/** Decodes the fixed 110-byte part of a header; returns the fields and the name size. */
export function decodeFixed(buf: Buffer): { header: Omit<NewcHeader, "name">; namesize: number } {
  const magic = buf.toString("latin1", 0, 6);
  if (magic !== NEWC_MAGIC && magic !== "070702") {
    throw new MinicError("EARCHIVE", `not a newc cpio archive (magic '${magic.replace(/[^\x20-\x7e]/g, "?")}')`, {
      hint: "minic layers are newc cpio (cpio -H newc) compressed with bzip2",
    });
  }
  // Byte by byte (a layer has one header per file, and this is on the unpack's path).
  const v: number[] = [];
  for (let i = 0, off = 6; i < FIELDS.length + 2; i++, off += 8) {
    const n = hexField(buf, off);
    if (n < 0) {
      const txt = buf.toString("latin1", off, off + 8);
      throw new MinicError("EARCHIVE", `corrupt cpio header field ${[...FIELDS, "namesize", "check"][i]} ('${txt.replace(/[^\x20-\x7e]/g, "?")}' is not 8 hex digits)`, {
        hint: "the archive is truncated or damaged (newc headers are 13 fields of 8 hex digits); nothing was stored",
      });
    }
    v.push(n);
  }
  const header = { ino: v[0]!, mode: v[1]!, uid: v[2]!, gid: v[3]!, nlink: v[4]!, mtime: v[5]!, filesize: v[6]!, devmajor: v[7]!, devminor: v[8]!, rdevmajor: v[9]!, rdevminor: v[10]! };
  return { header, namesize: v[11]! };
}
