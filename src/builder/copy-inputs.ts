// Resolves a copy step's fast-glob patterns against the recipe's directory and hashes each file.
import { createHash } from "node:crypto";
import { lstatSync, readFileSync, readlinkSync, realpathSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { MinicError } from "../core/errors.js";
import type { Digest } from "../core/digest.js";
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
        byRel.set(dest, { rel: dest, hostPath, kind: "file", digest: sha(readFileSync(hostPath)), executable: (st.mode & 0o111) !== 0, size: st.size });
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

function sha(b: Buffer): Digest {
  return `sha256:${createHash("sha256").update(b).digest("hex")}`;
}
