// Keeps the kernel's cgroup-move lock warm while `minic run` sets a container up, so that the
// wrapper's own moves into the container's cgroups do not wait. Every move of a process between
// cgroups (v1 or cgroup2) takes one global lock for writing, and the first writer after a quiet
// while waits for an RCU grace period (rcu_sync_enter: ~5-25 ms here); a writer that comes while
// the last one left less than a grace period ago does not wait. minic's setup is shorter than
// that wait now, so the wrapper's first `echo $$ > cgroup.procs` was on the path of every run.
// Moving a process into the cgroup it is already in (a move the kernel makes as a no-op: the same
// css_set) takes the lock as any move does; made in the background from the run's first steps
// and again every few ms until the wrapper has gone on, it pays that wait off the path.
//
// The process moved is a stand-in that minic starts for this (`cat`), never minic itself: the
// kernel has no "move only if still there", so a move of minic made from what /proc/self/cgroup
// said a moment before undid any move someone else made meanwhile (an admin, a cgroup manager
// such as cgrulesengd, which moves processes right after they start). Nobody else has a stake
// in where the stand-in is, which lives only while it warms (at most MAX_WARM_MS).
// (Writing a pid that does not exist takes no lock on this kernel: it is looked up first.)
import { closeSync, constants, openSync, readFileSync, write, writeSync } from "node:fs";
import type { Socket } from "node:net";
import { spawn } from "../util/exec.js";
import type { CgroupMounts } from "./host.js";

/**
 * How long minic keeps the lock warm at most (ms): its setup takes ~20 ms; one that takes longer
 * (a first run that unpacks a layer) lets it go rather than take the lock every few ms meanwhile
 * (each move makes forks and exits on the host wait for it, for microseconds).
 */
const MAX_WARM_MS = 250;
/** Between two moves: shorter than the shortest grace period seen here (~5 ms). */
const INTERVAL_MS = 2;
/** A move later than this after the last one is made in the thread pool (it may wait). */
const LATE_MS = 4;

/**
 * Pure: the `cgroup.procs` of the cgroup a process is in (`self`: its /proc/PID/cgroup), in a
 * hierarchy minic knows the mount of: the v1 pids one, else any v1 controller's, else cgroup2's.
 * Undefined when there is none (no cgroupfs mounted, or a path that climbs).
 */
export function warmUpTarget(mounts: CgroupMounts, self: string): string | undefined {
  const lines = self.split("\n").map((l) => {
    const a = l.indexOf(":");
    const b = l.indexOf(":", a + 1);
    return a < 0 || b < 0 ? undefined : { controllers: l.slice(a + 1, b).split(","), path: l.slice(b + 1) };
  });
  const at = (mount: string | undefined, path: string | undefined) =>
    mount === undefined || path === undefined || !path.startsWith("/") || path.split("/").includes("..") ? undefined : `${mount}${path === "/" ? "" : path}/cgroup.procs`;
  const v1 = (c: string) => lines.find((l) => l?.controllers.includes(c))?.path;
  const pids = at(mounts.v1.pids, v1("pids"));
  if (pids) return pids;
  for (const [c, mount] of Object.entries(mounts.v1)) {
    const p = at(mount, v1(c));
    if (p) return p;
  }
  return at(mounts.v2, lines.find((l) => l?.controllers.length === 1 && l.controllers[0] === "")?.path);
}

/** A warm-up under way. */
export interface CgroupWarmUp {
  /** Ends it, now or `afterMs` from now (the wrapper let go may still be joining its cgroups). */
  stop(afterMs?: number): void;
}

/** The process that is moved: its pid, and how to end it (once no move of it is under way). */
export interface StandIn {
  pid: number;
  end(): void;
  /** Calls `f` if it ends by itself (killed by someone else): no move is made after that. */
  onExit(f: () => void): void;
}

/**
 * Starts the stand-in (best effort: undefined if it cannot be started): `cat` reading a pipe that
 * only minic holds, so it never ends by itself (its pid stays its own while minic moves it) and
 * ends with minic however minic ends (the pipe closes), if not killed first.
 */
export function startStandIn(): StandIn | undefined {
  try {
    const { child, done } = spawn(["cat"], { stdin: "pipe", stdout: "ignore", stderr: "ignore", collect: false });
    done.catch(() => {}); // not installed: child.pid is undefined, and there is no warm-up
    if (child.pid === undefined) return undefined;
    child.stdin?.on("error", () => {});
    (child.stdin as Partial<Socket> | null)?.unref?.(); // a pipe: a socket, which would keep minic alive
    child.unref();
    return { pid: child.pid, end: () => child.kill("SIGKILL"), onExit: (f) => child.once("exit", f) };
  } catch {
    return undefined;
  }
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/**
 * Starts moving a stand-in (see the top of this file) into its own cgroup in the background,
 * until `stop` or MAX_WARM_MS. Best effort, and never a move anywhere else: the target must list
 * the stand-in first (where a cgroupfs is mounted from another root than this process's cgroup
 * namespace sees, as in `unshare -C` over the host's cgroupfs or a bind of a subtree, the path
 * from /proc/PID/cgroup names another cgroup), and is opened for writing only, never made. The
 * first move, which waits for the grace period, is made in the thread pool; the later ones,
 * which do not wait, on this thread, each after the stand-in's /proc/PID/cgroup was read again:
 * once something else has moved it, it ends (unless a move under way undid that move: with the
 * stand-in, that harms no one). A failed move ends it too, and so does the stand-in's end: minic
 * ends it only once no move is under way, and no move is started after it was seen to end (one
 * already in the thread pool when someone else killed it lands on the pid it had: a pid is not
 * given out again until the kernel has gone through all the others). Nothing waits for it (its
 * timer and its stand-in do not keep minic alive).
 */
export function warmUpCgroupMoves(mounts: CgroupMounts, start: () => StandIn | undefined = startStandIn): CgroupWarmUp {
  const standIn = start();
  const cgroupFile = standIn && `/proc/${standIn.pid}/cgroup`;
  const self = cgroupFile && read(cgroupFile);
  const target = self === undefined ? undefined : warmUpTarget(mounts, self);
  let fd: number | undefined;
  if (standIn && target !== undefined && read(target)?.split("\n").includes(String(standIn.pid))) {
    try {
      fd = openSync(target, constants.O_WRONLY);
    } catch {
      fd = undefined;
    }
  }
  const pid = Buffer.from(String(standIn?.pid));
  const until = performance.now() + MAX_WARM_MS;
  let stopped = fd === undefined;
  let inFlight = false;
  let ended = false;
  const end = (): void => {
    stopped = true;
    if (inFlight || ended) return;
    ended = true;
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
    standIn?.end();
  };
  if (stopped) end();
  else standIn!.onExit(() => { stopped = true; });
  // Moves after the first wait only while the lock is warm: a tick that comes late (this thread
  // was busy for longer than LATE_MS) may find it cold again, and moves in the thread pool.
  let lastMove = 0;
  const next = () => setTimeout(tick, INTERVAL_MS).unref();
  const moveInPool = (): void => {
    inFlight = true;
    write(fd!, pid, 0, pid.length, 0, (err) => {
      inFlight = false;
      lastMove = performance.now();
      if (err || stopped) return end();
      next();
    });
  };
  function tick(): void {
    if (stopped || performance.now() > until || read(cgroupFile!) !== self) return end();
    if (performance.now() - lastMove > LATE_MS) return moveInPool();
    try {
      writeSync(fd!, pid, 0, pid.length, 0);
    } catch {
      return end();
    }
    lastMove = performance.now();
    next();
  }
  if (!stopped) moveInPool();
  return {
    stop: (afterMs = 0) => {
      if (afterMs <= 0) end();
      else setTimeout(end, afterMs).unref();
    },
  };
}
