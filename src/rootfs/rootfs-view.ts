// The merged view of stacked layer directories (a build's upper dir over its base, a
// container's layers) with overlayfs semantics (whiteouts, opaque dirs), symlinks resolved
// inside the image root only, and writes that go to the upper dir and never through a symlink.
import { createHash } from "node:crypto";
import { constants, lstatSync, readdirSync, readlinkSync, type Stats } from "node:fs";
import { chmod, lchown, link, lutimes, mkdir, rm, symlink, unlink, open, type FileHandle } from "node:fs/promises";
import type { Digest } from "../core/digest.js";
import { join } from "node:path";
import { pathParts } from "../core/container-path.js";
import { atPath } from "../core/faults.js";
import { MinicError, withContext } from "../core/errors.js";
import { opaqueDirs } from "../archive/walk-tree.js";
import { treeXattrs } from "../archive/xattr-io.js";
import type { Xattr } from "../core/xattrs.js";
import { run } from "../util/exec.js";

/** The directories marked opaque (trusted.overlay.opaque=y) in a layer's xattrs by name. */
function opaqueIn(xattrs: ReadonlyMap<string, Xattr[]>): Set<string> {
  const out = new Set<string>();
  for (const [rel, list] of xattrs) if (list.some((x) => x.name === "trusted.overlay.opaque" && x.value.toString() === "y")) out.add(rel);
  return out;
}

/** A visible node: which layer shows it (0 = upper) and its lstat there. */
export interface Visible {
  layer: number;
  rel: string;
  st: Stats;
}

export interface NodeMeta {
  mode: number;
  uid: number;
  gid: number;
}

const MAX_LINKS = 40;
const COPY_CHUNK = 1 << 20;
const ZERO_CHUNK = Buffer.alloc(COPY_CHUNK);

export class RootfsView {
  private readonly layers: string[];
  private opaque: Set<string>[] = [];
  /** Every xattr of each lower layer's nodes, by relative name (only when opened with `xattrs`). */
  private xattrs: Map<string, Xattr[]>[] = [];
  private readonly lowerCache = new Map<string, Stats | null>();

  /** `lowers` top first. The upper dir must exist. */
  private constructor(readonly upper: string, lowers: readonly string[]) {
    this.layers = [upper, ...lowers];
  }

  /**
   * The view of `upper` over `lowers`. Each layer's opaque directories are read with one
   * `getfattr -R` per layer; with `xattrs` that same call reads every xattr of the lower layers
   * too (as fast: getfattr lists and reads each node's attributes either way), for xattrsOf.
   * With `opaque`, the caller already knows them (upper first, one set per layer: a container's
   * fresh upper dir and the store's opaque records of its layers), and no getfattr runs.
   */
  static async open(upper: string, lowers: readonly string[], opts: { xattrs?: boolean; opaque?: readonly ReadonlySet<string>[] } = {}): Promise<RootfsView> {
    const v = new RootfsView(upper, lowers);
    if (opts.opaque && !opts.xattrs) {
      if (opts.opaque.length !== v.layers.length) throw new Error(`RootfsView.open: ${opts.opaque.length} opaque sets for ${v.layers.length} layers`);
      v.opaque = opts.opaque.map((s) => new Set(s));
      return v;
    }
    if (!opts.xattrs) {
      v.opaque = await Promise.all(v.layers.map((l) => opaqueDirs(l)));
      return v;
    }
    const all = await Promise.all(v.layers.map((l, i) => (i === 0 ? new Map<string, Xattr[]>() : treeXattrs(l))));
    v.opaque = await Promise.all(all.map((m, i) => (i === 0 ? opaqueDirs(upper) : opaqueIn(m))));
    v.xattrs = all;
    return v;
  }

  /**
   * Every xattr of the lower-layer node `v` as its layer dir has it (trusted.overlay.* included),
   * or undefined when it has none or the view was not opened with `xattrs`.
   */
  xattrsOf(v: Visible): Xattr[] | undefined {
    return v.layer === 0 ? undefined : this.xattrs[v.layer]?.get(v.rel);
  }

  /** Re-reads the upper dir's opaque markers (after a run step changed it under overlayfs). */
  async refreshUpper(): Promise<void> {
    this.opaque[0] = await opaqueDirs(this.upper);
  }

  /** Whether the upper dir's directory `rel` is opaque (as last read: see refreshUpper). */
  opaqueInUpper(rel: string): boolean {
    return this.opaque[0]!.has(rel);
  }

  private lstatIn(layer: number, rel: string): Stats | null {
    const path = join(this.layers[layer]!, rel);
    if (layer === 0) return lstatSync(path, { throwIfNoEntry: false }) ?? null;
    const key = `${layer}\0${rel}`;
    if (!this.lowerCache.has(key)) this.lowerCache.set(key, lstatSync(path, { throwIfNoEntry: false }) ?? null);
    return this.lowerCache.get(key)!;
  }

  /** The node visible at real path `rel` (components already free of symlinks), or null. */
  visible(rel: string): Visible | null {
    return this.lookup(rel)?.found ?? null;
  }

  /**
   * The node visible at `rel` and the layers that make it up, top first: for a directory, each
   * layer whose directory there merges into it (down to an opaque one); otherwise none.
   */
  private lookup(rel: string): { found: Visible; below: number[] } | null {
    const parts = rel === "" ? [] : rel.split("/");
    let active = this.layers.map((_, i) => i);
    let found: Visible | null = { layer: 0, rel: "", st: lstatSync(this.upper) };
    for (let j = 0; j < parts.length; j++) {
      const prefix = parts.slice(0, j + 1).join("/");
      const next: number[] = [];
      found = null;
      for (const i of active) {
        const st = this.lstatIn(i, prefix);
        if (!st) continue;
        if (isWhiteout(st)) break;
        if (found === null) found = { layer: i, rel: prefix, st };
        if (st.isDirectory() && found.st.isDirectory()) {
          next.push(i);
          if (this.opaque[i]!.has(prefix)) break;
        } else break;
      }
      if (found === null) return null;
      if (j < parts.length - 1 && !found.st.isDirectory()) return null;
      active = next;
    }
    return { found, below: active };
  }

  /**
   * The names visible in the directory at real path `rel` (as `visible` says: whiteouts and what
   * opaque directories hide left out), sorted; [] when `rel` is not a directory of the view.
   */
  children(rel: string): string[] {
    const at = this.lookup(rel);
    if (!at?.found.st.isDirectory()) return [];
    const names = new Set<string>();
    for (const i of at.below) for (const n of readdirSync(join(this.layers[i]!, rel))) names.add(n);
    return [...names].filter((n) => this.visible(rel ? `${rel}/${n}` : n) !== null).sort();
  }

  /** The host path of the node `v` (in the layer dir that shows it), to read its data or link target from. */
  hostPath(v: Visible): string {
    return join(this.layers[v.layer]!, v.rel);
  }

  /**
   * Resolves an absolute image path to a real relative path: every parent symlink is followed
   * inside the image root (absolute targets start again at the root, `..` stops at it); the last
   * component is followed only when `followLast`.
   */
  resolve(path: string, followLast = false): string {
    let todo = pathParts(path);
    const cur: string[] = [];
    let links = 0;
    while (todo.length > 0) {
      const comp = todo.shift()!;
      if (comp === "." || comp === "") continue;
      if (comp === "..") {
        cur.pop();
        continue;
      }
      const candidate = [...cur, comp].join("/");
      const last = todo.length === 0;
      const v = last && !followLast ? null : this.visible(candidate);
      if (v && v.st.isSymbolicLink()) {
        if (++links > MAX_LINKS) throw new MinicError("EPATH", `too many levels of symbolic links resolving ${path}`, { hint: "a symlink of the image points back into itself: fix or remove the link" });
        const target = readlinkSync(join(this.layers[v.layer]!, candidate));
        if (target.startsWith("/")) cur.length = 0;
        todo = [...target.split("/"), ...todo];
        continue;
      }
      cur.push(comp);
    }
    return cur.join("/");
  }

  /** Makes `rel` and its parents real directories in the upper dir (copying lower dirs' metadata up). */
  async ensureDir(rel: string, meta: NodeMeta = { mode: 0o755, uid: 0, gid: 0 }): Promise<void> {
    const parts = rel === "" ? [] : rel.split("/");
    for (let j = 0; j < parts.length; j++) {
      const prefix = parts.slice(0, j + 1).join("/");
      const up = this.lstatIn(0, prefix);
      if (up?.isDirectory()) continue;
      const v = this.visible(prefix);
      if (v && !v.st.isDirectory()) {
        throw new MinicError("EPATH", `cannot create /${rel}: /${prefix} exists and is not a directory`, { hint: "remove it first with remove()" });
      }
      const path = join(this.upper, prefix);
      if (up) await rm(path, { force: true });
      await this.newUpperDir(prefix, v === null);
      const m = v ? { mode: v.st.mode & 0o7777, uid: v.st.uid, gid: v.st.gid } : meta;
      await lchown(path, m.uid, m.gid);
      await chmod(path, m.mode);
      if (v) await lutimes(path, v.st.atime, v.st.mtime);
    }
  }

  /**
   * Makes a directory in the upper dir. When it replaces something that was not a directory
   * (a deletion, a file) while a lower layer still has a node there, it is made opaque, so the
   * lower layers' old contents do not show through (what overlayfs does for rm + mkdir).
   */
  private async newUpperDir(rel: string, replacesNonDir: boolean): Promise<void> {
    const path = join(this.upper, rel);
    await mkdir(path);
    if (replacesNonDir && this.layers.slice(1).some((_, i) => this.lstatIn(i + 1, rel) !== null)) {
      await run(["setfattr", "-n", "trusted.overlay.opaque", "-v", "y", path]);
      this.opaque[0]!.add(rel);
    }
  }

  /** Clears whatever the upper dir holds at `rel` (the parent must already be a real upper dir). */
  private async clearUpper(rel: string): Promise<void> {
    const st = this.lstatIn(0, rel);
    if (!st) return;
    if (st.isDirectory()) await rm(join(this.upper, rel), { recursive: true, force: true });
    else await unlink(join(this.upper, rel));
  }

  private parentOf(rel: string): string {
    return rel.includes("/") ? rel.slice(0, rel.lastIndexOf("/")) : "";
  }

  /** Creates or updates a directory at `rel`. */
  async putDir(rel: string, meta: NodeMeta): Promise<void> {
    await this.ensureDir(this.parentOf(rel));
    const up = this.lstatIn(0, rel);
    const path = join(this.upper, rel);
    if (!up?.isDirectory()) {
      const wasDir = this.visible(rel)?.st.isDirectory() ?? false;
      await this.clearUpper(rel);
      await this.newUpperDir(rel, !wasDir);
    }
    await lchown(path, meta.uid, meta.gid);
    await chmod(path, meta.mode);
  }

  /** Writes a regular file at `rel`, replacing what was there (a symlink is replaced, not followed). */
  async putFile(rel: string, data: Buffer, meta: NodeMeta): Promise<void> {
    await this.ensureDir(this.parentOf(rel));
    await this.clearUpper(rel);
    const path = join(this.upper, rel);
    const fh = await open(path, "wx", 0o600);
    try {
      await fh.writeFile(data).catch((e: unknown) => {
        throw atPath(e, path);
      });
    } finally {
      await fh.close();
    }
    await lchown(path, meta.uid, meta.gid);
    await chmod(path, meta.mode);
  }

  /**
   * Copies the host file `hostPath` to `rel` in 1 MiB chunks, replacing what was there: the node
   * is created afresh (O_EXCL after clearing), so a symlink at `rel` is replaced, never followed.
   * The source is opened without following a symlink or blocking on a fifo. All-zero chunks are
   * left as holes (sparse stays sparse). Returns the sha256 and length of the bytes copied, for the
   * caller to compare with what it expected. Throws EINPUT when the source is not a regular file.
   */
  async putFileFrom(rel: string, hostPath: string, meta: NodeMeta): Promise<{ digest: Digest; size: number }> {
    await this.ensureDir(this.parentOf(rel));
    await this.clearUpper(rel);
    const path = join(this.upper, rel);
    const src = await open(hostPath, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch((e: unknown) => {
      throw withContext(e, `cannot read '${hostPath}'`);
    });
    let copied: { digest: Digest; size: number };
    try {
      if (!(await src.stat()).isFile()) throw new MinicError("EINPUT", `'${hostPath}' is no longer a regular file`, { hint: "do not modify copied files while minic builds; run it again" });
      const dst = await open(path, "wx", 0o600);
      try {
        copied = await copyChunks(src, dst, path);
      } finally {
        await dst.close();
      }
    } finally {
      await src.close();
    }
    await lchown(path, meta.uid, meta.gid);
    await chmod(path, meta.mode);
    return copied;
  }

  /**
   * Makes `rel` a hard link of the regular file the upper dir holds at `existing`, replacing what
   * was there. Returns false, creating nothing, when `existing` is not a regular file of the
   * upper dir reached through real directories (the caller then writes the file itself).
   */
  async putHardLink(rel: string, existing: string): Promise<boolean> {
    const parts = existing.split("/");
    for (let j = 1; j < parts.length; j++) if (!this.lstatIn(0, parts.slice(0, j).join("/"))?.isDirectory()) return false;
    if (!this.lstatIn(0, existing)?.isFile()) return false;
    await this.ensureDir(this.parentOf(rel));
    await this.clearUpper(rel);
    // link(2) follows neither `existing` (a file under real directories, checked above) nor the
    // new name (cleared, under directories ensureDir made real).
    await link(join(this.upper, existing), join(this.upper, rel));
    return true;
  }

  /** Makes a symlink at `rel`, replacing what was there. */
  async putSymlink(rel: string, target: string, uid = 0, gid = 0): Promise<void> {
    await this.ensureDir(this.parentOf(rel));
    await this.clearUpper(rel);
    const path = join(this.upper, rel);
    await symlink(target, path);
    await lchown(path, uid, gid);
  }

  /** Deletes `rel` from the merged view: drops the upper copy and whites out lower ones. */
  async remove(rel: string): Promise<void> {
    if (!this.visible(rel)) throw new MinicError("EPATH", `cannot remove /${rel}: it does not exist`, { hint: "check the path against the base image (minic run BASE ls)" });
    await this.ensureDir(this.parentOf(rel));
    await this.clearUpper(rel);
    if (this.visible(rel)) await run(["mknod", "-m", "000", join(this.upper, rel), "c", "0", "0"]);
  }
}

/** Copies `src` to the empty `dst` from the start, hashing as it goes; all-zero chunks are skipped (holes). */
async function copyChunks(src: FileHandle, dst: FileHandle, dstPath: string): Promise<{ digest: Digest; size: number }> {
  const buf = Buffer.allocUnsafe(COPY_CHUNK);
  const h = createHash("sha256");
  let pos = 0;
  for (;;) {
    const { bytesRead } = await src.read(buf, 0, COPY_CHUNK, null);
    if (bytesRead === 0) break;
    const chunk = buf.subarray(0, bytesRead);
    h.update(chunk);
    if (!chunk.equals(ZERO_CHUNK.subarray(0, bytesRead))) {
      try {
        for (let off = 0; off < bytesRead; ) off += (await dst.write(chunk, off, bytesRead - off, pos + off)).bytesWritten;
      } catch (e) {
        throw atPath(e, dstPath);
      }
    }
    pos += bytesRead;
  }
  await dst.truncate(pos);
  return { digest: `sha256:${h.digest("hex")}`, size: pos };
}

function isWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}
