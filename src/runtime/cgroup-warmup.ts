// Keeps the kernel's cgroup-move lock warm while `minic run` sets a container up, so that the
// wrapper's own moves into the container's cgroups do not wait. Every move of a process between
// cgroups (v1 or cgroup2) takes one global lock for writing, and the first writer after a quiet
// while waits for an RCU grace period (rcu_sync_enter: ~5-25 ms here); a writer that comes while
// the last one left less than a grace period ago does not wait. minic's setup is shorter than
// that wait now, so the wrapper's first `echo $$ > cgroup.procs` was on the path of every run.
// Moving minic into the cgroup it is already in (a move the kernel makes as a no-op: the same
// css_set) takes the lock as any move does; made in the background from the run's first steps
// and again every few ms until the wrapper has gone on, it pays that wait off the path.
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import type { CgroupMounts } from "./host.js";

/** How long minic keeps the lock warm at most, whatever happens (ms). */
const MAX_WARM_MS = 2000;
/** Between two moves: shorter than the shortest grace period seen here (~5 ms). */
const INTERVAL_MS = 2;

/**
 * Pure: the `cgroup.procs` of the cgroup this process is in (`self`: /proc/self/cgroup), in a
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

/**
 * Starts moving this process into its own cgroup (see the top of this file) in the background,
 * until `stop` or MAX_WARM_MS. Best effort: the first failed move ends it, and nothing waits
 * for it (its timer does not keep minic alive).
 */
export function warmUpCgroupMoves(mounts: CgroupMounts): CgroupWarmUp {
  let target: string | undefined;
  try {
    target = warmUpTarget(mounts, readFileSync("/proc/self/cgroup", "utf8"));
  } catch {
    target = undefined;
  }
  let stopped = target === undefined;
  const until = Date.now() + MAX_WARM_MS;
  const move = (): void => {
    if (stopped || Date.now() > until) return;
    writeFile(target!, String(process.pid)).then(
      () => { if (!stopped) setTimeout(move, INTERVAL_MS).unref(); },
      () => { stopped = true; },
    );
  };
  move();
  return {
    stop: (afterMs = 0) => {
      if (afterMs <= 0) stopped = true;
      else setTimeout(() => { stopped = true; }, afterMs).unref();
    },
  };
}
