// Removes a directory tree, synchronously, never following a symlink. It is on the path of every
// `minic run` (the container's directory): Node 20's rmSync(recursive) loads its rimraf module
// on first use and lstat()s every entry (~2.5 ms for a container's ten entries); this reads each
// directory once, with the entry types readdir gives, and unlinks.
import { readdirSync, rmdirSync, unlinkSync } from "node:fs";
import { join } from "node:path";

const code = (e: unknown) => (e as NodeJS.ErrnoException).code;

/** Removes `path` and everything under it; a missing path is fine. */
export function removeTreeSync(path: string): void {
  let entries;
  try {
    entries = readdirSync(path, { withFileTypes: true });
  } catch (e) {
    if (code(e) === "ENOENT") return;
    if (code(e) !== "ENOTDIR") throw e;
    unlinkSync(path);
    return;
  }
  for (const entry of entries) {
    const p = join(path, entry.name);
    if (entry.isDirectory()) {
      removeTreeSync(p);
      continue;
    }
    try {
      unlinkSync(p);
    } catch (e) {
      // A filesystem that reports no entry types: a directory says so when unlinked.
      if (code(e) === "EISDIR") removeTreeSync(p);
      else if (code(e) !== "ENOENT") throw e;
    }
  }
  try {
    rmdirSync(path);
  } catch (e) {
    if (code(e) !== "ENOENT") throw e;
  }
}
