// Where a command's archive goes: a file (written beside it, renamed into place when complete)
// or stdout. A binary stream is never written to a terminal.
import { closeSync, createReadStream, existsSync, fstatSync, openSync, realpathSync, statSync } from "node:fs";
import { open, rename, rm } from "node:fs/promises";
import { dirname, isAbsolute, relative, resolve } from "node:path";
import type { Readable, Writable } from "node:stream";
import { MinicError } from "../core/errors.js";
import { atPath } from "../core/faults.js";
import { tempName } from "../store/atomic.js";
import { onInterrupt } from "../util/exec.js";
import { stdout } from "../util/stdio.js";

/**
 * Runs `write` against the destination and finishes it: `-` (or none, when stdout is not a
 * terminal) means stdout. A file appears only when `write` succeeded; on error nothing is left.
 */
export async function writeOutput(dest: string | undefined, cwd: string, write: (out: Writable) => Promise<void>, storeRoot?: string): Promise<string> {
  if (dest === "") throw new MinicError("EUSAGE", "-o '' names no file", { hint: "give -o FILE, or -o - for stdout" });
  if (dest === undefined || dest === "-") {
    if (process.stdout.isTTY) throw new MinicError("EUSAGE", "refusing to write an archive to a terminal", { hint: "give -o FILE, or redirect stdout" });
    await write(stdout());
    return "stdout";
  }
  const path = resolve(cwd, dest);
  if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) {
    throw new MinicError("EUSAGE", `cannot write '${dest}': it is a directory`, { hint: "give -o a file path inside it, or - for stdout" });
  }
  if (storeRoot !== undefined && isUnder(dirname(path), storeRoot)) {
    throw new MinicError("EUSAGE", `cannot write '${dest}': it is inside the store ${storeRoot}, which only minic writes`, { hint: "give -o a path outside the store" });
  }
  const tmp = tempName(dirname(path), "minic-out");
  // Opened (and so checked) before anything is written: a bad path is one error, not a crash.
  const fh = await open(tmp, "wx", 0o644).catch((e: NodeJS.ErrnoException) => {
    // The temp file's name is minic's business: the error names the directory, not it.
    const dir = dirname(path);
    const why = e.code === "ENOENT" && !statSync(dir, { throwIfNoEntry: false })?.isDirectory()
      ? "its directory does not exist"
      : `no file can be made in ${dir} (${e.code === "ENOENT" ? "the file system does not allow it" : e.message.split(", ")[0]})`;
    throw new MinicError("EUSAGE", `cannot write '${dest}': ${why}`, {
      hint: "give -o a path in an existing, writable directory (or - for stdout)", cause: e,
    });
  });
  try {
    await write(fh.createWriteStream());
    await rename(tmp, path);
  } catch (e) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw atPath(e, path);
  }
  return path;
}

/** Whether directory `dir` is `root` or below it, symlinks resolved (a missing `dir` is not). */
function isUnder(dir: string, root: string): boolean {
  let real: string;
  let realRoot: string;
  try {
    real = realpathSync(dir);
    realRoot = realpathSync(root);
  } catch {
    return false;
  }
  const rel = relative(realRoot, real);
  return rel === "" || (rel !== ".." && !rel.startsWith("../") && !isAbsolute(rel)); // "..x" is a name inside
}

/** The bytes of FILE, or of stdin for `-` / none. */
export function readInput(src: string | undefined, cwd: string): Readable {
  if (src === undefined || src === "-") {
    if (process.stdin.isTTY) throw new MinicError("EUSAGE", "refusing to read an archive from a terminal", { hint: "give a FILE, or redirect stdin" });
    onInterrupt(() => process.stdin.destroy()); // interrupted: stop waiting for a writer that may never go on
    return process.stdin;
  }
  const path = resolve(cwd, src);
  try {
    // Opened here so that a missing or unreadable file (or a directory) is one error, not a stream crash later.
    const fd = openSync(path, "r");
    if (fstatSync(fd).isDirectory()) {
      closeSync(fd);
      throw new MinicError("EUSAGE", `cannot read '${src}': it is a directory${existsSync(resolve(path, "index.json")) ? " without an oci-layout file (not an OCI layout)" : ""}`, { hint: "give the path of an image tarball or of an OCI layout directory (it has an oci-layout file), or - for stdin" });
    }
    return createReadStream("", { fd, highWaterMark: 1 << 20 });
  } catch (e) {
    if (e instanceof MinicError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new MinicError(code === "ENOENT" ? "ENOTFOUND" : "EUSAGE", `cannot read '${src}': ${code === "ENOENT" ? "no such file" : (e as Error).message}`, {
      hint: "give the path of an image tarball, or - for stdin", cause: e,
    });
  }
}
