// Reads a directory tree into entries (metadata only; data is read later, when packing).
// Synchronous calls on purpose: a walk of thousands of entries is several times faster that way.
import { lstatSync, readdirSync, readlinkSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { isUtf8 } from "node:buffer";
import { showBytes } from "./utf8-name.js";
import { MinicError } from "../core/errors.js";
import type { HostFile } from "./cpio-writer.js";
import { kindOfMode, OPAQUE_MARKER, WHITEOUT_PREFIX, type Entry } from "./entry.js";
import { splitXattrs } from "../core/xattrs.js";
import { treeXattrs } from "./xattr-io.js";

/** An entry and, for files, the host file its data is read from. */
export interface TreeEntry {
  entry: Entry;
  hostPath?: string;
  /** `dev:ino` of the file when walked (see HostFile). */
  hostId?: string;
  /** Names of its extended attributes that minic does not carry (the carried ones are `entry.xattrs`). */
  droppedXattrs?: string[];
}

/** The data source of a walked entry: its host file, checked again when it is read. */
export function treeData(t: TreeEntry): HostFile | undefined {
  return t.hostPath === undefined ? undefined : { path: t.hostPath, id: t.hostId ?? "" };
}

export interface WalkOptions {
  /**
   * Read the tree as an overlayfs upper dir: a 0/0 char device becomes a `.wh.NAME` whiteout, a
   * directory with `trusted.overlay.opaque=y` gets a `.wh..wh..opq` marker, and overlayfs' other
   * `trusted.overlay.*` attributes are its own (not the image's): passed over without a word.
   */
  overlay?: boolean;
  /** Force every entry's owner to 0:0 (imports of untrusted trees keep owners unless asked). */
  squashOwner?: boolean;
}

const BATCH = 64;

/**
 * Walks `root` (which itself is not an entry), returning entries in no particular order, with
 * their extended attributes (read in one `getfattr -R` pass). Throws EARCHIVE for an xattr over
 * the size limit (core/xattrs.ts).
 */
export async function walkTree(given: string, opts: WalkOptions = {}): Promise<TreeEntry[]> {
  // The root the user gave may be a symlink to the tree (followed once, here: its inode is the
  // one every listing is checked against); nothing below it is ever followed.
  const root = realpathSync(given);
  const xattrs = await treeXattrs(root);
  const opaque = new Set<string>();
  if (opts.overlay) {
    for (const [rel, list] of xattrs) {
      if (list.some((x) => x.name === "trusted.overlay.opaque" && x.value.toString() === "y")) opaque.add(rel);
      const own = list.filter((x) => !x.name.startsWith("trusted.overlay."));
      if (own.length === 0) xattrs.delete(rel);
      else xattrs.set(rel, own);
    }
  }
  const out: TreeEntry[] = [];
  const stack: { rel: string; ino: number }[] = [{ rel: "", ino: lstatSync(root).ino }];
  // Each directory as it was listed: checked again at the end, so that a rename, a new or a
  // removed name anywhere during the walk (a tree that never existed at once) is refused.
  const listed: { path: string; ino: number; ctimeMs: number }[] = [];
  while (stack.length > 0) {
    const { rel, ino } = stack.pop()!;
    const { names, ctimeMs } = readDirChecked(join(root, rel), ino);
    listed.push({ path: join(root, rel), ino, ctimeMs });
    if (names.some((n) => n.includes("\uFFFD"))) refuseNonUtf8(root, rel);
    for (let i = 0; i < names.length; i += BATCH) {
      const slice = names.slice(i, i + BATCH);
      const stats = slice.map((n) => changing(join(root, rel), () => lstatSync(join(root, rel, n))));
      for (let j = 0; j < slice.length; j++) {
        const name = rel ? `${rel}/${slice[j]}` : slice[j]!;
        const st = stats[j]!;
        const hostPath = join(root, name);
        const kind = kindOfMode(st.mode);
        if (kind === undefined) throw new MinicError("EARCHIVE", `unsupported file type at ${hostPath}`, { hint: "a layer holds files, directories, symlinks, fifos and devices; remove it from the tree first" });
        const major = Math.floor(st.rdev / 256) & 0xfff;
        const minor = (st.rdev & 0xff) | (Math.floor(st.rdev / 4096) & ~0xff);
        const owner = opts.squashOwner ? { uid: 0, gid: 0 } : { uid: st.uid, gid: st.gid };
        if (opts.overlay && kind === "chardev" && st.rdev === 0) {
          const base = slice[j]!;
          const wh = rel ? `${rel}/${WHITEOUT_PREFIX}${base}` : `${WHITEOUT_PREFIX}${base}`;
          out.push({ entry: whiteoutEntry(wh, st.mtime.valueOf() / 1000) });
          continue;
        }
        const entry: Entry = { name, kind, mode: st.mode & 0o7777, ...owner, mtime: Math.floor(st.mtimeMs / 1000), size: kind === "file" ? st.size : 0 };
        if (kind === "symlink") entry.linkname = changing(join(root, rel), () => readlinkSync(hostPath));
        if (kind === "chardev" || kind === "blockdev") {
          entry.rdevMajor = major;
          entry.rdevMinor = minor;
        }
        if (kind === "file" && st.nlink > 1) entry.linkKey = `${st.dev}:${st.ino}`;
        const t: TreeEntry = kind === "file" ? { entry, hostPath, hostId: `${st.dev}:${st.ino}` } : { entry };
        const found = xattrs.get(name);
        if (found !== undefined && kind !== "socket") {
          const { carried, dropped } = splitXattrs(found, hostPath);
          if (carried.length > 0) entry.xattrs = carried;
          if (dropped.length > 0) t.droppedXattrs = dropped;
        }
        out.push(t);
        if (kind === "dir") {
          stack.push({ rel: name, ino: st.ino });
          if (opaque.has(name)) out.push({ entry: whiteoutEntry(`${name}/${OPAQUE_MARKER}`, entry.mtime) });
        }
      }
    }
  }
  for (const d of listed) {
    const st = lstatSync(d.path, { throwIfNoEntry: false });
    if (st === undefined || !st.isDirectory() || st.ino !== d.ino || st.ctimeMs !== d.ctimeMs) changedDir(d.path);
  }
  return out;
}

/** `read()` of a name just listed in `dir`; a name gone or changed in kind meanwhile is the tree changing. */
function changing<T>(dir: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (["ENOENT", "EINVAL", "ENOTDIR"].includes((e as NodeJS.ErrnoException).code ?? "")) changedDir(dir);
    throw e;
  }
}

/**
 * Lists a directory that was walked as inode `ino`, refusing (EARCHIVE) when it has since been
 * replaced, e.g. by a symlink to a host directory: its listing must not enter the layer.
 */
function readDirChecked(path: string, ino: number): { names: string[]; ctimeMs: number } {
  const same = () => {
    const st = lstatSync(path, { throwIfNoEntry: false });
    if (st === undefined || !st.isDirectory() || st.ino !== ino) changedDir(path);
    return st.ctimeMs;
  };
  const before = same();
  const names = changing(path, () => readdirSync(path)); // removed or replaced right after the check
  if (same() !== before) changedDir(path);
  return { names, ctimeMs: before };
}

function changedDir(path: string): never {
  throw new MinicError("EARCHIVE", `directory ${path} changed while it was being read`, { hint: "do not modify the tree while minic reads it; run it again" });
}

/** An empty `.wh.` marker file. */
export function whiteoutEntry(name: string, mtime = 0): Entry {
  return { name, kind: "file", mode: 0, uid: 0, gid: 0, mtime: Math.floor(mtime), size: 0 };
}

/** Directories under `root` marked opaque by overlayfs (relative names). */
export async function opaqueDirs(root: string): Promise<Set<string>> {
  const out = new Set<string>();
  for (const [rel, list] of await treeXattrs(root, "trusted.overlay.opaque")) if (list.some((x) => x.value.toString() === "y")) out.add(rel);
  return out;
}

/**
 * Layers name entries in UTF-8. A name that is not valid UTF-8 would come back from readdir
 * mangled (U+FFFD) and could then be neither read nor packed faithfully: refuse it by name.
 */
function refuseNonUtf8(root: string, rel: string): void {
  for (const raw of readdirSync(join(root, rel), { encoding: "buffer" })) {
    if (!isUtf8(raw)) {
      throw new MinicError("EARCHIVE", `file name '${rel ? rel + "/" : ""}${showBytes(raw)}' in ${root} is not valid UTF-8`, {
        hint: "rename it (e.g. convmv -f latin1 -t utf8 --notest): layers store names as UTF-8",
      });
    }
  }
}
