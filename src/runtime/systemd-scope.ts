// A transient systemd scope with Delegate=yes around a container's first process: on a host
// where systemd is PID 1 and manages cgroup2, that is how another cgroup manager gets a subtree
// of its own (systemd.io/CGROUP_DELEGATION). minic makes its cgroups inside it and stops it when
// the container is released. Talks to systemd's manager with busctl (package systemd).
import { existsSync, readFileSync } from "node:fs";
import { MinicError } from "../core/errors.js";
import { run, status } from "../util/exec.js";
import { findProgram } from "../util/which.js";

/** A delegated scope: its unit, slice and cgroup, and the leaf cgroup minic's processes go in. */
export interface CgroupScope {
  unit: string;
  slice: string;
  dir: string;
  leaf: string;
}

/** systemd's private manager socket (root only; needs no D-Bus daemon, as systemctl uses it). */
const PRIVATE_BUS = "/run/systemd/private";
const MANAGER = ["org.freedesktop.systemd1", "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager"];

/** Pure: busctl's address options: the private socket when there is one, else the system bus. */
export function busArgs(privateSocket: boolean): string[] {
  return privateSocket ? [`--address=unix:path=${PRIVATE_BUS}`] : ["--system"];
}

/**
 * Pure: busctl argv asking systemd for scope `s` around `pid`: delegated (minic manages the
 * cgroups below it), collected once it stopped or failed (no unit is left behind).
 */
export function startScopeArgv(busctl: string, bus: readonly string[], s: CgroupScope, pid: number, description: string): string[] {
  return [
    busctl, ...bus, "call", ...MANAGER, "StartTransientUnit", "ssa(sv)a(sa(sv))", s.unit, "fail",
    "5", "Description", "s", description, "Slice", "s", s.slice, "Delegate", "b", "true",
    "CollectMode", "s", "inactive-or-failed", "PIDs", "au", "1", String(pid), "0",
  ];
}

/** Pure: busctl argv stopping unit `unit`. */
export function stopUnitArgv(busctl: string, bus: readonly string[], unit: string): string[] {
  return [busctl, ...bus, "call", ...MANAGER, "StopUnit", "ss", unit, "replace"];
}

/** Pure: the cgroup2 path of a process from /proc/PID/cgroup text ("0::/a/b"), or undefined. */
export function unifiedCgroup(text: string): string | undefined {
  const m = /^0::(\S*)$/m.exec(text);
  return m?.[1];
}

function busctl(): string {
  const p = findProgram("busctl");
  if (!p) throw new MinicError("EHOST", "busctl is not installed (minic asks systemd for a delegated cgroup scope with it)", { hint: "apt-get install systemd" });
  return p;
}

/**
 * Has systemd create scope `s` around `pid` and waits (up to 10 s) until `pid` is in it. Throws
 * EHOST when systemd refuses.
 */
export async function startScope(s: CgroupScope, pid: number): Promise<void> {
  const argv = startScopeArgv(busctl(), busArgs(existsSync(PRIVATE_BUS)), s, pid, `minic container ${s.unit.replace(/\.scope$/, "")}`);
  try {
    await run(argv);
  } catch (e) {
    throw new MinicError("EHOST", `systemd did not create the delegated scope ${s.unit}: ${(e as Error).message}`, { hint: "see 'minic doctor'", cause: e });
  }
  // StartTransientUnit returns a job; the process is in the scope once the job has run.
  const want = s.dir.slice(s.dir.indexOf(`/${s.slice}/`));
  for (let i = 0; i < 1000; i++) {
    let text = "";
    try {
      text = readFileSync(`/proc/${pid}/cgroup`, "utf8");
    } catch {
      throw new MinicError("ERUN", `the container's process ${pid} ended before systemd put it in ${s.unit}`, { hint: "see 'minic doctor'" });
    }
    if (unifiedCgroup(text) === want) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new MinicError("EHOST", `systemd did not put the container in ${s.unit} within 10 s`, { hint: "see 'systemctl status " + s.unit + "'" });
}

/**
 * Stops the scope and waits (up to 5 s) until its cgroup is gone. Idempotent: a scope systemd
 * already stopped and collected (it stops by itself once empty) is fine.
 */
export async function stopScope(s: Pick<CgroupScope, "unit" | "dir">): Promise<void> {
  if (!existsSync(s.dir)) return;
  const r = await status(stopUnitArgv(busctl(), busArgs(existsSync(PRIVATE_BUS)), s.unit));
  if (r.exitCode !== 0 && !/not loaded|NoSuchUnit/.test(r.stderr) && existsSync(s.dir)) {
    throw new MinicError("EHOST", `cannot stop the scope ${s.unit}: ${r.stderr.trim()}`, { hint: `systemctl stop ${s.unit}, then run 'minic prune'` });
  }
  for (let i = 0; i < 500 && existsSync(s.dir); i++) await new Promise((r) => setTimeout(r, 10));
  if (existsSync(s.dir)) throw new MinicError("EHOST", `the scope ${s.unit} is still there (${s.dir})`, { hint: `systemctl stop ${s.unit}, then run 'minic prune'` });
}
