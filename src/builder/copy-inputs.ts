// Resolves a copy step's fast-glob patterns against the recipe's directory and hashes each file.
import { createHash } from "node:crypto";
import { closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, readSync, realpathSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { MinicError, withContext } from "../core/errors.js";
import type { Digest } from "../core/digest.js";
import { encodeHeader } from "../archive/cpio-newc.js";
import { globFiles } from "./glob-cache.js";

/** One host file a copy step brings in. */
export interface CopyInput {
  /** Path relative to the pattern's static base (where it lands under `to`). */
  rel: string;
  /** Absolute host path. */
  hostPath: string;
  kind: "file" | "symlink";
  /** sha256 of the content (files) or of the link target (symlinks). */
  digest: Digest;
  executable: boolean;
  size: number;
  linkname?: string;
}

/**
 * The files matched by `patterns`, sorted by `rel`. Relative patterns resolve under `baseDir`
 * (the recipe's directory) and may not reach outside it through a symlinked directory (EPATH);
 * absolute patterns name host files on purpose (e.g. /bin/busybox). Every pattern must match
 * something (EINPUT otherwise).
 */
export async function resolveCopyInputs(patterns: readonly string[], baseDir: string, where: string, cacheDir: string): Promise<CopyInput[]> {
  const realBase = realpathSync(baseDir);
  const byRel = new Map<string, CopyInput>();
  for (const pattern of patterns) {
    const absolute = pattern.startsWith("/");
    const cwd = absolute ? "/" : baseDir;
    const rel = absolute ? pattern.slice(1) : pattern;
    const matches = await globFiles(rel, cwd, cacheDir);
    if (matches.length === 0) {
      throw new MinicError("EINPUT", `${where}: copy source '${pattern}' matches no files${absolute ? "" : ` in ${baseDir}`}`, {
        hint: "patterns are relative to the recipe file; check the spelling and that the files exist",
      });
    }
    const staticBase = staticPrefix(rel, matches.length === 1 && matches[0] === rel);
    for (const m of matches) {
      const hostPath = join(cwd, m);
      const real = realpathSync(join(cwd, m.includes("/") ? m.slice(0, m.lastIndexOf("/")) : "."));
      if (!absolute && real !== realBase && !real.startsWith(realBase + sep)) {
        throw new MinicError("EPATH", `${where}: copy source '${m}' lies outside the recipe's directory`, { hint: "copy only files beside the recipe" });
      }
      const dest = staticBase ? relative(staticBase, m) : m;
      const st = lstatSync(hostPath);
      if (st.isSymbolicLink()) {
        const linkname = readlinkSync(hostPath);
        byRel.set(dest, { rel: dest, hostPath, kind: "symlink", digest: sha(Buffer.from(linkname)), executable: false, size: 0, linkname });
      } else if (st.isFile()) {
        assertFitsLayer(m, st.size, where);
        const { digest, size } = hashFile(hostPath, where);
        byRel.set(dest, { rel: dest, hostPath, kind: "file", digest, executable: (st.mode & 0o111) !== 0, size });
      }
    }
  }
  return [...byRel.values()].sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
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
 * flat whatever the size). Opens without following a symlink and without blocking on a fifo;
 * throws EINPUT when the path is not a regular file (it was replaced since it was listed).
 */
export function hashFile(path: string, where: string): { digest: Digest; size: number } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    throw withContext(e, `${where}: cannot read copy source '${path}'`);
  }
  try {
    if (!fstatSync(fd).isFile()) throw new MinicError("EINPUT", `${where}: copy source '${path}' is no longer a regular file`, { hint: "do not modify copied files while minic builds; run it again" });
    const buf = (hashBuf ??= Buffer.allocUnsafe(HASH_CHUNK));
    const h = createHash("sha256");
    let size = 0;
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; size += n) h.update(buf.subarray(0, n));
    return { digest: `sha256:${h.digest("hex")}`, size };
  } finally {
    closeSync(fd);
  }
}

function sha(b: Buffer): Digest {
  return `sha256:${createHash("sha256").update(b).digest("hex")}`;
}
