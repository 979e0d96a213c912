// Checks, member by member (a pure class, and the reader that applies it), that a cpio read from outside is in the one form minic writes
// its layers in (cpio-canonical.ts), so that a layer means the same tree to every reader. GNU
// cpio keeps the first of two members of one name, bsdtar and the kernel the last; an inode
// shared by a directory and a file, or a link count that names more files than there are, is
// read in as many ways as there are readers. A minic layer has none of that, by construction.
import { MinicError } from "../core/errors.js";
import { compareNames, WHITEOUT_PREFIX, type Entry } from "./entry.js";
import type { NewcHeader } from "./cpio-newc.js";
import { readCpio, type CpioMember } from "./cpio-reader.js";

/** Where a layer out of form came from, for the hint: what to do differs. */
export type LayerOrigin = "outside" | "store" | "written";

const HINTS: Record<LayerOrigin, string> = {
  outside: "minic writes a layer with its names sorted, each once, inodes numbered in that order and link counts as they are; this one was made or changed by another tool: import its tree (minic import DIR) to make it a layer",
  store: "an older minic took it in without this check: remove the image (minic rmi NAME) and build, load or pull it again",
  written: "minic made a layer out of its own form, which is a bug in minic: please report it with the tree or recipe that makes it",
};

interface Group {
  name: string;
  nlink: number;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  /** Names of this inode still to come. */
  left: number;
}

/**
 * One per layer read: `member` for every member in archive order (the xattr table, which the
 * reader consumes, included by its absence from the numbering), `end` after the trailer. Throws
 * EARCHIVE naming the layer (`what`) and the first member out of form:
 * - a name that is not stored as is (`./a`, `/a`, `a//b`), or not after the one before in byte
 *   order (so no name comes twice);
 * - an inode number that is neither the next one nor that of an earlier file whose link count
 *   says more names are to come, or a hard-linked name other than the last carrying the data;
 * - a link count that is not the number of names (files) or 2 + subdirectories (directories);
 * - device fields of anything but a device node, data on a directory, fifo or device node;
 * - a whiteout that is not an empty file (an opaque marker at the root is taken: an older minic
 *   kept one from OCI layers, and every reader ignores it);
 * - a socket, extended attributes of anything but a file or directory.
 */
class CanonicalCheck {
  private last: string | undefined;
  private firstIno: number | undefined;
  private nextIno = 0;
  private sawXattrs = false;
  private readonly groups = new Map<number, Group>();
  /** Directory name → [link count in its header, subdirectories seen]. */
  private readonly dirs = new Map<string, [number, number]>();

  constructor(private readonly what: string, private readonly origin: LayerOrigin = "outside") {}

  member(h: NewcHeader, e: Entry): void {
    const name = h.name;
    if (name !== e.name) this.refuse(name, "its name is not stored as a relative path without `.`, `..` or doubled slashes");
    if (this.last !== undefined && compareNames(this.last, name) >= 0) {
      this.refuse(name, this.last === name ? "the layer names it twice" : `it comes after '${this.last}', and a layer's names are sorted`);
    }
    this.last = name;
    if (e.xattrs?.length) this.sawXattrs = true;
    if (this.firstIno === undefined) {
      this.firstIno = h.ino;
      this.nextIno = h.ino;
    }
    if (e.xattrs?.length && e.kind !== "file" && e.kind !== "dir") this.refuse(name, `it is a ${e.kind} with extended attributes, which Linux allows on files and directories only`);
    const base = name.slice(name.lastIndexOf("/") + 1);
    if (base.startsWith(WHITEOUT_PREFIX) && (e.kind !== "file" || h.filesize !== 0)) this.refuse(name, "it is a whiteout, and a whiteout is an empty file");
    if (e.kind === "socket") this.refuse(name, "it is a socket, which no layer carries (no reader can make one from an archive)");
    const isDev = e.kind === "chardev" || e.kind === "blockdev";
    if (h.devmajor !== 0 || h.devminor !== 0 || (!isDev && (h.rdevmajor !== 0 || h.rdevminor !== 0))) this.refuse(name, "its header has device numbers it should not have");
    if ((e.kind === "dir" || e.kind === "fifo" || isDev) && h.filesize !== 0) this.refuse(name, `it is a ${e.kind} with ${h.filesize} bytes of data`);
    if (h.ino === this.nextIno) {
      this.nextIno++;
      if (e.kind === "file" && h.nlink > 1) {
        this.groups.set(h.ino, { name, nlink: h.nlink, mode: h.mode, uid: h.uid, gid: h.gid, mtime: h.mtime, left: h.nlink - 1 });
        if (h.filesize !== 0) this.refuse(name, `it has ${h.nlink} names and carries data, which only the last of them does`);
      } else if (e.kind !== "dir" && h.nlink !== 1) {
        this.refuse(name, `its link count is ${h.nlink}, but no other member shares its inode ${h.ino}`);
      }
    } else {
      const g = this.groups.get(h.ino);
      if (h.ino > this.nextIno) this.refuse(name, `its inode ${h.ino} is not the next one (${this.nextIno})`);
      if (e.kind !== "file" || g === undefined) this.refuse(name, `its inode ${h.ino} is that of an earlier member, and only files share one`);
      if (g.left === 0) this.refuse(name, `its inode ${h.ino} is that of '${g.name}', whose link count names no more files`);
      if (h.mode !== g.mode || h.uid !== g.uid || h.gid !== g.gid || h.mtime !== g.mtime) this.refuse(name, `it is a hard link to '${g.name}' with another mode, owner or time`);
      g.left--;
      if (g.left > 0 && h.filesize !== 0) this.refuse(name, `it is a hard link to '${g.name}' and carries data, which only the last name does`);
      if (h.nlink !== g.nlink) this.refuse(name, `its link count ${h.nlink} differs from that of '${g.name}', its hard link`);
    }
    if (e.kind === "dir") {
      this.dirs.set(name, [h.nlink, 0]);
      // As planArchive counts (its parent of "." is "." itself).
      const parent = this.dirs.get(name.includes("/") ? name.slice(0, name.lastIndexOf("/")) : ".");
      if (parent) parent[1]++;
    }
  }

  /** What followed the trailer (readCpio's "padding"): only the writer's zero padding to 512; readers differ on the rest (the kernel reads a next archive there, GNU cpio stops). */
  tail(t: { bytes: number; zero: boolean; padding: number }): void {
    if (t.bytes !== t.padding || !t.zero) {
      this.refuse(undefined, `the layer has ${t.bytes} byte(s) after its cpio trailer${t.zero ? "" : ", not all zero"}, where minic writes ${t.padding} zero bytes of padding`);
    }
  }

  end(): void {
    if (this.firstIno !== undefined && this.firstIno !== (this.sawXattrs ? 2 : 1)) {
      this.refuse(undefined, `its first inode is ${this.firstIno}, not ${this.sawXattrs ? 2 : 1}`);
    }
    for (const g of this.groups.values()) {
      if (g.left > 0) this.refuse(g.name, `its link count says ${g.left} more name(s) than the layer has`);
    }
    for (const [name, [nlink, subdirs]] of this.dirs) {
      if (nlink !== 2 + subdirs) this.refuse(name, `it is a directory with link count ${nlink}, not ${2 + subdirs} (2 + its ${subdirs} subdirectories)`);
    }
  }

  private refuse(name: string | undefined, why: string): never {
    const at = name === undefined ? "" : ` at '${name}'`;
    throw new MinicError("EARCHIVE", `layer ${this.what} is not in minic's layer form${at}: ${why}`, { hint: HINTS[this.origin] });
  }
}

/** The members of a layer's plain cpio `source`, each checked for form as it comes (and the trailer's padding). */
export async function* checkedMembers(source: AsyncIterable<Buffer>, what: string, origin: LayerOrigin): AsyncGenerator<CpioMember> {
  const form = new CanonicalCheck(what, origin);
  for await (const m of readCpio(source, { afterTrailer: "padding", tail: (t) => form.tail(t) })) {
    form.member(m.header, m.entry);
    yield m;
  }
  form.end();
}
