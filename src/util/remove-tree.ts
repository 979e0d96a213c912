// Removes a directory tree, synchronously, never following a symlink. It is on the path of every
// `minic run` (the container's directory): Node 20's rmSync(recursive) loads its rimraf module
// on first use and lstat()s every entry (~2.5 ms for a container's ten entries); this reads each
// directory once, with the entry types readdir gives, and unlinks.
import { lstatSync, readdirSync, rmdirSync, unlinkSync } from "node:fs";
import { join } from "node:path";

const code = (e: unknown) => (e as NodeJS.ErrnoException).code;

/**
 * Removes `path` and everything under it; a missing path is fine. A symlink (at `path` or
 * below) is removed itself: what it points to is never touched.
 */
export function removeTreeSync(path: string): void {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (!st) return;
  if (st.isDirectory()) removeDir(path);
  else unlinkSync(path);
}

/** Removes the real directory `path` (not a symlink: checked by the caller) and its contents. */
function removeDir(path: string): void {
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const p = join(path, entry.name);
    if (entry.isDirectory()) {
      removeDir(p);
      continue;
    }
    try {
      unlinkSync(p);
    } catch (e) {
      // A filesystem that reports no entry types: a directory says so when unlinked.
      if (code(e) === "EISDIR") removeDir(p);
      else if (code(e) !== "ENOENT") throw e;
    }
  }
  try {
    rmdirSync(path);
  } catch (e) {
    if (code(e) !== "ENOENT") throw e;
  }
}
