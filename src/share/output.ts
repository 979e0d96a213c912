// Where a command's archive goes: a file (written beside it, renamed into place when complete)
// or stdout. A binary stream is never written to a terminal.
import { createReadStream, createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { Readable, Writable } from "node:stream";
import { MinicError } from "../core/errors.js";
import { tempName } from "../store/atomic.js";

/**
 * Runs `write` against the destination and finishes it: `-` (or none, when stdout is not a
 * terminal) means stdout. A file appears only when `write` succeeded; on error nothing is left.
 */
export async function writeOutput(dest: string | undefined, cwd: string, write: (out: Writable) => Promise<void>): Promise<string> {
  if (dest === undefined || dest === "-") {
    if (process.stdout.isTTY) throw new MinicError("EUSAGE", "refusing to write an archive to a terminal", { hint: "give -o FILE, or redirect stdout" });
    await write(process.stdout);
    return "stdout";
  }
  const path = resolve(cwd, dest);
  const tmp = tempName(dirname(path), "minic-out");
  try {
    await write(createWriteStream(tmp, { flags: "wx", mode: 0o644 }));
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  return path;
}

/** The bytes of FILE, or of stdin for `-` / none. */
export function readInput(src: string | undefined, cwd: string): Readable {
  if (src === undefined || src === "-") {
    if (process.stdin.isTTY) throw new MinicError("EUSAGE", "refusing to read an archive from a terminal", { hint: "give a FILE, or redirect stdin" });
    return process.stdin;
  }
  const s = createReadStream(resolve(cwd, src));
  return s;
}
