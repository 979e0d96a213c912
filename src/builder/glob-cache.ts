// Remembers what a glob matched, with the mtimes of the directories that could change the
// answer, so an unchanged tree is not globbed again (and fast-glob is not even loaded).
import { createHash } from "node:crypto";
import { lstatSync, readdirSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { shapedOrUndefined, type Shape } from "../core/json-shape.js";
import { GLOB_RECORD_SHAPE } from "../core/record-shapes.js";
import { writeFileAtomic } from "../store/atomic.js";
import { pruneRecords } from "./cache-records.js";

interface GlobRecord {
  /** Directories (absolute) and their mtimes in ns, as strings. */
  dirs: [string, string][];
  matches: string[];
}

const RECORD_SHAPE: Shape<GlobRecord> = GLOB_RECORD_SHAPE as Shape<GlobRecord>;

const GLOB_CHARS = /[*?[\]{}()!+@]/;

/** Bump when the fast-glob options below change, so records made with the old ones are not used. */
const RECORD_VERSION = 2;

/**
 * What `pattern` matches under `cwd`, sorted: files, symlinks (not followed), directories
 * (marked with a trailing `/`), fifos and other nodes; dot files included. Served from
 * `cacheDir` when no directory that could affect the result has changed since: adding,
 * removing, renaming or retyping an entry changes its directory's mtime. The contents of a
 * matched directory are not part of the answer (the caller walks them itself, every time).
 */
export async function globMatches(pattern: string, cwd: string, cacheDir: string): Promise<string[]> {
  const recordPath = join(cacheDir, `${createHash("sha256").update(`${RECORD_VERSION}\0${cwd}\0${pattern}`).digest("hex")}.json`);
  const rec = await readFile(recordPath, "utf8").then((s) => shapedOrUndefined(RECORD_SHAPE, JSON.parse(s)) ?? null).catch(() => null);
  if (rec && rec.dirs.every(([d, m]) => mtimeOf(d) === m)) return rec.matches;
  const dirs = watchedDirs(pattern, cwd);
  const before = dirs.map((d) => [d, mtimeOf(d)] as [string, string]);
  const fg = (await import("fast-glob")).default;
  const matches = (await fg(pattern, { cwd, dot: true, onlyFiles: false, markDirectories: true, followSymbolicLinks: false, unique: true })).sort();
  if (before.every(([d, m]) => m !== "" && mtimeOf(d) === m)) {
    await writeFileAtomic(recordPath, JSON.stringify({ dirs: before, matches } satisfies GlobRecord));
  }
  return matches;
}

/**
 * For gc: removes the glob records that can no longer be used (a directory they depend on has
 * changed or is gone: the next build globs again). Returns how many it removed.
 */
export function pruneGlobCache(cacheDir: string): Promise<number> {
  return pruneRecords(cacheDir, (n) => n.endsWith(".json"), RECORD_SHAPE, (rec) => Boolean(rec?.dirs.every(([d, m]) => mtimeOf(d) === m)));
}

/** The directories whose contents decide what `pattern` matches. */
function watchedDirs(pattern: string, cwd: string): string[] {
  const segs = pattern.split("/");
  const firstGlob = segs.findIndex((s) => GLOB_CHARS.test(s));
  if (firstGlob < 0) return [join(cwd, segs.slice(0, -1).join("/"))];
  const base = join(cwd, segs.slice(0, firstGlob).join("/"));
  if (firstGlob === segs.length - 1 && !segs[firstGlob]!.includes("**")) return [base];
  const out: string[] = [];
  const walk = (d: string) => {
    out.push(d);
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) walk(join(d, e.name));
  };
  walk(base);
  return out;
}

/** A directory's identity and mtime (through a symlink, and of the link itself), "" if not a directory. */
function mtimeOf(dir: string): string {
  try {
    const st = statSync(dir, { bigint: true });
    const l = lstatSync(dir, { bigint: true });
    return st.isDirectory() ? `${st.ino}:${st.mtimeNs}:${l.ino}:${l.mtimeNs}` : "";
  } catch {
    return "";
  }
}
