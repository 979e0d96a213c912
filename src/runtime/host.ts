// What this host offers the runtime: filesystems, init system, cgroup hierarchies, programs.
// Parsers are pure (text in, data out); `probeHost` is the one place that reads /proc.
import { existsSync, readFileSync, statfsSync, statSync } from "node:fs";
import { cpus, release } from "node:os";
import { findProgram } from "../util/which.js";
import type { MaskTarget } from "./security-profile.js";

/** Magic number statfs reports for tmpfs. */
export const TMPFS_MAGIC = 0x01021994;

/** The cgroup controllers minic sets limits with. */
export type Controller = "cpu" | "cpuset" | "memory" | "pids";
export const CONTROLLERS: readonly Controller[] = ["cpu", "cpuset", "memory", "pids"];

/** cgroup hierarchies as mounted: v1 mount point per controller, and the cgroup2 mount if any. */
export interface CgroupMounts {
  v1: Partial<Record<Controller, string>>;
  /** A named v1 hierarchy (name=systemd) usable to track processes when no controller is. */
  v1Named?: string;
  /** The v1 devices controller (the default profile's device policy). */
  v1Devices?: string;
  v2?: string;
}

/** Pure: filesystem names from /proc/filesystems text. */
export function parseFilesystems(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split("\n")) {
    const name = line.trim().split(/\s+/).pop();
    if (name) out.add(name);
  }
  return out;
}

/** Pure: cgroup mounts from /proc/self/mountinfo text. */
export function parseCgroupMounts(mountinfo: string): CgroupMounts {
  const out: CgroupMounts = { v1: {} };
  for (const line of mountinfo.split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(" ");
    const [fstype, , superOpts = ""] = line.slice(sep + 3).split(" ");
    const mountPoint = unescapeMountinfo(left[4] ?? "");
    if (fstype === "cgroup2") {
      out.v2 ??= mountPoint;
    } else if (fstype === "cgroup") {
      for (const opt of superOpts.split(",")) {
        if ((CONTROLLERS as readonly string[]).includes(opt)) out.v1[opt as Controller] ??= mountPoint;
        if (opt === "name=systemd") out.v1Named ??= mountPoint;
        if (opt === "devices") out.v1Devices ??= mountPoint;
      }
    }
  }
  return out;
}

function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Pure: parses a CPU list like `0-3,6` into the CPU numbers. */
export function cpuList(s: string): number[] {
  const out: number[] = [];
  for (const part of s.trim().split(",")) {
    if (!part) continue;
    const [a, b] = part.split("-").map(Number) as [number, number | undefined];
    for (let i = a; i <= (b ?? a); i++) out.push(i);
  }
  return out;
}

/** Everything the runtime needs to know about the host, read once. */
export interface HostFacts {
  /** Filesystems the kernel can mount (listed, or installed as a module it loads on demand). */
  filesystems: Set<string>;
  /** True when PID 1 is systemd (it creates /run/systemd/system at boot). */
  systemdInit: boolean;
  /** True when /run/systemd/nspawn (or the nearest existing parent) is on a tmpfs. */
  nspawnRunOnTmpfs: boolean;
  cgroups: CgroupMounts;
  /** Number of CPUs (for validating --cpuset). */
  cpus: number;
  programs: Record<"systemd-nspawn" | "mount" | "unshare" | "ip", string | null>;
}

/**
 * Reads the host's facts. `MINIC_PROC_FILESYSTEMS` names another file to read instead of
 * /proc/filesystems (used by tests and by `minic doctor` users to see what minic would decide).
 */
export function probeHost(env: NodeJS.ProcessEnv = process.env): HostFacts {
  const fsText = readFileSync(env.MINIC_PROC_FILESYSTEMS || "/proc/filesystems", "utf8");
  const filesystems = parseFilesystems(fsText);
  if (!env.MINIC_PROC_FILESYSTEMS) {
    // Not loaded yet but installed as a module: mount(2) loads it on demand.
    for (const [fs, dir] of [["overlay", "overlayfs"], ["aufs", "aufs"]] as const) {
      if (!filesystems.has(fs) && existsSync(`/lib/modules/${release()}/kernel/fs/${dir}`)) filesystems.add(fs);
    }
  }
  return {
    filesystems,
    systemdInit: existsSync("/run/systemd/system"),
    nspawnRunOnTmpfs: onTmpfs("/run/systemd/nspawn"),
    cgroups: parseCgroupMounts(readFileSync("/proc/self/mountinfo", "utf8")),
    cpus: hostCpus(),
    programs: {
      "systemd-nspawn": findProgram("systemd-nspawn"),
      mount: findProgram("mount"),
      unshare: findProgram("unshare"),
      ip: findProgram("ip"),
    },
  };
}

function hostCpus(): number {
  try {
    return cpuList(readFileSync("/sys/devices/system/cpu/online", "utf8")).length;
  } catch {
    return cpus().length;
  }
}

function onTmpfs(path: string): boolean {
  let p = path;
  for (;;) {
    try {
      return statfsSync(p).type === TMPFS_MAGIC;
    } catch {
      if (p === "/") return false;
      p = p.slice(0, p.lastIndexOf("/")) || "/";
    }
  }
}

/** Which of `paths` (kernel paths under /proc and /sys) this host has, and which are directories. */
export function maskTargets(paths: readonly string[]): MaskTarget[] {
  const out: MaskTarget[] = [];
  for (const path of paths) {
    const st = statSync(path, { throwIfNoEntry: false });
    if (st) out.push({ path, dir: st.isDirectory() });
  }
  return out;
}
