// User-facing errors: a stable code, a one-line message, and a hint that says what to do.

/** Stable error codes; scripts may match on them. */
export type ErrorCode =
  | "EUSAGE"
  | "ERECIPE"
  | "EINPUT"
  | "EREF"
  | "ENOTFOUND"
  | "EPATH"
  | "EDIGEST"
  | "ESTORE"
  | "EEXEC"
  | "EHOST"
  | "EARCHIVE"
  | "ERUN"
  | "EREGISTRY"
  | "EBUSY"
  | "EDISK"
  | "EINTERRUPTED";

/** An error meant for the user: `message` says what is wrong, `hint` what to do about it. */
export class MinicError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  /** The exit status minic ends with, where a convention gives one (run's 126 and 127, as a shell's); else 1 (2 for EUSAGE). */
  readonly exitStatus: number | undefined;

  constructor(code: ErrorCode, message: string, options: { hint?: string; cause?: unknown; exitStatus?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "MinicError";
    this.code = code;
    this.hint = options.hint;
    this.exitStatus = options.exitStatus;
  }
}

/** Renders any thrown value as one line: `message (hint: ...)`. Never throws. */
export function oneLine(err: unknown): string {
  if (err instanceof MinicError) {
    const msg = flatten(err.message);
    return err.hint ? `${msg} (hint: ${flatten(err.hint)})` : msg;
  }
  if (err instanceof Error) return flatten(err.message);
  return flatten(String(err));
}

/** Renders a thrown value's message as one line, without its hint (for lists of problems that share one). */
export function messageLine(err: unknown): string {
  return flatten(err instanceof Error ? err.message : String(err));
}

function flatten(s: string): string {
  return printable(s.replace(/\s*\n\s*/g, " | ").trim());
}

/**
 * Pure: `s` with control characters (C0 but tab and newline, DEL, C1) shown as `\xHH`. Messages
 * quote names from images, tarballs and registries: an escape sequence or a carriage return in
 * one must not reach the terminal (minic's every stderr line goes through this, see cli.ts).
 */
export function printable(s: string): string {
  return s.replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/**
 * errno codes that are faults of the machine, not of minic or of its input: the disk is full or
 * over quota, failing, or read-only (core/faults.ts says what to do about each).
 */
export const FAULT_CODES: ReadonlySet<string> = new Set(["ENOSPC", "EDQUOT", "EIO", "EROFS"]);

/**
 * Adds context to an error while keeping its code, hint and cause. A fault of the machine
 * (FAULT_CODES) is passed on as it is: the context (a copy source, a recipe) would blame the
 * wrong thing for a full disk; the fault names its path.
 */
export function withContext(err: unknown, context: string): Error {
  if (FAULT_CODES.has((err as NodeJS.ErrnoException)?.code ?? "") && !(err instanceof MinicError)) return err as Error;
  if (err instanceof MinicError) {
    return new MinicError(err.code, `${context}: ${err.message}`, { hint: err.hint, cause: err });
  }
  const msg = err instanceof Error ? err.message : String(err);
  return new MinicError("EINPUT", `${context}: ${msg}`, { cause: err });
}
