// Writes archive members into a directory without ever following a symlink or leaving it.
import { chmodSync, closeSync, constants as fsc, fchmodSync, fchownSync, fstatSync, futimesSync, lchownSync, linkSync, lstatSync, lutimesSync, mkdirSync, openSync, readFileSync, symlinkSync, unlinkSync, type Stats } from "node:fs";
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { MinicError } from "../core/errors.js";
import { atPath, faultInText } from "../core/faults.js";
import { ExecError, run as exec } from "../util/exec.js";
import { writeAllSync } from "../util/write-all.js";

/** Runs a program that makes `path` (mknod, mkfifo, setfattr); a full disk it reports is a fault at `path`. */
async function run(argv: readonly string[], path = argv[argv.length - 1]!): Promise<void> {
  try {
    await exec(argv);
  } catch (e) {
    throw (e instanceof ExecError && faultInText(e.stderr, path)) || e;
  }
}
import { OPAQUE_MARKER, WHITEOUT_PREFIX, type Entry } from "./entry.js";
import type { Xattr } from "../core/xattrs.js";
import { setXattrs } from "./xattr-io.js";

/** A member to unpack (cpio and tar readers both produce these). */
export interface UnpackMember {
  entry: Entry;
  data: AsyncIterable<Buffer>;
  /** cpio: members with equal `ino` (and nlink > 1) are one file. */
  ino?: number;
  nlink?: number;
  /** tar: a hard link to an earlier member of the same archive. */
  hardlinkTo?: string;
}

/**
 * What to do with `.wh.` entries:
 * - overlay: a 0/0 char device for `.wh.X`, xattr trusted.overlay.opaque=y for the opaque marker;
 * - keep: write them as the empty files they are (aufs reads them natively);
 * - apply: delete what they name from the tree below (flattening layers into one tree).
 */
export type WhiteoutMode = "overlay" | "keep" | "apply";

export interface UnpackOptions {
  whiteouts: WhiteoutMode;
  /** Create char/block devices (other than whiteouts); otherwise refuse them. */
  devices: boolean;
  /** Keep setuid/setgid bits; otherwise clear them. */
  setuid: boolean;
  /** Restore uid/gid (as root); otherwise files belong to the unpacking user. */
  owners: boolean;
}

/** Counts of what was written, for the caller's report. */
export interface UnpackReport {
  entries: number;
  bytes: number;
  /** Directories marked opaque (whiteouts "overlay"): relative names (a root marker is ignored). */
  opaque: string[];
}

/**
 * What `dest` holds before the unpack: "fresh", an empty directory made for it (nothing is there
 * that this unpack did not write, so no name is looked up before it is made), or "existing" (a
 * tree of earlier layers, flattening: every name is looked up first).
 */
export type UnpackInto = "fresh" | "existing";

/** open(2) flags of a new file: never through a symlink, never over an existing name. */
const NEW_FILE = fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW;

/**
 * This process's umask, read from /proc/self/status (process.umask() cannot read it without
 * setting it); undefined where that cannot be read.
 */
function currentUmask(): number | undefined {
  try {
    const m = /^Umask:\s*([0-7]+)$/m.exec(readFileSync("/proc/self/status", "latin1"));
    if (m) return parseInt(m[1]!, 8);
  } catch {
    /* not Linux's /proc */
  }
  return undefined;
}

/** What every node an unpack makes in a fresh tree gets before any chown or chmod. */
interface NewNodes {
  uid: number;
  gid: number;
  /** Mode bits open(2) takes from a new file's. */
  umask: number;
}

/**
 * What new nodes in the fresh tree `dest` get, found by making one: a probe file, asked for mode
 * 0777, is looked at and removed before any member is written. It stands for the whole tree: the
 * unpack makes every directory in it, without a setgid bit (their modes are set last, in
 * finish), so they all inherit what `dest` gives. A probe that gets other ids than the process's
 * (a setgid `dest` of another group, a `grpid` mount, a squashing or idmapped one) or a mode the
 * umask alone does not explain (a default ACL on `dest`, which overrides the umask) says
 * nothing can be left out: undefined, and every node gets its owner and mode set.
 */
function probeNewNodes(dest: string): NewNodes | undefined {
  const umask = currentUmask();
  if (umask === undefined || process.geteuid === undefined || process.getegid === undefined) return undefined;
  const probe = join(dest, `.minic-probe-${process.pid}`);
  let fd: number;
  try {
    fd = openSync(probe, NEW_FILE, 0o777);
  } catch {
    return undefined; // the members' own writes say what is wrong
  }
  try {
    const st = fstatSync(fd);
    const ids = { uid: process.geteuid(), gid: process.getegid() };
    return st.uid === ids.uid && st.gid === ids.gid && (st.mode & 0o7777) === (0o777 & ~umask) ? { ...ids, umask } : undefined;
  } finally {
    closeSync(fd);
    unlinkSync(probe); // a probe left in the tree would be a member of it: better to fail
  }
}

/** lstat that gives null for a name that is not there. */
function lstatOrNull(path: string): Stats | null {
  return lstatSync(path, { throwIfNoEntry: false }) ?? null;
}

/**
 * Unpacks members into `dest` (an existing directory). Refuses (EARCHIVE) a member whose path
 * goes through a symlink written by the same archive, a device node unless `devices`, and a
 * bare `.wh.` name. In `apply` mode a symlink left by an earlier layer in a parent position is
 * replaced by a directory, as overlayfs would show it. Never writes outside `dest`.
 *
 * File system calls are synchronous and made through the new file's descriptor (open O_EXCL,
 * write, futimes, close: no lookup before, no thread-pool round trip per call): the data comes
 * from another process (the decompressor) that goes on working meanwhile. In a fresh tree, a
 * file is made with its mode where open(2) leaves it whole and it has no setuid, setgid or
 * sticky bit, and given its owner only when new nodes would not have it already (probeNewNodes):
 * a tree of root's files costs 4 calls per file, fewer than `tar -xf` makes (6).
 */
export async function unpackMembers(members: AsyncIterable<UnpackMember>, dest: string, opts: UnpackOptions, into: UnpackInto = "existing"): Promise<UnpackReport> {
  const u = new Unpacker(dest, opts, into === "fresh");
  for await (const m of members) await u.add(m);
  await u.finish();
  return u.report;
}

class Unpacker {
  readonly report: UnpackReport = { entries: 0, bytes: 0, opaque: [] };
  private readonly safeDirs = new Set<string>(["."]);
  private readonly written = new Set<string>();
  /** Overlay form: names this archive whited out, where a directory it makes next is opaque. */
  private readonly whitedOut = new Set<string>();
  private readonly dirMeta: Entry[] = [];
  private readonly byIno = new Map<number, { path?: string; waiting: string[]; entry: Entry }>();
  private readonly byName = new Map<string, string>();
  /** Nodes written with xattrs, by name: set once every node and its owner are in place (finish). */
  private readonly xattrs = new Map<string, Xattr[]>();

  /** What a new node gets before any chown or chmod (probeNewNodes), when known: fresh trees only. */
  private readonly newNodes: NewNodes | undefined;

  constructor(private readonly dest: string, private readonly opts: UnpackOptions, private readonly fresh: boolean) {
    this.newNodes = fresh ? probeNewNodes(dest) : undefined;
  }

  /** Whether the node of `e` must be given its owner (a node made here may have it already). */
  private needsOwner(e: Entry): boolean {
    return this.opts.owners && (this.newNodes === undefined || e.uid !== this.newNodes.uid || e.gid !== this.newNodes.gid);
  }

  /** What is at `rel` now; in a fresh tree, only a name this unpack made can be there. */
  private present(path: string, rel: string): Stats | null {
    if (this.fresh && !this.written.has(rel) && !this.safeDirs.has(rel)) return null;
    return lstatOrNull(path);
  }

  private abs(rel: string): string {
    return rel === "." ? this.dest : join(this.dest, rel);
  }

  async add(m: UnpackMember): Promise<void> {
    const e = m.entry;
    if (e.name === ".") {
      if (e.kind === "dir") this.dirMeta.push(e);
      return;
    }
    this.report.entries++;
    const base = e.name.slice(e.name.lastIndexOf("/") + 1);
    const parent = e.name.includes("/") ? e.name.slice(0, e.name.lastIndexOf("/")) : ".";
    if (base === WHITEOUT_PREFIX) {
      throw new MinicError("EARCHIVE", `refusing bare whiteout '${e.name}'`, { hint: "a whiteout must name what it deletes (.wh.NAME)" });
    }
    if (base.startsWith(WHITEOUT_PREFIX) && this.opts.whiteouts !== "keep") {
      await this.whiteout(parent, base);
      return;
    }
    await this.ensureDir(parent);
    try {
      await this.write(m, this.abs(e.name));
    } finally {
      this.written.add(e.name); // after: what was there before it is looked up in a fresh tree too
    }
    if (e.xattrs?.length && e.kind !== "socket") this.xattrs.set(e.name, e.xattrs);
  }

  /** Writes member `m` (not a whiteout) at `path`, its parent being a safe directory. */
  private async write(m: UnpackMember, path: string): Promise<void> {
    const e = m.entry;
    switch (e.kind) {
      case "dir": {
        const st = this.present(path, e.name);
        if (st && !st.isDirectory()) await rm(path, { recursive: true, force: true });
        if (!st || !st.isDirectory()) mkdirSync(path, { mode: 0o700 });
        // `.wh.d` and then `d/` in one layer: the whiteout deletes the lower layers' d, and this d
        // is new (OCI: a whiteout applies to the layers below only), so in overlayfs it is opaque.
        if (this.whitedOut.delete(e.name)) await this.makeOpaque(path, e.name);
        this.safeDirs.add(e.name);
        this.dirMeta.push(e);
        return;
      }
      case "file":
        await this.file(m, path);
        return;
      case "symlink":
        await this.clear(path, e.name);
        symlinkSync(e.linkname ?? "", path);
        this.meta(e, path);
        return;
      case "fifo":
        await this.clear(path, e.name);
        await run(["mkfifo", "-m", "600", path]);
        this.meta(e, path);
        return;
      case "chardev":
      case "blockdev":
        if (!this.opts.devices) {
          throw new MinicError("EARCHIVE", `refusing device node '${e.name}'`, { hint: "device nodes are only unpacked from trusted layers; the container gets its own /dev" });
        }
        await this.clear(path, e.name);
        await run(["mknod", "-m", "600", path, e.kind === "chardev" ? "c" : "b", String(e.rdevMajor ?? 0), String(e.rdevMinor ?? 0)], path);
        this.meta(e, path);
        return;
      case "socket":
        return; // sockets cannot be recreated from an archive; they are skipped like GNU cpio does
    }
  }

  private async file(m: UnpackMember, path: string): Promise<void> {
    const e = m.entry;
    if (m.hardlinkTo !== undefined) {
      const target = this.byName.get(m.hardlinkTo);
      if (target === undefined) {
        throw new MinicError("EARCHIVE", `hard link '${e.name}' points to '${m.hardlinkTo}', which is not an earlier file of this archive`, {
          hint: "the archive is hostile or corrupt",
        });
      }
      await this.linkInside(target, e.name);
      this.byName.set(e.name, target);
      return;
    }
    const linked = (m.nlink ?? 1) > 1 && m.ino !== undefined;
    if (linked) {
      const g = this.byIno.get(m.ino!) ?? { waiting: [], entry: e };
      this.byIno.set(m.ino!, g);
      if (g.path !== undefined) {
        await this.linkInside(g.path, e.name);
        for await (const _ of m.data);
        return;
      }
      if (e.size === 0) {
        g.waiting.push(e.name);
        return;
      }
    }
    await this.clear(path, e.name);
    const mode = this.mode(e);
    // Made with its mode when open(2) leaves it whole: no setuid/setgid/sticky bit (a chown
    // would clear the first two, so those are set after it) and nothing the umask takes.
    const whole = this.newNodes !== undefined && (mode & 0o7000) === 0 && (mode & this.newNodes.umask) === 0;
    const fd = openSync(path, NEW_FILE, whole ? mode : 0o600);
    try {
      for await (const chunk of m.data) {
        try {
          writeAllSync(fd, chunk);
        } catch (err) {
          throw atPath(err, path);
        }
        this.report.bytes += chunk.length;
      }
      // Through the descriptor: owner first (a chown clears setuid bits), then mode, then times.
      if (this.needsOwner(e)) fchownSync(fd, e.uid, e.gid);
      if (!whole) fchmodSync(fd, mode);
      futimesSync(fd, e.mtime, e.mtime);
    } finally {
      closeSync(fd);
    }
    this.written.add(e.name);
    this.byName.set(e.name, e.name);
    if (linked) {
      const g = this.byIno.get(m.ino!)!;
      g.path = e.name;
      for (const w of g.waiting) await this.linkInside(e.name, w);
      g.waiting = [];
    }
  }

  /**
   * Hard-links `fromRel` (a file this archive wrote) as `toRel`. Both parents are re-checked first:
   * a later member may have replaced a directory on either path by a symlink, and link(2)
   * resolves every component but the last, so an unchecked link could reach a host file.
   */
  private async linkInside(fromRel: string, toRel: string): Promise<void> {
    if (fromRel === toRel) return; // a name repeated in its own link group: it is that file already
    if (!this.safeDirs.has(parentOf(fromRel))) {
      throw new MinicError("EARCHIVE", `hard link '${toRel}' points to '${fromRel}', whose directory was replaced by a later member`, {
        hint: "the archive is hostile or corrupt",
      });
    }
    const st = lstatOrNull(this.abs(fromRel));
    if (st === null || !st.isFile()) {
      throw new MinicError("EARCHIVE", `hard link '${toRel}' points to '${fromRel}', which is no longer a regular file`, { hint: "the archive is hostile or corrupt" });
    }
    await this.ensureDir(parentOf(toRel));
    const to = this.abs(toRel);
    await this.clear(to, toRel);
    linkSync(this.abs(fromRel), to);
    this.written.add(toRel);
  }

  /** Makes sure `rel` is a real directory inside dest, creating parents as needed. */
  private async ensureDir(rel: string): Promise<void> {
    if (this.safeDirs.has(rel)) return;
    const parent = rel.includes("/") ? rel.slice(0, rel.lastIndexOf("/")) : ".";
    await this.ensureDir(parent);
    const path = this.abs(rel);
    const st = this.present(path, rel);
    if (st === null) {
      mkdirSync(path, { mode: 0o755 });
    } else if (!st.isDirectory() && this.whitedOut.delete(rel)) {
      // `.wh.d` and then `d/x` without a `d/` member: d is made anew, as opaque as a `d/` member makes it.
      unlinkSync(path);
      mkdirSync(path, { mode: 0o755 });
      await this.makeOpaque(path, rel);
    } else if (!st.isDirectory()) {
      if (this.written.has(rel) || this.opts.whiteouts !== "apply") {
        throw new MinicError("EARCHIVE", `refusing to write through '${rel}', which is ${st.isSymbolicLink() ? "a symlink" : "not a directory"}`, {
          hint: "the archive tries to write outside its tree; it is hostile or corrupt",
        });
      }
      await rm(path, { recursive: true, force: true });
      mkdirSync(path, { mode: 0o755 });
    }
    this.safeDirs.add(rel);
  }

  /** Removes whatever is at `path` before a new node takes its place. */
  private async clear(path: string, rel: string): Promise<void> {
    const st = this.present(path, rel);
    if (st === null) return;
    if (this.xattrs.size > 0) for (const k of [...this.xattrs.keys()]) if (k === rel || k.startsWith(rel + "/")) this.xattrs.delete(k);
    if (st.isDirectory()) {
      await rm(path, { recursive: true, force: true });
      for (const d of this.safeDirs) if (d === rel || d.startsWith(rel + "/")) this.safeDirs.delete(d);
    } else unlinkSync(path);
  }

  private async whiteout(parent: string, base: string): Promise<void> {
    if (base === WHITEOUT_PREFIX) {
      throw new MinicError("EARCHIVE", `refusing bare whiteout '${parent}/${base}'`, { hint: "a whiteout must name what it deletes (.wh.NAME)" });
    }
    await this.ensureDir(parent);
    const dir = this.abs(parent);
    if (base === OPAQUE_MARKER) {
      // overlayfs ignores an opaque layer root (it always merges the roots); so does every driver.
      if (parent === ".") return;
      if (this.opts.whiteouts === "overlay") {
        await this.makeOpaque(dir, parent);
      } else {
        await this.clearLower(parent);
      }
      return;
    }
    const victim = base.slice(WHITEOUT_PREFIX.length);
    if (victim === "." || victim === ".." || victim.includes("/")) {
      throw new MinicError("EARCHIVE", `refusing whiteout '${base}'`, { hint: "the archive is hostile or corrupt" });
    }
    const rel = parent === "." ? victim : `${parent}/${victim}`;
    const path = join(dir, victim);
    if (this.isOwn(rel)) {
      // The layer's own node of that name came first (`-d/` or `-d/x` sort before `.wh.-d`): it
      // stays (OCI: a whiteout deletes what the layers below have), and a directory of it hides
      // theirs: opaque in overlay form, their files removed when applied.
      const st = lstatOrNull(path);
      if (!st?.isDirectory()) return;
      if (this.opts.whiteouts === "overlay") {
        if (!this.report.opaque.includes(rel)) await this.makeOpaque(path, rel);
      } else await this.clearLower(rel);
      return;
    }
    if (this.opts.whiteouts === "overlay") {
      await this.clear(path, rel);
      await run(["mknod", "-m", "000", path, "c", "0", "0"], path);
      this.written.add(rel);
      this.whitedOut.add(rel);
    } else if (!this.written.has(rel)) {
      await this.clear(path, rel);
    }
  }

  /** Whether this archive has `rel`: a member of that name, or a directory its members imply (one made or used as their parent). */
  private isOwn(rel: string): boolean {
    return this.written.has(rel) || (rel !== "." && this.safeDirs.has(rel));
  }

  /**
   * Apply form: removes from the directory `rel` what the layers below left in it, keeping what
   * this archive wrote (and, in a directory it wrote or made, removing theirs below that too).
   */
  private async clearLower(rel: string): Promise<void> {
    const dir = this.abs(rel);
    for (const n of await readdir(dir)) {
      const child = rel === "." ? n : `${rel}/${n}`;
      if (!this.isOwn(child)) await this.clear(join(dir, n), child);
      else if (lstatOrNull(join(dir, n))?.isDirectory()) await this.clearLower(child);
    }
  }

  /** Marks the directory `rel` (at `path`) opaque for overlayfs: nothing of the layers below shows through it. */
  private async makeOpaque(path: string, rel: string): Promise<void> {
    await run(["setfattr", "-n", "trusted.overlay.opaque", "-v", "y", path]);
    this.report.opaque.push(rel);
  }

  /** The mode bits a member is given (setuid/setgid dropped unless kept). */
  private mode(e: Entry): number {
    return this.opts.setuid ? e.mode & 0o7777 : e.mode & 0o1777;
  }

  /** Owner, mode (not of a symlink) and times of a node at `path`, which is not followed. */
  private meta(e: Entry, path: string): void {
    if (this.needsOwner(e)) lchownSync(path, e.uid, e.gid);
    if (e.kind !== "symlink") chmodSync(path, this.mode(e));
    lutimesSync(path, e.mtime, e.mtime);
  }

  /** Creates files still waiting for their hard-link data, then applies directory metadata deepest first. */
  async finish(): Promise<void> {
    for (const g of this.byIno.values()) {
      if (g.path === undefined && g.waiting.length > 0) {
        const [first, ...rest] = g.waiting;
        await this.ensureDir(parentOf(first!));
        const p = this.abs(first!);
        await this.clear(p, first!);
        closeSync(openSync(p, NEW_FILE, 0o600));
        this.written.add(first!);
        this.meta({ ...g.entry, name: first! }, p);
        for (const w of rest) await this.linkInside(first!, w);
      }
    }
    // Only directories still in place: a later member may have replaced one (or a parent) by a
    // symlink, and chmod/utimes on such a path would follow it onto the host.
    const dirs = [...this.dirMeta].sort((a, b) => b.name.length - a.name.length);
    for (const d of dirs) {
      if (!this.safeDirs.has(d.name)) continue;
      const p = this.abs(d.name);
      const st = lstatOrNull(p);
      if (st !== null && st.isDirectory()) this.meta(d, p);
    }
    await this.applyXattrs();
  }

  /**
   * Sets the xattrs of the nodes written with them, last: a chown clears security.capability,
   * so they come after every owner. One `setfattr --restore` for the whole tree (nothing runs
   * for a tree without xattrs), with paths relative to dest and symlinks not followed (-h); a
   * node whose directory a later member replaced, or that is gone, is refused as hostile.
   */
  private async applyXattrs(): Promise<void> {
    if (this.xattrs.size === 0) return;
    const rows = [...this.xattrs].map(([path, xattrs]) => ({ path, xattrs }));
    for (const { path } of rows) {
      if (!this.safeDirs.has(parentOf(path)) || lstatOrNull(this.abs(path)) === null) {
        throw new MinicError("EARCHIVE", `cannot set the xattrs of '${path}': a later member replaced it or its directory`, { hint: "the archive is hostile or corrupt" });
      }
    }
    await setXattrs(this.dest, rows);
  }
}

function parentOf(rel: string): string {
  const i = rel.lastIndexOf("/");
  return i < 0 ? "." : rel.slice(0, i);
}
