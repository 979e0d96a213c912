// The seal of an unpacked layer (`unpacked/<hex>.seal`, beside the directory): how every inode of
// the tree looked when it was unpacked, so that a tree changed since is noticed before a container
// or a build step uses it, and unpacked again. Checked with one lstat per directory and per
// non-symlink entry, no reading of data: any write, chmod, chown, link, unlink or xattr change of
// an inode moves its ctime, which user space cannot set (the check compares inode, size and
// ctime); adding, removing or renaming an entry changes its directory. Symlinks are not stat'ed
// (they are most of a busybox tree): one cannot be changed in place, only replaced, which
// changes its directory; their owner and times are not covered. The layer's own directory is
// compared by inode and mtime, as renaming it into place moves its ctime. A copied or restored
// store has new ctimes: its layers are unpacked again once.
import { lstatSync, readdirSync, readFileSync, type Stats } from "node:fs";
import { join } from "node:path";
import { shapedOrUndefined, type ShapeOf } from "../core/json-shape.js";
import { UNPACKED_SEAL_SHAPE } from "../core/record-shapes.js";
import { writeFileAtomic } from "./atomic.js";
import { OPAQUE_RECORD_SUFFIX } from "./opaque-record.js";

/** The seal's name beside the layer directory. */
export const SEAL_SUFFIX = ".seal";

type Seal = ShapeOf<typeof UNPACKED_SEAL_SHAPE>;

const rootId = (st: Stats) => `${st.ino}:${st.mtimeMs}`;
const entryId = (st: Stats) => `${st.ino}:${st.size}:${st.ctimeMs}`;

function opaqueText(layerDir: string): string | null {
  try {
    return readFileSync(layerDir + OPAQUE_RECORD_SUFFIX, "utf8");
  } catch {
    return null;
  }
}

/**
 * Seals the tree unpacked at `tree` as the layer directory `layerDir` (where it is renamed to
 * next; the seal is written first, so a layer directory in place always has one). Call it once
 * the tree and its opaque record are complete.
 */
export async function sealUnpacked(tree: string, layerDir: string, form = true): Promise<void> {
  const entries: [string, string][] = [];
  const walk = (rel: string) => {
    for (const e of readdirSync(rel ? join(tree, rel) : tree, { withFileTypes: true })) {
      if (e.isSymbolicLink()) continue;
      const r = rel ? `${rel}/${e.name}` : e.name;
      entries.push([r, entryId(lstatSync(join(tree, r)))]);
      if (e.isDirectory()) walk(r);
    }
  };
  walk("");
  // `form`: the tree was unpacked here, through the form check every unpack makes (checkedMembers).
  const seal: Seal = { version: 1, root: rootId(lstatSync(tree)), entries, opaque: opaqueText(layerDir), ...(form ? { form: true as const } : {}) };
  await writeFileAtomic(layerDir + SEAL_SUFFIX, JSON.stringify(seal));
}

/**
 * Why the layer directory no longer matches its seal (`bin/busybox was changed`), or undefined
 * when it does. A directory without an intact seal (damaged, or unpacked by an older minic)
 * fails too: what it holds cannot be vouched for.
 */
export function unpackedProblem(layerDir: string, opts: { fromInside?: boolean } = {}): string | undefined {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(layerDir + SEAL_SUFFIX, "utf8"));
  } catch {
    return "it has no seal";
  }
  // No checksum of its own (unlike minic's other records): any damage to a seal makes it disagree
  // with the tree, and the layer is unpacked again; a checksum would only cost the check time.
  const seal = shapedOrUndefined(UNPACKED_SEAL_SHAPE, data);
  if (!seal) return "its seal is damaged";
  // An older minic's tree: its layer's form was not checked, and a whiteout and a directory of
  // its name in one layer were unpacked otherwise. Unpacked again, once.
  if (seal.form !== true) return "it was unpacked by an older minic";
  const root = lstatSync(layerDir, { throwIfNoEntry: false });
  if (!root?.isDirectory()) return "it is gone";
  if (rootId(root) !== seal.root) return "its top directory was changed";
  const problem = opts.fromInside ? fromInside(layerDir, () => entriesProblem(seal, "")) : entriesProblem(seal, layerDir);
  if (problem) return problem;
  if (opaqueText(layerDir) !== seal.opaque) return "its opaque record was changed";
  return undefined;
}

/** The first sealed entry that is gone or changed, each looked up below `base` ("" = the working directory). */
function entriesProblem(seal: Seal, base: string): string | undefined {
  for (const [rel, id] of seal.entries) {
    const st = lstatSync(base ? join(base, rel!) : rel!, { throwIfNoEntry: false });
    if (!st) return `${rel} is gone`;
    if (entryId(st) !== id) return `${rel} was changed`;
  }
  return undefined;
}

/**
 * Runs `check` with the working directory at `dir`, and back where it was after, also when it
 * throws. Relative lookups skip the store's path on each lstat: for the 6,200 entries of a Debian
 * tree the check takes ~25 ms instead of ~65 ms. Only for a caller that knows nothing else runs
 * meanwhile that may use a relative path (minic run's set-up: no worker thread, no relative
 * path in flight; a build's recipe worker would be one), as the directory is the process's.
 */
function fromInside<T>(dir: string, check: () => T): T {
  const before = process.cwd();
  process.chdir(dir);
  try {
    return check();
  } finally {
    process.chdir(before);
  }
}
