// Resolves a copy step's fast-glob patterns against the recipe's directory into the files,
// symlinks and directories it brings in, hashing each file and reading its xattrs.
import { createHash } from "node:crypto";
import { closeSync, constants, fstatSync, type BigIntStats, lstatSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, realpathSync, type Stats } from "node:fs";
import { join, relative, sep } from "node:path";
import { MinicError, withContext } from "../core/errors.js";
import type { Digest } from "../core/digest.js";
import { splitXattrs, xattrsDigest } from "../core/xattrs.js";
import { filesXattrs } from "../archive/xattr-io.js";
import { encodeHeader } from "../archive/cpio-newc.js";
import type { DigestCache } from "./digest-cache.js";
import { globMatches } from "./glob-cache.js";

/** One host node a copy step brings in. */
export interface CopyInput {
  /** Path relative to the pattern's static base (where it lands under `to`). */
  rel: string;
  /** Absolute host path. */
  hostPath: string;
  kind: "file" | "symlink" | "dir";
  /** sha256 of the content (files), of the link target (symlinks), of nothing (directories). */
  digest: Digest;
  executable: boolean;
  size: number;
  linkname?: string;
  /**
   * A file that is a hard link of another file this step copies: the `rel` of the first of
   * them (in `rel` order), which carries the data. Links are kept among the names one copy
   * step brings in, as `cp -a` does; a host link not matched by the patterns stays outside.
   */
  linkOf?: string;
  /** A file's carried xattrs (security.capability, user.*): their digest (xattrsDigest); absent when it has none. */
  xattrs?: Digest;
}

/**
 * The nodes matched by `patterns`, sorted by `rel`, copied the way `cp -a` would: symlinks as
 * symlinks (never followed), directories with everything under them (empty ones included).
 * A pattern naming one directory brings its contents (they land directly under `to`); a glob
 * match lands under `to` relative to the pattern's static part, a matched directory with its
 * whole tree. Relative patterns resolve under `baseDir` (the recipe's directory) and may not
 * reach outside it through a symlinked directory (EPATH); absolute patterns name host files on
 * purpose (e.g. /bin/busybox). Files get the digest of their carried xattrs (taken from `digests`
 * for a file whose identity it remembers, else read in one getfattr per 512 files). Throws EINPUT
 * when a pattern matches nothing or reaches a fifo, socket or device, EARCHIVE when a file is too
 * large for a layer or has an xattr over the size limit.
 */
export async function resolveCopyInputs(patterns: readonly string[], baseDir: string, where: string, cacheDir: string, digests?: DigestCache): Promise<CopyInput[]> {
  const realBase = realpathSync(baseDir);
  const byRel = new Map<string, CopyInput>();
  // Files with more than one link: their host inode (for linkGroups), and its digest (hashed once).
  const inodes = new Map<CopyInput, string>();
  const inodeDigests = new Map<string, { digest: Digest; size: number; first: CopyInput }>();
  // A name of an inode hashed under another name: that name (its xattrs are the inode's too).
  const sameInode = new Map<CopyInput, CopyInput>();
  // Each hashed file's identity when it was hashed: what its remembered xattrs digest is tied to.
  const idents = new Map<CopyInput, BigIntStats>();
  const { includes, excluded } = await splitExcludes(patterns, baseDir, cacheDir, where);
  for (const pattern of includes) {
    const absolute = pattern.startsWith("/");
    const cwd = absolute ? "/" : baseDir;
    const rel = normalisePattern(absolute ? pattern.slice(1) : pattern);
    const shown = (m: string) => (absolute ? `/${m}` : m);
    const all = (await globMatches(rel, cwd, cacheDir)).map((m) => m.replace(/\/+$/, "") || ".");
    if (all.length === 0) {
      throw new MinicError("EINPUT", `${where}: copy source '${pattern}' matches no files${absolute ? "" : ` in ${baseDir}`}`, {
        hint: "patterns are relative to the recipe file; check the spelling and that the files exist",
      });
    }
    const literal = all.length === 1 && all[0] === rel;
    const matches = all.filter((m) => !excluded(shown(m)));
    if (matches.length === 0) {
      throw new MinicError("EINPUT", `${where}: everything copy source '${pattern}' matches is excluded (by a '!' pattern or .minicignore)`, {
        hint: "narrow the exclude, or drop the copy source",
      });
    }
    const add = (hostPath: string, name: string, dest: string, st: Stats) => {
      if (excluded(shown(name))) return; // an excluded directory's tree stays out with it
      const id = st.isFile() && st.nlink > 1 ? `${st.dev}:${st.ino}` : undefined;
      const input = inputOf(hostPath, shown(name), dest, st, where, digests, id === undefined ? undefined : inodeDigests.get(id), idents);
      if (id !== undefined) {
        inodes.set(input, id);
        const first = inodeDigests.get(id)?.first;
        if (first) sameInode.set(input, first);
        else inodeDigests.set(id, { digest: input.digest, size: input.size, first: input });
      }
      byRel.set(dest, input);
      if (st.isDirectory()) walk(hostPath, name, dest);
    };
    const walk = (hostDir: string, name: string, dest: string) => {
      for (const n of readdirSync(hostDir).sort()) {
        const p = join(hostDir, n);
        add(p, `${name}/${n}`, dest ? `${dest}/${n}` : n, lstatSync(p));
      }
    };
    const walked = new Set<string>();
    for (const m of matches) {
      if (underAny(m, walked)) continue;
      const hostPath = join(cwd, m);
      const real = realpathSync(join(cwd, m.includes("/") ? m.slice(0, m.lastIndexOf("/")) : "."));
      if (!absolute && real !== realBase && !real.startsWith(realBase + sep)) {
        throw new MinicError("EPATH", `${where}: copy source '${m}' lies outside the recipe's directory`, { hint: "copy only files beside the recipe" });
      }
      const st = lstatSync(hostPath);
      if (st.isDirectory()) walked.add(m);
      if (literal && st.isDirectory()) {
        walk(hostPath, m, "");
        continue;
      }
      const staticBase = staticPrefix(rel, literal);
      add(hostPath, m, staticBase ? relative(staticBase, m) : m, st);
    }
  }
  const sorted = [...byRel.values()].sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  const listed = new Set(sorted);
  const borrows = (i: CopyInput) => listed.has(sameInode.get(i)!);
  await addXattrDigests(sorted.filter((i) => !sameInode.has(i) || !borrows(i)), idents, digests);
  for (const [i, first] of sameInode) if (listed.has(i) && borrows(i) && first.xattrs !== undefined) i.xattrs = first.xattrs;
  return linkGroups(sorted, (i) => inodes.get(i));
}

/**
 * Sets `xattrs` on each file input with carried xattrs: remembered by `digests` for the identity
 * the file had when hashed, or read (one getfattr per 512 files, none when all are remembered)
 * and then remembered. Throws EARCHIVE for an xattr over the size limit.
 */
async function addXattrDigests(inputs: readonly CopyInput[], idents: ReadonlyMap<CopyInput, BigIntStats>, digests?: DigestCache): Promise<void> {
  const unknown: CopyInput[] = [];
  for (const i of inputs) {
    if (i.kind !== "file") continue;
    const st = idents.get(i);
    const known = st && digests?.lookupXattrs(i.hostPath, st);
    if (known === undefined) unknown.push(i);
    else if (known !== null) i.xattrs = known;
  }
  if (unknown.length === 0) return;
  const found = await filesXattrs(unknown.map((i) => i.hostPath));
  for (const i of unknown) {
    const list = found.get(i.hostPath);
    const carried = list === undefined ? [] : splitXattrs(list, i.hostPath).carried;
    const d = carried.length > 0 ? xattrsDigest(carried) : null;
    if (d !== null) i.xattrs = d;
    const st = idents.get(i);
    if (st) digests?.rememberXattrs(i.hostPath, st, d);
  }
}

/**
 * Pure: `inputs` (sorted by rel) with `linkOf` set on every file after the first of each group
 * of files sharing one host inode (`inodeOf`: `dev:ino` of a file with more than one link).
 */
export function linkGroups(inputs: readonly CopyInput[], inodeOf: (i: CopyInput) => string | undefined): CopyInput[] {
  const first = new Map<string, string>();
  return inputs.map((i) => {
    const id = i.kind === "file" ? inodeOf(i) : undefined;
    if (id === undefined) return i;
    const leader = first.get(id);
    if (leader === undefined) {
      first.set(id, i.rel);
      return i;
    }
    return { ...i, linkOf: leader };
  });
}

/** The input for one host node (`known`: its inode's digest, hashed under another name); fifos, sockets and devices are refused (EINPUT). */
function inputOf(hostPath: string, shown: string, dest: string, st: Stats, where: string, digests?: DigestCache, known?: { digest: Digest; size: number }, idents?: Map<CopyInput, BigIntStats>): CopyInput {
  if (st.isSymbolicLink()) {
    const linkname = readlinkSync(hostPath);
    return { rel: dest, hostPath, kind: "symlink", digest: sha(Buffer.from(linkname)), executable: false, size: 0, linkname };
  }
  if (st.isDirectory()) return { rel: dest, hostPath, kind: "dir", digest: sha(Buffer.alloc(0)), executable: false, size: 0 };
  if (st.isFile()) {
    assertFitsLayer(shown, st.size, where);
    const hashed = known ? undefined : hashFileIdentity(hostPath, where, digests);
    const { digest, size } = known ?? hashed!;
    const input: CopyInput = { rel: dest, hostPath, kind: "file", digest, executable: (st.mode & 0o111) !== 0, size };
    if (hashed) idents?.set(input, hashed.st);
    return input;
  }
  const type = st.isFIFO() ? "fifo" : st.isSocket() ? "socket" : st.isCharacterDevice() ? "character device" : st.isBlockDevice() ? "block device" : "special file";
  throw new MinicError("EINPUT", `${where}: copy source '${shown}' is a ${type}, which copy() does not take`, {
    hint: "copy() takes files, directories and symlinks; exclude it from the pattern, or make it in a run step (mkfifo, mknod)",
  });
}

/** A pattern without leading `./` and trailing slashes ("." for the recipe's directory itself). */
export function normalisePattern(p: string): string {
  return p.replace(/^(\.\/+)+/, "").replace(/\/+$/, "") || ".";
}

/**
 * The patterns that bring files in, and what the `!` patterns among them exclude: a source name
 * (as an include shows it: relative to the recipe's directory, or absolute) that an exclude
 * matches, or that lies under a directory one matches. Excludes resolve as includes do
 * (fast-glob, the same options), so `!site/.env` and `!**\/node_modules` mean what they say.
 */
async function splitExcludes(patterns: readonly string[], baseDir: string, cacheDir: string, where: string): Promise<{ includes: string[]; excluded: (name: string) => boolean }> {
  const includes = patterns.filter((p) => !p.startsWith("!"));
  if (includes.length === 0) {
    throw new MinicError("ERECIPE", `${where}: copy has only '!' patterns, which exclude from what the others bring in`, { hint: "add what to copy, e.g. copy([\"site/**\", \"!site/.env\"], \"/srv\")" });
  }
  const out = new Set<string>();
  const excludes = [...patterns.filter((q) => q.startsWith("!")).map((q) => q.slice(1)), ...readIgnoreFile(baseDir, where)];
  for (const p of excludes) {
    const absolute = p.startsWith("/");
    for (const m of await globMatches(normalisePattern(absolute ? p.slice(1) : p), absolute ? "/" : baseDir, cacheDir)) {
      const name = m.replace(/\/+$/, "") || ".";
      out.add(absolute ? `/${name}` : name);
    }
  }
  const excluded = (name: string) => out.size > 0 && (out.has(name) || underAny(name, out));
  return { includes, excluded };
}

/** The file beside a recipe that lists what its copy steps leave out. */
export const IGNORE_FILE = ".minicignore";

/**
 * The exclude patterns of `.minicignore` beside the recipe (none when there is none): one per
 * line, `#` comments and blank lines skipped. As in .gitignore, a line without a slash matches at
 * any depth (`node_modules`, `*.log`), a leading slash anchors it at the recipe's directory, and a
 * trailing slash is dropped. `!` lines (re-including) are refused: minic's excludes only exclude.
 */
export function readIgnoreFile(baseDir: string, where: string): string[] {
  let text: string;
  try {
    text = readFileSync(join(baseDir, IGNORE_FILE), "utf8");
  } catch {
    return [];
  }
  return ignorePatterns(text, (line) => {
    throw new MinicError("ERECIPE", `${where}: ${join(baseDir, IGNORE_FILE)} line ${line}: '!' (re-include) is not supported`, { hint: "list only what to leave out; narrow the other lines instead" });
  });
}

/** Pure: the fast-glob patterns of .minicignore text; `refuse(lineNumber)` is called for a `!` line. */
export function ignorePatterns(text: string, refuse: (line: number) => never): string[] {
  const out: string[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    if (line.startsWith("!")) refuse(i + 1);
    const p = line.replace(/\/+$/, "");
    out.push(p.startsWith("/") ? p.slice(1) : p.includes("/") ? p : `**/${p}`);
  });
  return out;
}

/** True when `m` lies under one of the directories in `dirs`. */
function underAny(m: string, dirs: ReadonlySet<string>): boolean {
  for (let i = m.lastIndexOf("/"); i > 0; i = m.lastIndexOf("/", i - 1)) if (dirs.has(m.slice(0, i))) return true;
  return false;
}

/** The directory part of a pattern before its first glob segment (a plain file path gives its dirname). */
export function staticPrefix(pattern: string, literalFile: boolean): string {
  const segs = pattern.split("/");
  if (literalFile) return segs.slice(0, -1).join("/");
  const out: string[] = [];
  for (const s of segs) {
    if (/[*?[\]{}()!+@]/.test(s)) break;
    out.push(s);
  }
  if (out.length === segs.length) out.pop();
  return out.filter((s) => s !== ".").join("/");
}

/**
 * Throws the archive's own EARCHIVE error (with its hint) when a file of `size` bytes cannot be a
 * member of a newc cpio layer (over 4 GiB), before any time is spent hashing or copying it.
 */
export function assertFitsLayer(name: string, size: number, where: string): void {
  try {
    encodeHeader({ ino: 0, mode: 0o100644, uid: 0, gid: 0, nlink: 1, mtime: 0, filesize: size, devmajor: 0, devminor: 0, rdevmajor: 0, rdevminor: 0, name });
  } catch (e) {
    throw withContext(e, where);
  }
}

const HASH_CHUNK = 1 << 20;
let hashBuf: Buffer | undefined;

/**
 * sha256 and length of a host file, read in 1 MiB chunks into one reused buffer (memory stays
 * flat whatever the size), or taken from `digests` when the opened file is the one remembered.
 * Opens without following a symlink and without blocking on a fifo; throws EINPUT when the path
 * is not a regular file (it was replaced since it was listed).
 */
export function hashFile(path: string, where: string, digests?: DigestCache): { digest: Digest; size: number } {
  const { digest, size } = hashFileIdentity(path, where, digests);
  return { digest, size };
}

/** hashFile, with the file's (fstat) identity taken before it was read. */
function hashFileIdentity(path: string, where: string, digests?: DigestCache): { digest: Digest; size: number; st: BigIntStats } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    throw withContext(e, `${where}: cannot read copy source '${path}'`);
  }
  try {
    const st = fstatSync(fd, { bigint: true });
    if (!st.isFile()) throw new MinicError("EINPUT", `${where}: copy source '${path}' is no longer a regular file`, { hint: "do not modify copied files while minic builds; run it again" });
    const known = digests?.lookup(path, st);
    if (known) return { digest: known, size: Number(st.size), st };
    const buf = (hashBuf ??= Buffer.allocUnsafe(HASH_CHUNK));
    const h = createHash("sha256");
    let size = 0;
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; size += n) h.update(buf.subarray(0, n));
    const digest: Digest = `sha256:${h.digest("hex")}`;
    // The identity taken before reading: a change while reading moves ctime, so it is not reused.
    if (size === Number(st.size)) digests?.remember(path, st, digest);
    return { digest, size, st };
  } finally {
    closeSync(fd);
  }
}

function sha(b: Buffer): Digest {
  return `sha256:${createHash("sha256").update(b).digest("hex")}`;
}
