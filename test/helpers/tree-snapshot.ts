// A metadata listing of a directory tree, for comparing trees with a real diff: type, mode,
// owner, size, content hash, link target, link count and which names share an inode.
import { createHash } from "node:crypto";
import { lstatSync, readFileSync, readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";

export interface SnapshotOptions {
  /** Include mtimes of regular files, fifos and devices (not of directories or symlinks). */
  mtimes?: boolean;
  /** Names (relative) to leave out. */
  exclude?: (rel: string) => boolean;
}

/** One line per node, sorted by name; then one line per hard-link group. */
export function snapshotTree(root: string, opts: SnapshotOptions = {}): string[] {
  const lines: string[] = [];
  const byIno = new Map<number, string[]>();
  const walk = (rel: string) => {
    for (const n of readdirSync(join(root, rel)).sort()) {
      const r = rel ? `${rel}/${n}` : n;
      if (opts.exclude?.(r)) continue;
      const p = join(root, r);
      const st = lstatSync(p);
      const mode = (st.mode & 0o7777).toString(8).padStart(4, "0");
      const own = `${st.uid}:${st.gid}`;
      const name = JSON.stringify(r);
      if (st.isDirectory()) {
        lines.push(`${name} dir ${mode} ${own} nlink=${st.nlink}`);
        walk(r);
      } else if (st.isSymbolicLink()) {
        lines.push(`${name} symlink ${own} -> ${JSON.stringify(readlinkSync(p))}`);
      } else {
        const mt = opts.mtimes ? ` mtime=${Math.floor(st.mtimeMs / 1000)}` : "";
        if (st.isFile()) {
          const h = createHash("sha256").update(readFileSync(p)).digest("hex").slice(0, 16);
          lines.push(`${name} file ${mode} ${own} size=${st.size} sha=${h} nlink=${st.nlink}${mt}`);
          if (st.nlink > 1) byIno.set(st.ino, [...(byIno.get(st.ino) ?? []), r]);
        } else if (st.isFIFO()) lines.push(`${name} fifo ${mode} ${own}${mt}`);
        else if (st.isCharacterDevice() || st.isBlockDevice()) lines.push(`${name} ${st.isCharacterDevice() ? "chr" : "blk"} ${mode} ${own} rdev=${st.rdev}${mt}`);
        else lines.push(`${name} other`);
      }
    }
  };
  walk("");
  const groups = [...byIno.values()].map((g) => g.sort().map((x) => JSON.stringify(x)).join(" = ")).sort();
  return [...lines, ...groups.map((g) => `link-group ${g}`)];
}

/** The same listing as one string (for a readable diff in a failed expect). */
export function snapshotText(root: string, opts: SnapshotOptions = {}): string {
  return snapshotTree(root, opts).join("\n");
}
