// Pure: faults of the machine (a full disk, a quota, a failing disk, a read-only filesystem) as
// one line naming the path and what to do, instead of `ENOSPC: no space left on device, write`.
// Every write minic makes goes to a temp file or directory that is removed when the command
// fails, so the line can say that nothing half-written was kept.
import { FAULT_CODES, MinicError } from "./errors.js";

/** An errno error that is a fault of the machine (see FAULT_CODES). */
export type Fault = NodeJS.ErrnoException & { code: string };

/** True for such an error (not for a MinicError that wraps one: its code says what it is). */
export function isFault(e: unknown): e is Fault {
  return e instanceof Error && !(e instanceof MinicError) && FAULT_CODES.has((e as NodeJS.ErrnoException).code ?? "");
}

/** Records which file a fault happened on, when the error does not say (writes through a file descriptor); returns `e`. */
export function atPath(e: unknown, path: string): unknown {
  if (isFault(e) && !e.path) e.path = path;
  return e;
}

const STRERROR: Record<string, string> = {
  ENOSPC: "No space left on device",
  EDQUOT: "Disk quota exceeded",
  EIO: "Input/output error",
  EROFS: "Read-only file system",
};

/**
 * The fault a program reported on stderr (`mknod: x: No space left on device`), as an errno error
 * at `path`; undefined when its stderr names none.
 */
export function faultInText(stderr: string, path: string): Fault | undefined {
  for (const [code, text] of Object.entries(STRERROR)) {
    if (stderr.includes(text)) return Object.assign(new Error(`${code}: ${text.toLowerCase()}`), { code, path });
  }
  return undefined;
}

/**
 * The one-line error for a fault: what happened where, and what to do. `where` stands in for a
 * path the error does not carry (the store, for most writes).
 */
export function faultError(e: Fault, where?: string): MinicError {
  const path = e.path ?? where;
  const at = path ? ` ${path}` : "";
  const kept = "nothing half-written was kept";
  switch (e.code) {
    case "ENOSPC":
      return new MinicError("EDISK", `no space left on device writing${at || " a file"}`, {
        hint: `free space on that filesystem ('minic gc' frees what no image uses, in a store) and run the command again; ${kept}`, cause: e,
      });
    case "EDQUOT":
      return new MinicError("EDISK", `disk quota exceeded writing${at || " a file"}`, {
        hint: `free space or raise the quota on that filesystem ('minic gc' frees what no image uses, in a store) and run the command again; ${kept}`, cause: e,
      });
    case "EROFS":
      return new MinicError("EDISK", `cannot write${at || " a file"}: the filesystem is read-only`, {
        hint: `remount it read-write, or give --store a directory on a writable filesystem; ${kept}`, cause: e,
      });
    default:
      return new MinicError("EDISK", `input/output error at${at || " a file"} (the disk or filesystem failed)`, {
        hint: "see 'dmesg' and check the filesystem; then run 'minic fsck' on the store before using it again", cause: e,
      });
  }
}
