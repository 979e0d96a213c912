// cgroup limits, written by minic itself into cgroupfs (v1 hierarchies and/or cgroup2):
// a pure plan (dirs, file writes, procs files) and a thin executor that applies and removes it.
// Where systemd manages cgroup2 (PID 1 and the unified hierarchy), minic's cgroups live in a
// transient scope systemd delegates to it (systemd-scope.ts), as systemd documents for other
// cgroup managers; elsewhere minic manages the hierarchy itself.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { MinicError } from "../core/errors.js";
import type { Limits } from "../core/limits.js";
import { deviceWrites } from "./device-policy.js";
import type { CgroupMounts, Controller } from "./host.js";
import type { DeviceAccess } from "./security-profile.js";
import { startScope, type CgroupScope } from "./systemd-scope.js";

export interface CgroupWrite {
  path: string;
  value: string;
  /** Skipped when the file does not exist (memory.swap.max without swap accounting). */
  optional?: boolean;
  /** A `cgroup.subtree_control` write: the cgroup2 controllers it enables (for its error). */
  enables?: Controller[];
}

/** The slice minic's scopes go in (as podman's and nspawn's: containers and VMs). */
export const SCOPE_SLICE = "machine.slice";

/** Everything to do for a container's cgroups, as data. */
export interface CgroupPlan {
  /** Directories to create, in order (removed in reverse). */
  dirs: string[];
  /** Files to write once the dirs exist, in order. */
  writes: CgroupWrite[];
  /** `cgroup.procs` files the container's first process writes its pid to. */
  procs: string[];
  /** Where OOM kills are counted afterwards (`oom_kill N` lines), when memory is limited. */
  oomEvents?: string;
  /** Where forks refused by the pids limit are counted (`max N`), when pids are limited. */
  pidsEvents?: string;
  /**
   * On a systemd host: the delegated scope the cgroups are made in. The executor has systemd
   * create it around the container's first process and moves that process into `scope.leaf`
   * (the scope's own cgroup must hold no process for its controllers to be enabled below it).
   */
  scope?: CgroupScope;
}

/** Host facts the plan depends on (read by `readCgroupHost`). */
export interface CgroupHost {
  mounts: CgroupMounts;
  /** cgroup2: controllers available at the mount's root and those delegated to its children. */
  v2Controllers: Set<string>;
  v2Delegated: Set<string>;
  /** The memory nodes a new v1 cpuset must be given (the root's cpuset.mems). */
  cpusetMems: string;
  /** v1 swap accounting present (memory.memsw.*): limit swap too. */
  memsw: boolean;
  /**
   * Who manages cgroup2: `systemd` (PID 1, unified hierarchy: minic asks it for a delegated
   * scope), or `minic` (no systemd, or systemd on v1/hybrid, where minic writes cgroupfs alone
   * and enables cgroup2 controllers in the root's subtree_control itself, as runc does).
   */
  manager: "systemd" | "minic";
}

const PERIOD_US = 100_000;

/** Pure: the controllers a set of limits needs. */
export function controllersFor(limits: Limits): Controller[] {
  const out: Controller[] = [];
  if (limits.cpus !== undefined) out.push("cpu");
  if (limits.cpuset !== undefined) out.push("cpuset");
  if (limits.memoryBytes !== undefined) out.push("memory");
  if (limits.pids !== undefined) out.push("pids");
  return out;
}

/**
 * Pure: the cgroups for container `name` (e.g. `minic-0123abcd`). Each limited controller gets
 * a cgroup in its v1 hierarchy, or in cgroup2 when it lives there. A pids cgroup is made even
 * without a pids limit so the container's processes can always be found and killed. With
 * `devices` minimal and a v1 devices hierarchy, a devices cgroup holds the device policy
 * (device-policy.ts; cgroup2 has none). Throws EHOST when a needed controller is missing or
 * (cgroup2) not delegated.
 */
export function planCgroups(limits: Limits, host: CgroupHost, name: string, devices: DeviceAccess): CgroupPlan {
  const { mounts } = host;
  const dirs: string[] = [];
  const writes: CgroupWrite[] = [];
  const scope = host.manager === "systemd" && mounts.v2 ? scopeFor(mounts.v2, name) : undefined;
  const v2dir = scope ? scope.leaf : mounts.v2 ? `${mounts.v2}/${name}` : undefined;
  // cgroup2 controllers to enable for the container's cgroup: in the scope's subtree_control
  // (systemd delegated the scope), or in the root's (no manager but minic).
  const enable: Controller[] = [];
  const dirFor = (c: Controller): string => {
    const v1 = mounts.v1[c];
    if (v1) return add(`${v1}/${name}`);
    if (v2dir && host.v2Controllers.has(c)) {
      if (scope || !host.v2Delegated.has(c)) enable.push(c);
      return add(v2dir);
    }
    throw new MinicError("EHOST", `this host has no '${c}' cgroup controller, needed for the ${limitName(c)} limit`, {
      hint: `drop ${limitName(c)}, or boot with the ${c} controller enabled (see 'minic doctor')`,
    });
  };
  function add(d: string): string {
    if (!dirs.includes(d)) dirs.push(d);
    return d;
  }
  let oomEvents: string | undefined;
  if (limits.cpuset !== undefined) {
    const d = dirFor("cpuset");
    if (d === v2dir) writes.push({ path: `${d}/cpuset.cpus`, value: limits.cpuset });
    else writes.push({ path: `${d}/cpuset.mems`, value: host.cpusetMems }, { path: `${d}/cpuset.cpus`, value: limits.cpuset });
  }
  if (limits.cpus !== undefined) {
    const d = dirFor("cpu");
    const quota = Math.max(1000, Math.round(limits.cpus * PERIOD_US));
    if (d === v2dir) writes.push({ path: `${d}/cpu.max`, value: `${quota} ${PERIOD_US}` });
    else writes.push({ path: `${d}/cpu.cfs_period_us`, value: String(PERIOD_US) }, { path: `${d}/cpu.cfs_quota_us`, value: String(quota) });
  }
  if (limits.memoryBytes !== undefined) {
    const d = dirFor("memory");
    const v = String(limits.memoryBytes);
    if (d === v2dir) {
      writes.push({ path: `${d}/memory.max`, value: v }, { path: `${d}/memory.swap.max`, value: "0", optional: true });
      oomEvents = `${d}/memory.events`;
    } else {
      writes.push({ path: `${d}/memory.limit_in_bytes`, value: v });
      if (host.memsw) writes.push({ path: `${d}/memory.memsw.limit_in_bytes`, value: v });
      oomEvents = `${d}/memory.oom_control`;
    }
  }
  let pidsEvents: string | undefined;
  if (limits.pids !== undefined) {
    const d = dirFor("pids");
    writes.push({ path: `${d}/pids.max`, value: String(limits.pids) });
    pidsEvents = `${d}/pids.events`;
  } else if (mounts.v1.pids) {
    add(`${mounts.v1.pids}/${name}`);
  } else if (v2dir) {
    add(v2dir);
  } else if (mounts.v1Named) {
    add(`${mounts.v1Named}/${name}`);
  }
  if (devices === "minimal" && mounts.v1Devices) writes.push(...deviceWrites(add(`${mounts.v1Devices}/${name}`)));
  if (enable.length > 0) {
    const at = scope ? scope.dir : mounts.v2!;
    writes.unshift({ path: `${at}/cgroup.subtree_control`, value: enable.map((c) => `+${c}`).join(" "), enables: enable });
  }
  return {
    dirs, writes, procs: dirs.map((d) => `${d}/cgroup.procs`),
    ...(oomEvents ? { oomEvents } : {}), ...(pidsEvents ? { pidsEvents } : {}), ...(scope ? { scope } : {}),
  };
}

/** Pure: the delegated scope for cgroup `name` under the cgroup2 mount `v2`. */
export function scopeFor(v2: string, name: string): CgroupScope {
  const unit = `${name}.scope`;
  const dir = `${v2}/${SCOPE_SLICE}/${unit}`;
  return { unit, slice: SCOPE_SLICE, dir, leaf: `${dir}/container` };
}

const LIMIT_FLAGS: Record<Controller, string> = { cpu: "--cpus", cpuset: "--cpuset", memory: "--memory", pids: "--pids" };

function limitName(c: Controller): string {
  return LIMIT_FLAGS[c];
}

/**
 * Pure: who manages cgroup2 here. systemd does when it is PID 1 on the unified hierarchy (no v1
 * hierarchy at all); then minic asks it for a delegated scope.
 */
export function cgroupManager(mounts: CgroupMounts, systemdInit: boolean): CgroupHost["manager"] {
  const v1 = Object.keys(mounts.v1).length > 0 || mounts.v1Named !== undefined || mounts.v1Devices !== undefined;
  return systemdInit && mounts.v2 !== undefined && !v1 ? "systemd" : "minic";
}

/** Reads what `planCgroups` needs; reads cgroup2 and cpuset files only when `limits` need them. */
export function readCgroupHost(mounts: CgroupMounts, limits: Limits, systemdInit: boolean): CgroupHost {
  const read = (p: string) => {
    try {
      return readFileSync(p, "utf8").trim();
    } catch {
      return "";
    }
  };
  const words = (s: string) => new Set(s.split(/\s+/).filter(Boolean));
  const needV2 = mounts.v2 !== undefined && controllersFor(limits).some((c) => !mounts.v1[c]);
  return {
    mounts,
    v2Controllers: needV2 ? words(read(`${mounts.v2}/cgroup.controllers`)) : new Set(),
    v2Delegated: needV2 ? words(read(`${mounts.v2}/cgroup.subtree_control`)) : new Set(),
    cpusetMems: limits.cpuset !== undefined && mounts.v1.cpuset ? read(`${mounts.v1.cpuset}/cpuset.mems`) || "0" : "0",
    memsw: limits.memoryBytes !== undefined && mounts.v1.memory ? existsSync(`${mounts.v1.memory}/memory.memsw.limit_in_bytes`) : false,
    manager: cgroupManager(mounts, systemdInit),
  };
}

/**
 * Creates the plan's cgroups and writes its limits; with a scope, has systemd make it around
 * `pid` (the container's first process) first and moves `pid` into the scope's leaf. On failure
 * the caller removes `plan.dirs` and stops the scope (teardown.ts).
 */
export async function applyCgroups(plan: CgroupPlan, pid: number | undefined): Promise<void> {
  if (plan.scope) {
    if (pid === undefined) throw new Error("applyCgroups: a scope needs the container's first process");
    await startScope(plan.scope, pid);
  }
  for (const d of plan.dirs) {
    try {
      mkdirSync(d);
    } catch (e) {
      throw mkdirError(plan, d, e);
    }
  }
  if (plan.scope) {
    try {
      writeFileSync(`${plan.scope.leaf}/cgroup.procs`, String(pid));
    } catch (e) {
      throw new MinicError("EHOST", `cannot move the container into ${plan.scope.leaf}: ${(e as Error).message}`, { hint: "see 'minic doctor'", cause: e });
    }
  }
  for (const w of plan.writes) {
    if (w.optional && !existsSync(w.path)) continue;
    try {
      writeFileSync(w.path, w.value);
    } catch (e) {
      if (w.enables) throw enableError(w, e);
      throw new MinicError("EHOST", `cannot set ${w.path} to ${w.value}: ${(e as Error).message}`, { hint: "the kernel refused this limit; see 'minic doctor'", cause: e });
    }
  }
}

/** Pure: the controllers whose files the plan writes in cgroup `dir` (cpu.max → cpu). */
export function controllersWritten(plan: CgroupPlan, dir: string): string[] {
  const out = new Set<string>();
  for (const w of plan.writes) {
    if (w.path.startsWith(`${dir}/`) && !w.path.slice(dir.length + 1).includes("/")) out.add(w.path.slice(dir.length + 1).split(".")[0]!);
  }
  return [...out];
}

function mkdirError(plan: CgroupPlan, d: string, e: unknown): MinicError {
  const cs = controllersWritten(plan, d);
  const what = cs.length > 0 ? `for the ${cs.join(", ")} controller${cs.length > 1 ? "s" : ""}` : "to track the container's processes";
  const flags = cs.filter((c): c is Controller => c in LIMIT_FLAGS).map(limitName);
  const code = (e as NodeJS.ErrnoException).code;
  const parent = d.slice(0, d.lastIndexOf("/"));
  const hint = code === "EROFS"
    ? `cgroupfs is mounted read-only here: remount it read-write (mount -o remount,rw ${parent})${flags.length > 0 ? `, or run without ${flags.join(", ")}` : ""}`
    : code === "EACCES" || code === "EPERM"
      ? "minic must run as root, with the cgroup hierarchy writable (see 'minic doctor')"
      : "see 'minic doctor'";
  return new MinicError("EHOST", `cannot create cgroup ${d} (${what}): ${(e as Error).message}`, { hint, cause: e });
}

function enableError(w: CgroupWrite, e: unknown): MinicError {
  const cs = w.enables!;
  const list = cs.map((c) => `'${c}'`).join(", ");
  const code = (e as NodeJS.ErrnoException).code;
  const at = w.path.slice(0, w.path.lastIndexOf("/"));
  const hint = code === "EROFS"
    ? `cgroupfs is mounted read-only: remount it read-write (mount -o remount,rw ${at}), or drop ${cs.map(limitName).join(", ")}`
    : code === "EBUSY"
      ? `${at} holds processes (so no controller can be enabled below it): have its cgroup manager delegate ${list} to minic, or drop ${cs.map(limitName).join(", ")}`
      : `enable ${list} for ${at} (see 'minic doctor'), or drop ${cs.map(limitName).join(", ")}`;
  return new MinicError("EHOST", `cannot enable the cgroup v2 controller${cs.length > 1 ? "s" : ""} ${list} in ${w.path}: ${(e as Error).message}`, { hint, cause: e });
}

/**
 * `dir` and the cgroups below it, deepest first (post-order). Programs may make cgroups of their
 * own below minic's: systemd-nspawn does on cgroup v2 (its payload and supervisor), and a cgroup
 * with children can be neither emptied through its own cgroup.procs nor removed.
 */
export function cgroupTree(dir: string): string[] {
  const out: string[] = [];
  let children: string[] = [];
  try {
    children = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => `${dir}/${e.name}`);
  } catch {
    /* gone, or not a directory */
  }
  for (const c of children) out.push(...cgroupTree(c));
  out.push(dir);
  return out;
}

/** Pids of every process in the given cgroups and the cgroups below them. */
export function cgroupPids(dirs: readonly string[]): number[] {
  const out = new Set<number>();
  for (const d of dirs.flatMap(cgroupTree)) {
    let text = "";
    try {
      text = readFileSync(`${d}/cgroup.procs`, "utf8");
    } catch {
      continue;
    }
    for (const l of text.split("\n")) if (l) out.add(Number(l));
  }
  return [...out];
}

/** SIGKILLs every process in the cgroups; returns how many were signalled. */
export function killCgroups(dirs: readonly string[]): number {
  let n = 0;
  for (const pid of cgroupPids(dirs)) {
    try {
      process.kill(pid, "SIGKILL");
      n++;
    } catch {
      /* already gone */
    }
  }
  return n;
}

/**
 * Removes the cgroups (last first), each after the cgroups programs made below it (deepest
 * first). Processes still inside are killed; a cgroup that stays busy for ~3 s is an error.
 * Idempotent: missing cgroups are fine.
 */
export async function removeCgroups(dirs: readonly string[]): Promise<void> {
  for (const d of [...dirs].reverse().flatMap(cgroupTree)) {
    for (let attempt = 0; ; attempt++) {
      try {
        rmdirSync(d);
        break;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        // ENOENT, or EROFS for a cgroup never made on a read-only cgroupfs: nothing to remove.
        if (code === "ENOENT" || !existsSync(d)) break;
        if (code !== "EBUSY" || attempt >= 300) {
          throw new MinicError("EHOST", `cannot remove cgroup ${d}: ${(e as Error).message}`, { hint: "kill what is left in it, then run 'minic prune'", cause: e });
        }
        if (attempt > 5) killCgroups([d]);
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  }
}

/** Pure: the `oom_kill N` count from memory.oom_control (v1) or memory.events (v2) text. */
export function oomKills(text: string): number {
  const m = /^oom_kill (\d+)$/m.exec(text);
  return m ? Number(m[1]) : 0;
}

/** Pure: the `max N` count (forks refused at pids.max) from pids.events text (v1 and v2). */
export function pidsMaxEvents(text: string): number {
  const m = /^max (\d+)$/m.exec(text);
  return m ? Number(m[1]) : 0;
}

/** Forks the plan's pids limit refused (0 when unlimited or unreadable). */
export function readPidsRefused(plan: CgroupPlan): number {
  if (!plan.pidsEvents) return 0;
  try {
    return pidsMaxEvents(readFileSync(plan.pidsEvents, "utf8"));
  } catch {
    return 0;
  }
}

/** OOM kills counted in the plan's memory cgroup (0 when unlimited or unreadable). */
export function readOomKills(plan: CgroupPlan): number {
  if (!plan.oomEvents) return 0;
  try {
    return oomKills(readFileSync(plan.oomEvents, "utf8"));
  } catch {
    return 0;
  }
}
