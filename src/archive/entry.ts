// An archive entry: one node of a file tree, as cpio and tar both describe it.
import type { Xattr } from "../core/xattrs.js";

export type EntryKind = "file" | "dir" | "symlink" | "chardev" | "blockdev" | "fifo" | "socket";

export interface Entry {
  /** Relative name without leading `./` or `/` (e.g. `usr/bin/env`). */
  name: string;
  kind: EntryKind;
  /** Permission bits including setuid/setgid/sticky (0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch. */
  mtime: number;
  /** Data bytes for files; 0 for everything else. */
  size: number;
  /** Target of a symlink. */
  linkname?: string;
  /** Device numbers of a char or block device. */
  rdevMajor?: number;
  rdevMinor?: number;
  /** Regular files that share one inode share one key (hard links). */
  linkKey?: string;
  /** Extended attributes minic carries (core/xattrs.ts), sorted by name; absent when none. */
  xattrs?: Xattr[];
}

/** The S_IFMT bits for each kind. */
export const KIND_BITS: Record<EntryKind, number> = {
  file: 0o100000,
  dir: 0o040000,
  symlink: 0o120000,
  chardev: 0o020000,
  blockdev: 0o060000,
  fifo: 0o010000,
  socket: 0o140000,
};

/** The kind for a full st_mode, or undefined for an unknown file type. */
export function kindOfMode(mode: number): EntryKind | undefined {
  const fmt = mode & 0o170000;
  for (const [k, bits] of Object.entries(KIND_BITS)) if (bits === fmt) return k as EntryKind;
  return undefined;
}

/** Prefix of a whiteout entry (OCI and aufs convention): `.wh.NAME` deletes NAME. */
export const WHITEOUT_PREFIX = ".wh.";
/** Marks a directory opaque: lower layers' contents of it are hidden. */
export const OPAQUE_MARKER = ".wh..wh..opq";

/** Byte-wise comparison of names, the canonical order of entries in a layer. */
export function compareNames(a: string, b: string): number {
  const x = Buffer.from(a), y = Buffer.from(b);
  return Buffer.compare(x, y);
}
