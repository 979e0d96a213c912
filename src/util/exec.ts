// The one place minic runs external programs: logs argv (MINIC_DEBUG=1) and turns failures
// into one error type carrying the command, exit code and the tail of stderr.
import { execa, type Options, type ResultPromise } from "execa";
import { MinicError } from "../core/errors.js";

export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Thrown when a program fails; `exitCode`/`signal` tell how. */
export class ExecError extends MinicError {
  readonly argv: readonly string[];
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  readonly stderr: string;

  constructor(argv: readonly string[], exitCode: number | undefined, signal: string | undefined, stderr: string, cause?: unknown) {
    const tail = stderr.trim().split("\n").slice(-3).join(" | ");
    const how = signal ? `killed by ${signal}` : exitCode === undefined ? "could not start" : `exit ${exitCode}`;
    super("EEXEC", `${argv[0]} failed (${how})${tail ? `: ${tail}` : ""}`, {
      hint: `command was: ${argv.map(quote).join(" ")}`,
      cause,
    });
    this.argv = argv;
    this.exitCode = exitCode;
    this.signal = signal;
    this.stderr = stderr;
  }
}

function quote(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`;
}

function debug(argv: readonly string[]): void {
  if (process.env.MINIC_DEBUG) process.stderr.write(`+ ${argv.map(quote).join(" ")}\n`);
}

/** Runs a program to completion and returns its output; throws ExecError unless it exits 0. */
export async function run(argv: readonly string[], opts: Options = {}): Promise<ExecResult> {
  debug(argv);
  try {
    const r = await execa(argv[0]!, argv.slice(1), { stripFinalNewline: false, ...opts, reject: true, encoding: "utf8" });
    return { stdout: String(r.stdout ?? ""), stderr: String(r.stderr ?? ""), exitCode: r.exitCode ?? 0 };
  } catch (e) {
    const x = e as { exitCode?: number; signal?: string; stderr?: unknown; code?: string };
    if (x.code === "ENOENT") {
      throw new MinicError("EHOST", `${argv[0]} is not installed`, { hint: `install it (see 'minic doctor')`, cause: e });
    }
    throw new ExecError(argv, x.exitCode, x.signal ?? undefined, typeof x.stderr === "string" ? x.stderr : "", e);
  }
}

/** Runs a program and returns its exit code (no throw on non-zero); stdio as given in opts. */
export async function status(argv: readonly string[], opts: Options = {}): Promise<ExecResult> {
  debug(argv);
  const r = await execa(argv[0]!, argv.slice(1), { ...opts, reject: false, encoding: "utf8" });
  if ((r as { code?: string }).code === "ENOENT" || (r.failed && r.exitCode === undefined && !r.signal)) {
    throw new MinicError("EHOST", `${argv[0]} could not be started`, { hint: "install it (see 'minic doctor')" });
  }
  return { stdout: String(r.stdout ?? ""), stderr: String(r.stderr ?? ""), exitCode: r.exitCode ?? (r.signal ? 128 + signalNumber(r.signal) : 1) };
}

/** Starts a long-running program whose stdio the caller wires (pipes for archives). */
export function spawn(argv: readonly string[], opts: Options = {}): ResultPromise {
  debug(argv);
  return execa(argv[0]!, argv.slice(1), { ...opts, reject: false, buffer: false });
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15 };
function signalNumber(sig: string): number {
  return SIGNALS[sig] ?? 0;
}
