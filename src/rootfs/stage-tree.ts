// What a copy from a stage brings in: the nodes its paths name in the stage's merged tree (read
// from its unpacked layers through a RootfsView, nothing mounted), symlinks resolved inside that
// tree only, never on the host.
import { readlinkSync, type Stats } from "node:fs";
import { pathParts } from "../core/container-path.js";
import { MinicError } from "../core/errors.js";
import type { Xattr } from "../core/xattrs.js";
import type { RootfsView, Visible } from "./rootfs-view.js";

/** One node of the stage that a copy brings in. */
export interface StageNode {
  /** Where it lands, relative to the copy's destination ("a/b"). */
  rel: string;
  kind: "file" | "dir" | "symlink";
  /** Its lstat in the layer dir that shows it (mode, owner, links). */
  st: Stats;
  /** Its path in that layer dir: the data of a file, read without following a link. */
  hostPath: string;
  /** A symlink's target, as stored (it is copied as a link, never followed). */
  linkname?: string;
  /** Files sharing one inode of one layer share one key: they are hard links of each other. */
  linkKey?: string;
  /** A file's xattrs in its layer dir, all of them (a view opened with `xattrs`); absent when none. */
  xattrs?: Xattr[];
}

/** Whether a path component holds a glob (`*` or `?`). */
export function isGlobPart(part: string): boolean {
  return /[*?]/.test(part);
}

/**
 * Pure: a matcher for one path component with `*` (any run of characters) and `?` (one), as the
 * shell's: neither matches a leading dot, nothing else is special.
 */
export function partMatcher(glob: string): (name: string) => boolean {
  const re = new RegExp(`^${glob.split("").map((c) => (c === "*" ? "[^/]*" : c === "?" ? "[^/]" : c.replace(/[.+^${}()|[\]\\]/g, "\\$&"))).join("")}$`);
  return (name) => re.test(name) && !(name.startsWith(".") && !glob.startsWith("."));
}

/**
 * The nodes `paths` name in the stage seen through `view`, sorted by where they land (parents
 * first). A literal path is resolved inside the stage, its last component too (a link to a file
 * copies the file, under the link's name, as Docker's COPY --from): a directory brings its
 * contents (they land directly under the destination), anything else itself under its name. A
 * path with `*` or `?` in a component brings each match (not followed) with its tree, landing
 * relative to the components before the first glob. Inside what is copied, symlinks stay links.
 * Throws EINPUT naming `where` and `stage` when a path is not in the stage or matches nothing,
 * or when what it brings is a device, fifo or socket.
 */
export function stageNodes(view: RootfsView, paths: readonly string[], where: string, stage: string): StageNode[] {
  const byRel = new Map<string, StageNode>();
  const add = (v: Visible, rel: string, shown: string) => {
    if (rel !== "") byRel.set(rel, nodeOf(view, v, rel, shown, where, stage));
    if (!v.st.isDirectory()) return;
    for (const n of view.children(v.rel)) {
      const child = view.visible(v.rel ? `${v.rel}/${n}` : n)!;
      add(child, rel ? `${rel}/${n}` : n, `${shown.replace(/\/$/, "")}/${n}`);
    }
  };
  for (const path of paths) {
    const parts = pathParts(path);
    const firstGlob = parts.findIndex(isGlobPart);
    if (firstGlob < 0) {
      const v = view.visible(view.resolve(path, true));
      if (!v) throw notInStage(where, path, stage, "is not in");
      add(v, v.st.isDirectory() ? "" : parts[parts.length - 1]!, path);
      continue;
    }
    const matches = globMatches(view, parts, firstGlob);
    if (matches.length === 0) throw notInStage(where, path, stage, "matches nothing in");
    for (const m of matches) add(m.v, m.rel, `/${[...parts.slice(0, firstGlob), m.rel].join("/")}`);
  }
  return [...byRel.values()].sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

/**
 * The nodes a path with globs matches, each with its name relative to the components before the
 * first glob; the components between are followed inside the stage (they must be directories).
 */
function globMatches(view: RootfsView, parts: readonly string[], firstGlob: number): { v: Visible; rel: string }[] {
  let current = [{ real: view.resolve(`/${parts.slice(0, firstGlob).join("/")}`, true), rel: "" }];
  for (let j = firstGlob; j < parts.length; j++) {
    const part = parts[j]!;
    const last = j === parts.length - 1;
    const next: { real: string; rel: string }[] = [];
    for (const c of current) {
      if (!view.visible(c.real)?.st.isDirectory()) continue;
      const names = isGlobPart(part) ? view.children(c.real).filter(partMatcher(part)) : [part];
      for (const n of names) {
        const rel = c.rel ? `${c.rel}/${n}` : n;
        const at = c.real ? `${c.real}/${n}` : n;
        // Components before the last are followed (inside the stage); a last match is taken as it is.
        const real = last ? at : view.resolve(`/${at}`, true);
        if (view.visible(real)) next.push({ real, rel });
      }
    }
    current = next;
  }
  return current.map((c) => ({ v: view.visible(c.real)!, rel: c.rel }));
}

function nodeOf(view: RootfsView, v: Visible, rel: string, shown: string, where: string, stage: string): StageNode {
  const hostPath = view.hostPath(v);
  const st = v.st;
  if (st.isDirectory()) return { rel, kind: "dir", st, hostPath };
  if (st.isSymbolicLink()) return { rel, kind: "symlink", st, hostPath, linkname: readlinkSync(hostPath) };
  if (st.isFile()) {
    const xattrs = view.xattrsOf(v);
    return { rel, kind: "file", st, hostPath, ...(st.nlink > 1 ? { linkKey: `${v.layer}:${st.ino}` } : {}), ...(xattrs ? { xattrs } : {}) };
  }
  const type = st.isFIFO() ? "fifo" : st.isSocket() ? "socket" : st.isCharacterDevice() ? "character device" : st.isBlockDevice() ? "block device" : "special file";
  throw new MinicError("EINPUT", `${where}: '${shown}' in stage ${stage} is a ${type}, which a copy does not take`, {
    hint: "copy files, directories and symlinks only; leave it out of the path, or make it in a run step (mkfifo, mknod)",
  });
}

function notInStage(where: string, path: string, stage: string, what: string): MinicError {
  return new MinicError("EINPUT", `${where}: '${path}' ${what} stage ${stage}`, {
    hint: "check the path against the stage's image (minic run IMAGE -- ls -l PATH); a stage's run steps must write what is copied from it",
  });
}
