// The store's directory on disk: checked, made, and kept closed to other users. Unpacked layers
// hold whatever the images hold (setuid-root binaries too, kept as podman keeps them) and
// containers' upper dirs hold their files: a store other users can traverse lets them run
// those binaries as root (the class of moby CVE-2021-41091). So the store root is 0700, as
// podman's /var/lib/containers/storage is, and an older, looser one is tightened when opened.
import { accessSync, chmodSync, constants, mkdirSync, readdirSync, rmSync, statfsSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { MinicError } from "../core/errors.js";
import { status } from "../util/exec.js";
import { findProgram } from "../util/which.js";

/** Magic number statfs reports for overlayfs. */
export const OVERLAYFS_MAGIC = 0x794c7630;

/** The store root's mode: only its owner (root) may enter. */
export const STORE_MODE = 0o700;

export interface StoreDirResult {
  /** The root does not exist (and was not made: a read-only open). */
  absent: boolean;
  /** The mode the root had when minic tightened it to STORE_MODE. */
  tightenedFrom?: number;
}

/**
 * Makes `root` ready as a store: refuses a path that is not a directory, and an existing
 * directory that is neither a store nor empty; with `create`, makes a
 * missing root (mode 0700; parents as usual) and `subdirs`, and on a new store checks that its
 * filesystem can hold overlayfs layers; tightens a root other users can enter to 0700.
 * Without `create` a missing root is left missing (`absent`), and an unreadable one is an error.
 * On failure nothing it made is left. Throws ESTORE with a hint.
 */
export async function prepareStoreDir(root: string, create: boolean, subdirs: readonly string[]): Promise<StoreDirResult> {
  let st;
  try {
    st = statSync(root, { throwIfNoEntry: false });
  } catch (e) {
    throw storeError(root, e);
  }
  if (st && !st.isDirectory()) {
    throw new MinicError("ESTORE", `store ${root} is not a directory`, { hint: "give --store (or MINIC_STORE) a directory; minic makes it if it does not exist" });
  }
  if (!st && !create) return { absent: true };
  // An existing directory is a store (what minic made), or empty, or it is someone's: that one is
  // refused, never chmod'ed or filled (--store /tmp, --store ~/project).
  if (st && storeOrEmpty(root, subdirs) === "empty" && !create) return { absent: true };
  let made: string | undefined;
  const undo = () => {
    if (made) rmSync(made, { recursive: true, force: true });
  };
  try {
    if (!st) {
      made = makeParents(root);
      mkdirSync(root, { mode: STORE_MODE });
    }
    const res: StoreDirResult = { absent: false };
    if (st && (st.mode & 0o077) !== 0 && canChmod(st.uid)) {
      chmodSync(root, STORE_MODE);
      res.tightenedFrom = st.mode & 0o7777;
    }
    if (!create) {
      accessSync(root, constants.R_OK | constants.X_OK);
      return res;
    }
    if (subdirs.length > 0 && statSync(subdirs[0]!, { throwIfNoEntry: false }) === undefined) await checkFilesystem(root);
    // recursive is safe here: the root exists and is a directory (see makeParents).
    for (const d of subdirs) mkdirSync(d, { recursive: true, mode: STORE_MODE });
    return res;
  } catch (e) {
    undo();
    if (e instanceof MinicError) throw e;
    throw storeError(root, e);
  }
}

/**
 * What the existing directory `root` holds: a store (its blobs/ and refs/, or only a store's
 * parts: the top directories of `subdirs`), nothing (or only a README, as a checkout's layers/,
 * or a volume's lost+found), or else throws ESTORE naming what is there.
 */
function storeOrEmpty(root: string, subdirs: readonly string[]): "store" | "empty" {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch (e) {
    throw storeError(root, e);
  }
  if (names.includes("blobs") && names.includes("refs")) return "store";
  const other = names.filter((n) => !/^README/i.test(n) && n !== "lost+found").sort(); // a volume's root is a store's place
  if (other.length === 0) return "empty";
  const parts = new Set(subdirs.map((d) => relative(root, d).split("/")[0]));
  if (other.every((n) => parts.has(n))) return "store"; // one being made (or its parts made ahead)
  throw new MinicError("ESTORE", `${root} is not a minic store and not empty (it holds ${other.slice(0, 3).map((n) => `'${n}'`).join(", ")}${other.length > 3 ? ", …" : ""}): minic would make it 0700 and write its own directories there`, {
    hint: "give --store (or MINIC_STORE) a minic store, or a new or empty directory",
  });
}

/**
 * Makes the missing parents of `path` (mode 0755); returns the topmost one it made, or `path`
 * itself when none was missing. Not mkdirSync's `recursive`: in /proc (--store /proc/x/s)
 * Node's recursive mkdir spins forever.
 */
function makeParents(path: string): string {
  const missing: string[] = [];
  for (let p = dirname(path); !statSync(p, { throwIfNoEntry: false }); p = dirname(p)) missing.unshift(p);
  for (const p of missing) mkdirSync(p, { mode: 0o755 });
  return missing[0] ?? path;
}

function canChmod(owner: number): boolean {
  const uid = process.getuid?.() ?? 0;
  return uid === 0 || uid === owner;
}

function storeError(root: string, e: unknown): MinicError {
  const err = e as NodeJS.ErrnoException;
  const what = err.path && err.path !== root ? ` (${err.syscall ?? "access"} ${err.path})` : "";
  if (err.code === "EACCES" || err.code === "EPERM") {
    const hint = process.getuid?.() === 0 ? "give --store (or MINIC_STORE) a directory on a filesystem root can write" : "run minic as root (the store is root's, mode 0700), or give --store a directory you own";
    return new MinicError("ESTORE", `cannot use store ${root}: permission denied${what}`, { hint, cause: e });
  }
  if (err.code === "EROFS") return new MinicError("ESTORE", `cannot use store ${root}: its filesystem is read-only`, { hint: "give --store (or MINIC_STORE) a directory on a writable filesystem", cause: e });
  if (err.code === "ENOTDIR") return new MinicError("ESTORE", `cannot use store ${root}: a part of the path is not a directory`, { hint: "give --store (or MINIC_STORE) a directory path", cause: e });
  return new MinicError("ESTORE", `cannot use store ${root}: ${err.code ?? err.message}${what}`, { hint: "give --store (or MINIC_STORE) a directory on a filesystem that can hold files (not /proc or /sys)", cause: e });
}

/**
 * Refuses a filesystem that cannot hold unpacked overlayfs layers and upper dirs: overlayfs
 * itself (the kernel takes no overlayfs upper dir) and, for root, one without trusted.* xattrs
 * (opaque directories are an xattr). Probed once, when a store is made.
 */
async function checkFilesystem(root: string): Promise<void> {
  if (statfsSync(root).type === OVERLAYFS_MAGIC) {
    throw new MinicError("ESTORE", `store ${root} is on overlayfs, which cannot hold the upper dirs of minic's containers and build steps`, {
      hint: "put the store on the host's own filesystem (ext4, xfs, btrfs, tmpfs), e.g. a volume: --store /mnt/volume/minic",
    });
  }
  const setfattr = process.getuid?.() === 0 ? findProgram("setfattr") : null;
  if (!setfattr) return; // non-root runs no containers; without attr, doctor says to install it
  const probe = join(root, `.xattr-probe-${process.pid}`);
  writeFileSync(probe, "");
  try {
    const r = await status([setfattr, "-n", "trusted.minic.probe", "-v", "1", probe], { stdout: "pipe", stderr: "pipe" });
    if (r.exitCode !== 0) {
      throw new MinicError("ESTORE", `store ${root} is on a filesystem without trusted xattrs, which overlayfs layers need (${r.stderr.trim().split("\n").pop()?.replace(/^setfattr: [^:]+: /, "") || "setfattr failed"})`, {
        hint: "put the store on ext4, xfs, btrfs or tmpfs: --store DIR",
      });
    }
  } finally {
    rmSync(probe, { force: true });
  }
}
