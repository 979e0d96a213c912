// A transient systemd scope with Delegate=yes around a container's first process: on a host
// where systemd is PID 1 and manages cgroup2, that is how another cgroup manager gets a subtree
// of its own (systemd.io/CGROUP_DELEGATION). minic makes its cgroups inside it and stops it when
// the container is released. systemd-run makes the scope, systemctl stops it.
import { existsSync, readFileSync } from "node:fs";
import { MinicError } from "../core/errors.js";
import { status } from "../util/exec.js";
import { findProgram } from "../util/which.js";

/** A delegated scope: its unit, slice and cgroup, and the leaf cgroup minic's processes go in. */
export interface CgroupScope {
  unit: string;
  slice: string;
  dir: string;
  leaf: string;
}

/**
 * Pure: the argv prefix that starts a program in scope `s`: systemd-run makes the scope around
 * its own process (over systemd's private socket when root, no D-Bus daemon needed), delegated
 * (minic manages the cgroups below it) and collected once it stopped or failed (no unit is left
 * behind), then execs the program with the same pid and file descriptors.
 */
export function scopeRunArgv(systemdRun: string, s: CgroupScope, description: string): string[] {
  return [systemdRun, "--scope", "--quiet", "--collect", `--unit=${s.unit}`, `--slice=${s.slice}`, "--property=Delegate=yes", `--description=${description}`, "--"];
}

/** Pure: the systemctl argv stopping unit `unit` (and waiting until it stopped). */
export function stopUnitArgv(systemctl: string, unit: string): string[] {
  return [systemctl, "stop", "--quiet", unit];
}

/** Pure: the cgroup2 path of a process from /proc/PID/cgroup text ("0::/a/b"), or undefined. */
export function unifiedCgroup(text: string): string | undefined {
  const m = /^0::(\S*)$/m.exec(text);
  return m?.[1];
}

/** The path of a systemd program; throws EHOST naming the package when it is missing. */
export function systemdProgram(name: "systemd-run" | "systemctl"): string {
  const p = findProgram(name);
  if (!p) throw new MinicError("EHOST", `${name} is not installed (minic runs containers in delegated systemd scopes on this host)`, { hint: "apt-get install systemd" });
  return p;
}

/**
 * Waits (up to 10 s) until `pid`, started under scopeRunArgv, is in scope `s`. Throws when it
 * ended first (systemd-run printed why) or systemd never put it there.
 */
export async function startScope(s: CgroupScope, pid: number): Promise<void> {
  const want = s.dir.slice(s.dir.indexOf(`/${s.slice}/`));
  for (let i = 0; i < 1000; i++) {
    let text = "";
    try {
      text = readFileSync(`/proc/${pid}/cgroup`, "utf8");
    } catch {
      throw new MinicError("EHOST", `systemd-run ended before systemd put the container in the scope ${s.unit}`, { hint: "see its error above, and 'minic doctor'" });
    }
    if (unifiedCgroup(text) === want) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new MinicError("EHOST", `systemd did not put the container in the scope ${s.unit} within 10 s`, { hint: `see 'systemctl status ${s.unit}'` });
}

/**
 * Stops the scope and waits (up to 5 s) until its cgroup is gone. Idempotent: a scope systemd
 * already stopped and collected (it stops by itself once empty) is fine.
 */
export async function stopScope(s: Pick<CgroupScope, "unit" | "dir">): Promise<void> {
  if (!existsSync(s.dir)) return;
  const r = await status(stopUnitArgv(systemdProgram("systemctl"), s.unit));
  if (r.exitCode !== 0 && !/not loaded/.test(r.stderr) && existsSync(s.dir)) {
    throw new MinicError("EHOST", `cannot stop the scope ${s.unit}: ${r.stderr.trim()}`, { hint: `systemctl stop ${s.unit}, then run 'minic prune'` });
  }
  for (let i = 0; i < 500 && existsSync(s.dir); i++) await new Promise((r) => setTimeout(r, 10));
  if (existsSync(s.dir)) throw new MinicError("EHOST", `the scope ${s.unit} is still there (${s.dir})`, { hint: `systemctl stop ${s.unit}, then run 'minic prune'` });
}
