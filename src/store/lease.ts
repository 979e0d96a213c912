// How gc and the commands that write the store share it without locks (README "Store
// protocol"). In <store>/leases/:
//   PID-START-RAND.lease   what a live writer relies on: lines `blob DIGEST` and `layer DIFFID`
//                          (an unpacked layer), appended before it looks for or makes them;
//   PID-START-RAND.gc      a gc under way, made before it reads leases, containers and refs.
// Each side writes its file first and reads the other's after, so of a writer's hold and a gc,
// one sees the other: gc keeps what the lease names, or the writer sees the gc, waits for it to
// end and then looks (again) for what it holds. Owners are pid + start time: the file of a
// process that was killed counts for nothing, and the next gc removes it.
import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { atPath } from "../core/faults.js";
import { isDigest, type Digest } from "../core/digest.js";
import { processStart } from "../util/process-start.js";

/** What a lease holds: blobs by digest, unpacked layers by diff id. */
export interface Held {
  blobs?: readonly Digest[];
  layers?: readonly Digest[];
}

const NAME_RE = /^(\d+)-(\d+)-[0-9a-f]+\.(lease|gc)$/;
/** How often a writer looks whether the gcs it waits for have ended. */
const POLL_MS = 10;

let self: string | undefined;
/** `PID-START-RAND` of a new lease or gc file of this process. */
function ownName(): string {
  self ??= `${process.pid}-${processStart(process.pid) ?? "0"}`;
  return `${self}-${randomBytes(6).toString("hex")}`;
}

/**
 * True while the process that made lease or gc file `name` lives (same pid, same start time;
 * start time 0, made where /proc could not tell it: the pid alone).
 */
export function ownerAlive(name: string): boolean {
  const m = NAME_RE.exec(name);
  if (m === null) return false;
  if (m[2] !== "0") return processStart(Number(m[1])) === m[2];
  try {
    process.kill(Number(m[1]), 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The lease files this process made, removed when it exits (a killed one's are stale: see readLeases). */
const own = new Set<string>();
function removeOwnAtExit(file: string): void {
  if (own.size === 0) process.once("exit", () => own.forEach((f) => rmSync(f, { force: true })));
  own.add(file);
}

/** A process's lease in one store's lease dir: what it holds until it exits. */
export class Lease {
  private readonly held = new Set<string>();
  private file: string | undefined;
  /** The wait that follows the last addition (a hold of items held already waits for it too). */
  private settled: Promise<void> = Promise.resolve();

  constructor(private readonly dir: string) {}

  /**
   * Adds `items` to the lease, then waits for every gc under way to end (one that started
   * before the lease named them may not have seen it). When it returns, no gc removes them
   * while this process lives; one that did before is over, so the caller looks for them now,
   * and stores again what is gone. Idempotent: items already held add nothing, and wait only
   * for the wait that holding them began (when a concurrent call is still in it).
   */
  async hold(items: Held): Promise<void> {
    const lines: string[] = [];
    for (const [kind, ds] of [["blob", items.blobs], ["layer", items.layers]] as const) {
      for (const d of ds ?? []) {
        const line = `${kind} ${d}`;
        if (this.held.has(line)) continue;
        this.held.add(line);
        lines.push(line);
      }
    }
    if (lines.length === 0) return this.settled;
    const file = this.file ?? join(this.dir, `${ownName()}.lease`);
    try {
      if (this.file === undefined) {
        mkdirSync(this.dir, { recursive: true, mode: 0o700 });
        this.file = file;
        removeOwnAtExit(file);
      }
      appendFileSync(file, lines.join("\n") + "\n", { mode: 0o600 });
    } catch (e) {
      throw atPath(e, file); // a full or read-only store: one line naming the lease (core/faults.ts)
    }
    this.settled = waitForGc(this.dir);
    return this.settled;
  }

  /** Ends the lease: gc may free what it held (unless names or containers reach it). Idempotent. */
  release(): void {
    if (this.file === undefined) return;
    rmSync(this.file, { force: true });
    own.delete(this.file);
    this.file = undefined;
    this.held.clear();
    this.settled = Promise.resolve();
  }
}

/**
 * Waits until every gc that is under way in `dir` now has ended (or died). gcs that start later
 * are not waited for: they see what was held before this call.
 */
export async function waitForGc(dir: string): Promise<void> {
  let running = entries(dir).filter((n) => n.endsWith(".gc") && ownerAlive(n));
  while (running.length > 0) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    running = running.filter((n) => existsSync(join(dir, n)) && ownerAlive(n));
  }
}

/** Announces a gc in `dir` (before it reads anything); returns the function that ends it. */
export function announceGc(dir: string): () => void {
  const file = join(dir, `${ownName()}.gc`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(file, "", { mode: 0o600 });
  } catch (e) {
    rmSync(file, { force: true });
    throw atPath(e, file);
  }
  return () => rmSync(file, { force: true });
}

/**
 * What the live leases in `dir` hold (diff ids and blob digests, as hex). Removes the lease
 * and gc files of processes that are gone; a line being written (no newline yet) is not read:
 * its writer sees this gc and waits.
 */
export function readLeases(dir: string): { blobs: Set<string>; layers: Set<string> } {
  const out = { blobs: new Set<string>(), layers: new Set<string>() };
  for (const name of entries(dir)) {
    const path = join(dir, name);
    if (!ownerAlive(name)) {
      rmSync(path, { force: true });
      continue;
    }
    if (!name.endsWith(".lease")) continue;
    let text = "";
    try {
      text = readFileSync(path, "utf8");
    } catch {
      continue; // its process has just exited
    }
    for (const line of text.slice(0, text.lastIndexOf("\n") + 1).split("\n")) {
      const [kind, d] = line.split(" ");
      if (d === undefined || !isDigest(d)) continue;
      if (kind === "blob") out.blobs.add(d.slice(7));
      else if (kind === "layer") out.layers.add(d.slice(7));
    }
  }
  return out;
}

/** The lease and gc files in `dir`; none when it does not exist. */
function entries(dir: string): string[] {
  try {
    return readdirSync(dir).filter((n) => NAME_RE.test(n));
  } catch {
    return [];
  }
}
