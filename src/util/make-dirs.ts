// `mkdir -p` that reports what the disk said. Node's recursive mkdir reports ENOENT when a
// missing parent cannot be made (read-only filesystem, full disk): the real error is found by
// making the first missing directory alone.
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";

/** Makes `path` and its missing parents (`mode` for each); throws the error that stopped it. */
export async function makeDirs(path: string, mode?: number): Promise<void> {
  try {
    await mkdir(path, { recursive: true, mode });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    let first = path;
    while (dirname(first) !== first && !existsSync(dirname(first))) first = dirname(first);
    await mkdir(first, { mode }); // throws EROFS, ENOSPC, … with its path
    await mkdir(path, { recursive: true, mode }); // it could be made after all (a race): go on
  }
}
