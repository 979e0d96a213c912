// Pure: turns a set of entries into the exact newc headers of a canonical archive.
import { MinicError } from "../core/errors.js";
import { compareNames, KIND_BITS, type Entry } from "./entry.js";
import { TRAILER_NAME, XATTR_TABLE_NAME, type NewcHeader } from "./cpio-newc.js";
import { encodeXattrTable } from "../core/xattrs.js";

/** One archive member as planned: its header and whether its data is written. */
export interface PlannedMember {
  entry: Entry;
  header: NewcHeader;
  /** False for all but the last name of a hard-linked file (GNU cpio's convention). */
  carriesData: boolean;
  /** The member's data when the plan makes it (the xattr table); else the caller's source. */
  data?: Buffer;
}

/**
 * Plans a canonical archive: entries sorted by name (bytes), inodes renumbered from 1 in that
 * order (hard links share one), nlink counted, mtimes clamped to `epoch`, device fields zero
 * except rdev of device nodes. When entries have xattrs, the first member is the xattr table
 * (XATTR_TABLE_NAME, inode 1), a layer without any has none (its bytes are what they were before
 * minic carried xattrs). Same entries in, same headers out, whatever order they came in.
 * Throws EARCHIVE on duplicate names or the reserved trailer and table names.
 */
export function planArchive(entries: readonly Entry[], epoch: number): PlannedMember[] {
  const sorted = [...entries].sort((a, b) => compareNames(a.name, b.name));
  const groups = new Map<string, number>();
  const subdirs = new Map<string, number>();
  for (let i = 0; i < sorted.length; i++) {
    const e = sorted[i]!;
    if (i > 0 && sorted[i - 1]!.name === e.name) {
      throw new MinicError("EARCHIVE", `duplicate entry '${e.name}' in layer`, { hint: "the archive names it twice: it is hostile or corrupt" });
    }
    if (e.name === TRAILER_NAME) {
      throw new MinicError("EARCHIVE", `a file may not be named '${TRAILER_NAME}' at the archive root`, {
        hint: "cpio readers stop at that name; rename the file",
      });
    }
    if (e.name === XATTR_TABLE_NAME) {
      throw new MinicError("EARCHIVE", `a file may not be named '${XATTR_TABLE_NAME}' at the root of a layer`, {
        hint: "that name carries a layer's extended attributes; rename the file",
      });
    }
    if (e.kind === "socket") {
      throw new MinicError("EARCHIVE", `'${e.name}' is a socket, which a layer cannot carry`, { hint: "no reader can make a socket from an archive: remove it from the tree (a build leaves them out)" });
    }
    if (e.kind === "file" && e.linkKey !== undefined) groups.set(e.linkKey, (groups.get(e.linkKey) ?? 0) + 1);
    if (e.kind === "dir") {
      const parent = parentOf(e.name);
      subdirs.set(parent, (subdirs.get(parent) ?? 0) + 1);
    }
  }
  // One inode has one mode, owner, time and set of xattrs: the names of a hard-link group take
  // those of its first name (an archive whose link members say otherwise is read so by every
  // extractor, which link(2)s the later names). Xattrs only on files and directories, where Linux keeps them.
  const firstOfGroup = new Map<string, Entry>();
  const meta = (e: Entry): Pick<Entry, "mode" | "uid" | "gid" | "mtime" | "xattrs"> => {
    const key = e.kind === "file" && e.linkKey !== undefined && groups.get(e.linkKey)! > 1 ? e.linkKey : undefined;
    const f = key === undefined ? e : firstOfGroup.get(key) ?? (firstOfGroup.set(key, e), e);
    return { mode: f.mode, uid: f.uid, gid: f.gid, mtime: f.mtime, xattrs: e.kind === "file" || e.kind === "dir" ? f.xattrs : undefined };
  };
  const metas = new Map(sorted.map((e) => [e, meta(e)]));
  const inoOfGroup = new Map<string, number>();
  const seenInGroup = new Map<string, number>();
  let nextIno = 1;
  const table = encodeXattrTable(sorted.filter((e) => metas.get(e)!.xattrs?.length).map((e) => ({ path: e.name, xattrs: metas.get(e)!.xattrs! })));
  const head: PlannedMember[] = [];
  if (table.length > 0) {
    const entry: Entry = { name: XATTR_TABLE_NAME, kind: "file", mode: 0o644, uid: 0, gid: 0, mtime: 0, size: table.length };
    const header: NewcHeader = { ...trailerHeader(), ino: nextIno++, mode: KIND_BITS.file | 0o644, filesize: table.length, name: XATTR_TABLE_NAME };
    head.push({ entry, header, carriesData: true, data: table });
  }
  return head.concat(sorted.map((entry) => {
    const m = metas.get(entry)!;
    let ino: number;
    let nlink = 1;
    let carriesData = true;
    const key = entry.kind === "file" ? entry.linkKey : undefined;
    const groupSize = key === undefined ? 1 : groups.get(key)!;
    if (key !== undefined && groupSize > 1) {
      if (!inoOfGroup.has(key)) inoOfGroup.set(key, nextIno++);
      ino = inoOfGroup.get(key)!;
      nlink = groupSize;
      const seen = (seenInGroup.get(key) ?? 0) + 1;
      seenInGroup.set(key, seen);
      carriesData = seen === groupSize;
    } else {
      ino = nextIno++;
    }
    if (entry.kind === "dir") nlink = 2 + (subdirs.get(entry.name) ?? 0);
    const data = entry.kind === "symlink" ? Buffer.byteLength(entry.linkname ?? "") : entry.kind === "file" ? entry.size : 0;
    const isDev = entry.kind === "chardev" || entry.kind === "blockdev";
    const header: NewcHeader = {
      ino,
      mode: KIND_BITS[entry.kind] | (m.mode & 0o7777),
      uid: m.uid,
      gid: m.gid,
      nlink,
      mtime: Math.max(0, Math.min(Math.floor(m.mtime), epoch)),
      filesize: carriesData ? data : 0,
      devmajor: 0,
      devminor: 0,
      rdevmajor: isDev ? entry.rdevMajor ?? 0 : 0,
      rdevminor: isDev ? entry.rdevMinor ?? 0 : 0,
      name: entry.name,
    };
    return { entry, header, carriesData };
  }));
}

/** The trailer header that ends every archive. */
export function trailerHeader(): NewcHeader {
  return { ino: 0, mode: 0, uid: 0, gid: 0, nlink: 1, mtime: 0, filesize: 0, devmajor: 0, devminor: 0, rdevmajor: 0, rdevminor: 0, name: TRAILER_NAME };
}

function parentOf(name: string): string {
  const i = name.lastIndexOf("/");
  return i < 0 ? "." : name.slice(0, i);
}
