// Atomic file writes: write a temp file beside the target, fsync, rename into place.
import { randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { atPath } from "../core/faults.js";
import { makeDirs } from "../util/make-dirs.js";

/** A temp name in `dir` that no other writer will pick. */
export function tempName(dir: string, prefix = "tmp"): string {
  return join(dir, `.${prefix}-${process.pid}-${randomBytes(6).toString("hex")}`);
}

/** Writes `data` to `path` atomically: readers see the old file or the whole new one. */
export async function writeFileAtomic(path: string, data: string | Buffer): Promise<void> {
  await makeDirs(dirname(path));
  const tmp = tempName(dirname(path));
  try {
    const fh = await open(tmp, "wx", 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw atPath(e, path);
  }
}
