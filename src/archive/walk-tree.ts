// Reads a directory tree into entries (metadata only; data is read later, when packing).
// Synchronous calls on purpose: a walk of thousands of entries is several times faster that way.
import { lstatSync, readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { isUtf8 } from "node:buffer";
import { showBytes } from "./utf8-name.js";
import { MinicError } from "../core/errors.js";
import { status } from "../util/exec.js";
import type { HostFile } from "./cpio-writer.js";
import { kindOfMode, OPAQUE_MARKER, WHITEOUT_PREFIX, type Entry } from "./entry.js";

/** An entry and, for files, the host file its data is read from. */
export interface TreeEntry {
  entry: Entry;
  hostPath?: string;
  /** `dev:ino` of the file when walked (see HostFile). */
  hostId?: string;
}

/** The data source of a walked entry: its host file, checked again when it is read. */
export function treeData(t: TreeEntry): HostFile | undefined {
  return t.hostPath === undefined ? undefined : { path: t.hostPath, id: t.hostId ?? "" };
}

export interface WalkOptions {
  /**
   * Read the tree as an overlayfs upper dir: a 0/0 char device becomes a `.wh.NAME` whiteout and
   * a directory with `trusted.overlay.opaque=y` gets a `.wh..wh..opq` marker.
   */
  overlay?: boolean;
  /** Force every entry's owner to 0:0 (imports of untrusted trees keep owners unless asked). */
  squashOwner?: boolean;
}

const BATCH = 64;

/** Walks `root` (which itself is not an entry), returning entries in no particular order. */
export async function walkTree(root: string, opts: WalkOptions = {}): Promise<TreeEntry[]> {
  const opaque = opts.overlay ? await opaqueDirs(root) : new Set<string>();
  const out: TreeEntry[] = [];
  const stack: { rel: string; ino: number }[] = [{ rel: "", ino: lstatSync(root).ino }];
  while (stack.length > 0) {
    const { rel, ino } = stack.pop()!;
    const names = readDirChecked(join(root, rel), ino);
    if (names.some((n) => n.includes("\uFFFD"))) refuseNonUtf8(root, rel);
    for (let i = 0; i < names.length; i += BATCH) {
      const slice = names.slice(i, i + BATCH);
      const stats = slice.map((n) => lstatSync(join(root, rel, n)));
      for (let j = 0; j < slice.length; j++) {
        const name = rel ? `${rel}/${slice[j]}` : slice[j]!;
        const st = stats[j]!;
        const hostPath = join(root, name);
        const kind = kindOfMode(st.mode);
        if (kind === undefined) throw new MinicError("EARCHIVE", `unsupported file type at ${hostPath}`);
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
        if (kind === "symlink") entry.linkname = readlinkSync(hostPath);
        if (kind === "chardev" || kind === "blockdev") {
          entry.rdevMajor = major;
          entry.rdevMinor = minor;
        }
        if (kind === "file" && st.nlink > 1) entry.linkKey = `${st.dev}:${st.ino}`;
        out.push(kind === "file" ? { entry, hostPath, hostId: `${st.dev}:${st.ino}` } : { entry });
        if (kind === "dir") {
          stack.push({ rel: name, ino: st.ino });
          if (opaque.has(name)) out.push({ entry: whiteoutEntry(`${name}/${OPAQUE_MARKER}`, entry.mtime) });
        }
      }
    }
  }
  return out;
}

/**
 * Lists a directory that was walked as inode `ino`, refusing (EARCHIVE) when it has since been
 * replaced, e.g. by a symlink to a host directory: its listing must not enter the layer.
 */
function readDirChecked(path: string, ino: number): string[] {
  const same = () => {
    const st = lstatSync(path, { throwIfNoEntry: false });
    return st !== undefined && st.isDirectory() && st.ino === ino;
  };
  if (!same()) changedDir(path);
  const names = readdirSync(path);
  if (!same()) changedDir(path);
  return names;
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
  const r = await status(["getfattr", "-R", "-P", "--absolute-names", "-n", "trusted.overlay.opaque", root], { stdout: "pipe", stderr: "pipe" });
  const out = new Set<string>();
  let current: string | null = null;
  for (const line of r.stdout.split("\n")) {
    if (line.startsWith("# file: ")) current = unescapeGetfattr(line.slice(8));
    else if (current !== null && line.startsWith("trusted.overlay.opaque=") && /"y"/.test(line)) {
      const rel = current === root ? "" : current.slice(root.length + 1);
      if (rel) out.add(rel);
    }
  }
  return out;
}

function unescapeGetfattr(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const m = /^\\([0-7]{3})/.exec(s.slice(i, i + 4));
    if (m) {
      bytes.push(parseInt(m[1]!, 8));
      i += 3;
    } else bytes.push(...Buffer.from(s[i]!, "utf8"));
  }
  return Buffer.from(bytes).toString("utf8");
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
