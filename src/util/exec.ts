// The one place minic runs external programs: logs argv (MINIC_DEBUG=1) and turns failures
// into one error type carrying the command, exit code, signal and the tail of stderr.
// Built on node:child_process directly: execa costs ~100 ms to import on a small machine,
// which `minic run` cannot afford.
import { spawn as nodeSpawn, type ChildProcess, type StdioOptions } from "node:child_process";
import { constants } from "node:os";
import { MinicError } from "../core/errors.js";
import { stderr } from "./stdio.js";
import { TailBuffer } from "./tail-buffer.js";

/** How much of a program's stderr is kept (its end): enough for any error message, bounded whatever it prints. */
export const STDERR_TAIL_BYTES = 64 * 1024;

export interface ExecResult {
  /** All of stdout when collected (`collect`), else "". */
  stdout: string;
  /** The last STDERR_TAIL_BYTES of stderr. */
  stderr: string;
  /** Exit status; 128 + signal number when killed by a signal. */
  exitCode: number;
  signal?: NodeJS.Signals;
}

type Stream = "pipe" | "inherit" | "ignore";

export interface ExecOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Data written to stdin (implies a stdin pipe). */
  input?: string | Buffer;
  stdin?: Stream;
  stdout?: Stream;
  stderr?: Stream;
  /** Kill with SIGKILL after this many milliseconds. */
  timeoutMs?: number;
  /**
   * The program is the work itself (a container, a run step), not cleanup: once minic has been
   * interrupted it is not started at all (EINTERRUPTED), so a signal that arrives between two
   * programs still stops the work.
   */
  work?: boolean;
  /**
   * Called with each chunk the program prints, as it prints it (the chunk is not kept). A
   * returned promise means "wait": that stream is not read (so the program blocks writing to
   * it) until the promise settles.
   */
  onOutput?: (chunk: Buffer, stream: "stdout" | "stderr") => void | Promise<void>;
  /** Also give the program a pipe on fd 3 (`child.stdio[3]`, minic writes), e.g. to say when to go on. */
  fd3?: boolean;
  /**
   * Start it in a session of its own (setsid), away from minic's terminal: the hang-up of a closed
   * terminal then reaches minic only, which stops the program its own way (for programs that
   * need no terminal: a SIGHUP killed a build step's nspawn outright and left its container).
   */
  newSession?: boolean;
  /**
   * What a signal minic passes on (forwardSignal) becomes for this program: for one that ignores
   * SIGINT and SIGTERM on purpose, e.g. `unshare --fork --kill-child`, which ends its namespace
   * only when it is killed.
   */
  stopSignal?: NodeJS.Signals;
}

/** Thrown when a program fails; `exitCode`/`signal` tell how. */
export class ExecError extends MinicError {
  readonly argv: readonly string[];
  readonly exitCode: number;
  readonly signal: string | undefined;
  readonly stderr: string;

  constructor(argv: readonly string[], r: ExecResult, cause?: unknown) {
    const tail = r.stderr.trim().split("\n").slice(-3).join(" | ");
    const how = r.signal ? `killed by ${r.signal}` : `exit ${r.exitCode}`;
    super("EEXEC", `${argv[0]} failed (${how})${tail ? `: ${tail}` : ""}`, { hint: `command was: ${argv.map(quote).join(" ")}`, cause });
    this.argv = argv;
    this.exitCode = r.exitCode;
    this.signal = r.signal;
    this.stderr = r.stderr;
  }
}

/** Shell-quotes one argument for messages. */
export function quote(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`;
}

function debug(argv: readonly string[]): void {
  if (process.env.MINIC_DEBUG) stderr().write(`+ ${argv.map(quote).join(" ")}\n`);
}

function notInstalled(argv: readonly string[], cause: unknown): MinicError {
  return new MinicError("EHOST", `${argv[0]} is not installed`, { hint: "install it (see 'minic doctor')", cause });
}

/** Children still running, so that a signal minic receives can be passed on to them (as their stopSignal, if any). */
const live = new Map<ChildProcess, NodeJS.Signals | undefined>();

/**
 * Sends `signal` to every program minic has started and not yet reaped. The CLI calls this on
 * SIGINT/SIGTERM: the programs end, the awaiting code fails, and its finally blocks unmount
 * and clean up before minic exits.
 */
export function forwardSignal(signal: NodeJS.Signals): void {
  interruptedBy = signal;
  for (const [c, stop] of live) c.kill(stop ?? signal);
  for (const stop of stops) stop();
}

const stops = new Set<() => void>();

/**
 * Runs `stop` when minic is interrupted (forwardSignal), for what waits on something other than
 * a program: a read of stdin from a writer that has stalled would otherwise never end.
 */
export function onInterrupt(stop: () => void): () => void {
  stops.add(stop);
  return () => stops.delete(stop);
}

/** Throws EINTERRUPTED (`doing` was stopped by the signal) when minic has been interrupted. */
export function throwIfInterrupted(doing: string): void {
  if (interruptedBy) throw new MinicError("EINTERRUPTED", `${doing} was stopped by ${interruptedBy}`);
}

/**
 * Yields `source` until minic is interrupted, then fails with EINTERRUPTED at once, also while it
 * waits for a chunk that does not come (a stalled registry or stdin), and ends the source (a
 * stream is destroyed: its socket or file closed). What reads input in Node, with no program to
 * pass the signal to, stops so.
 */
export async function* interruptible(source: AsyncIterable<Buffer> | Iterable<Buffer>, doing: string): AsyncGenerator<Buffer> {
  const it = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : (source as Iterable<Buffer>)[Symbol.iterator]();
  let stop: (e: Error) => void = () => {};
  const stopped = new Promise<never>((_, reject) => { stop = reject; });
  stopped.catch(() => {});
  const off = onInterrupt(() => stop(new MinicError("EINTERRUPTED", `${doing} was stopped by ${interruptedBy}`)));
  let ended = false;
  try {
    for (;;) {
      throwIfInterrupted(doing);
      const r = await Promise.race([it.next(), stopped]);
      if (r.done) {
        ended = true;
        return;
      }
      yield r.value;
    }
  } finally {
    off();
    // A stream is destroyed (its socket or file closed): the return() of an iterator that waits
    // for a chunk would only take effect once one came.
    const stream = source as { destroy?: () => void };
    if (!ended) {
      if (typeof stream.destroy === "function") stream.destroy();
      else void Promise.resolve(it.return?.()).catch(() => {});
    }
  }
}

let interruptedBy: NodeJS.Signals | undefined;

/** The signal minic was interrupted by, if any (a program that failed then was stopped, not broken). */
export function interrupted(): NodeJS.Signals | undefined {
  return interruptedBy;
}

/** A started program: the child (for its pipes) and a promise of how it ended. */
export interface Running {
  child: ChildProcess;
  /** Resolves when the program has exited and its pipes are closed; rejects only if it could not start. */
  done: Promise<ExecResult>;
}

/**
 * Starts a program. A piped stdout is collected whole unless `collect` is false (then only
 * `onOutput` sees it); of a piped stderr only the tail is kept, so no output can exhaust memory.
 */
export function spawn(argv: readonly string[], opts: ExecOptions & { collect?: boolean } = {}): Running {
  debug(argv);
  if (opts.work && interruptedBy) {
    throw new MinicError("EINTERRUPTED", `not starting ${argv[0]}: interrupted by ${interruptedBy}`);
  }
  const stdio: StdioOptions = [opts.input !== undefined ? "pipe" : opts.stdin ?? "ignore", opts.stdout ?? "pipe", opts.stderr ?? "pipe"];
  if (opts.fd3) stdio.push("pipe");
  const child = nodeSpawn(argv[0]!, argv.slice(1), { cwd: opts.cwd, env: opts.env, stdio, detached: opts.newSession ?? false });
  live.set(child, opts.stopSignal);
  const collect = opts.collect ?? true;
  const out: Buffer[] = [];
  const err = new TailBuffer(STDERR_TAIL_BYTES);
  if (collect) child.stdout?.on("data", (d: Buffer) => { out.push(d); });
  child.stderr?.on("data", (d: Buffer) => { err.push(d); });
  if (opts.onOutput) {
    const emit = opts.onOutput;
    for (const [stream, name] of [[child.stdout, "stdout"], [child.stderr, "stderr"]] as const) {
      stream?.on("data", (d: Buffer) => {
        const wait = emit(d, name);
        if (wait) {
          stream.pause();
          void wait.finally(() => stream.resume());
        }
      });
    }
  }
  if (opts.input !== undefined) {
    child.stdin!.on("error", () => {});
    child.stdin!.end(opts.input);
  }
  const timer = opts.timeoutMs ? setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs) : undefined;
  const done = new Promise<ExecResult>((resolve, reject) => {
    child.once("error", (e: NodeJS.ErrnoException) => {
      live.delete(child);
      if (timer) clearTimeout(timer);
      reject(e.code === "ENOENT" ? notInstalled(argv, e) : e);
    });
    child.once("close", (code, signal) => {
      live.delete(child);
      if (timer) clearTimeout(timer);
      const exitCode = code ?? 128 + (signal ? constants.signals[signal] ?? 0 : 0);
      resolve({ stdout: Buffer.concat(out).toString(), stderr: err.text(), exitCode, ...(signal ? { signal } : {}) });
    });
  });
  return { child, done };
}

/** Runs a program to completion and returns its output; throws ExecError unless it exits 0. */
export async function run(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const r = await spawn(argv, opts).done;
  if (r.exitCode !== 0) throw new ExecError(argv, r);
  return r;
}

/** Runs a program and returns how it ended, whatever its exit status. */
export async function status(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return spawn(argv, opts).done;
}
