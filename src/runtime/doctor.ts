// What this host supports for `minic run`, and what to install or change: a pure report built
// from probed facts (gathered by `gatherDoctorFacts`).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { messageLine } from "../core/errors.js";
import { status } from "../util/exec.js";
import { readStoreStatus, storeFindings, type StoreStatus } from "../store/store-status.js";
import type { StoreLocation } from "../store/store-location.js";
import { checkoutRoot, installRoot } from "../util/install.js";
import { startupSnapshotState, type SnapshotState } from "../util/startup-snapshot.js";
import { findProgram } from "../util/which.js";
import { conflictingRoute, parseRoutes, subnetPrefix } from "./network.js";
import { cgroupManager, SCOPE_SLICE } from "./cgroups.js";
import { CONTROLLERS, maskTargets, probeHost, type HostFacts } from "./host.js";
import { DEFAULT_CAPS, MASKED_PATHS } from "./security-profile.js";

export interface DoctorFacts {
  host: HostFacts;
  root: boolean;
  nspawnVersion?: string;
  v2Controllers: string[];
  v2Delegated: string[];
  netns: boolean;
  bzip2: string[];
  subnet: string;
  subnetClash?: string;
  /** MINIC_SUBNET's error line when it is not a usable /16. */
  subnetError?: string;
  bridgeNfCallIptables?: boolean;
  /** The kernel has seccomp (nspawn's filter applies). */
  seccomp: boolean;
  /** user.max_user_namespaces (0: --userns auto cannot work). */
  maxUserNamespaces: number;
  /** How many of MASKED_PATHS this host has. */
  masked: number;
  /** Whether bin/minic starts from the startup snapshot. */
  snapshot: SnapshotState;
  /** minic runs from its git checkout (else: an installed npm package). */
  checkout: boolean;
  store: { location: StoreLocation; status: StoreStatus };
  /** systemd-run is installed (minic starts containers in delegated scopes with it). */
  systemdRun: boolean;
}

export interface DoctorLine {
  level: "ok" | "note" | "warn" | "missing";
  text: string;
}

export interface DoctorReport {
  lines: DoctorLine[];
  /** Debian packages to install for what is missing. */
  install: string[];
  /** True when the default `minic run` (overlay + nspawn) can work. */
  runnable: boolean;
}

/** Pure: the report for a set of facts. */
export function doctorReport(f: DoctorFacts): DoctorReport {
  const lines: DoctorLine[] = [];
  const install = new Set<string>();
  const add = (level: DoctorLine["level"], text: string) => lines.push({ level, text });
  const h = f.host;
  add(f.root ? "ok" : "missing", f.root ? "running as root" : "not root: minic run needs root (mounts, cgroups, namespaces)");
  add(h.filesystems.has("overlay") ? "ok" : "missing", h.filesystems.has("overlay") ? "overlayfs: available (default storage driver)" : "overlayfs: not in this kernel; use --storage-driver copy, or load it (modprobe overlay)");
  add(h.filesystems.has("aufs") ? "ok" : "note", h.filesystems.has("aufs") ? "aufs: available (--storage-driver aufs)" : "aufs: not in this kernel (--storage-driver aufs unavailable; overlay and copy work)");
  add("ok", "copy storage driver: works on any filesystem");
  if (h.programs["systemd-nspawn"]) {
    add("ok", `systemd-nspawn: ${h.programs["systemd-nspawn"]}${f.nspawnVersion ? ` (${f.nspawnVersion})` : ""}`);
  } else {
    add("missing", "systemd-nspawn: not installed (the default runtime; --runtime chroot works without it)");
    install.add("systemd-container");
  }
  const manager = cgroupManager(h.cgroups, h.systemdInit);
  add("note", h.systemdInit
    ? `PID 1 is systemd${manager === "systemd" ? "" : " (cgroup v1 or hybrid: minic writes the v1 hierarchies itself)"}`
    : "PID 1 is not systemd: minic runs nspawn with --register=no --keep-unit");
  add("note", h.systemdInit && h.nspawnRunOnTmpfs
    ? "/run/systemd/nspawn is systemd's (on a tmpfs)"
    : "/run/systemd/nspawn is not systemd's: each container gets a private one in its own mount namespace (nothing is created on the host)");
  for (const p of ["unshare", "mount"] as const) {
    if (!h.programs[p]) {
      add("missing", `${p}: not installed`);
      install.add(p === "mount" ? "mount" : "util-linux");
    }
  }
  const v1 = CONTROLLERS.filter((c) => h.cgroups.v1[c]);
  const v2 = CONTROLLERS.filter((c) => !h.cgroups.v1[c] && f.v2Controllers.includes(c));
  const notDelegated = v2.filter((c) => !f.v2Delegated.includes(c));
  const absent = CONTROLLERS.filter((c) => !h.cgroups.v1[c] && !f.v2Controllers.includes(c));
  const version = v1.length === 0 && h.cgroups.v2 ? "v2 (unified)" : h.cgroups.v2 && v2.length > 0 ? "v1 and v2 (hybrid)" : v1.length > 0 ? "v1" : "none";
  add(version === "none" ? "warn" : "ok", `cgroup version: ${version}`);
  if (v1.length > 0) add("ok", `cgroup v1 controllers: ${v1.map((c) => `${c} (${h.cgroups.v1[c]})`).join(", ")}`);
  if (h.cgroups.v2) add("ok", `cgroup v2 at ${h.cgroups.v2}: controllers ${f.v2Controllers.join(" ") || "none"}; delegated to children: ${f.v2Delegated.join(" ") || "none"}`);
  if (manager === "systemd") {
    add(f.systemdRun ? "ok" : "missing", f.systemdRun
      ? `cgroups: managed by systemd; each container runs in a transient scope ${SCOPE_SLICE}/minic-ID.scope with Delegate=yes, where minic enables ${v2.join(" ") || "no controller"} for its limits (usable: ${v2.join(" ") || "none"})`
      : "systemd-run: not installed (minic starts each container in a delegated scope with it; without it minic run fails on this host)");
    if (!f.systemdRun) install.add("systemd");
  } else if (h.cgroups.v2 && v2.length > 0) {
    add("ok", `cgroups: no cgroup manager but minic on cgroup v2; minic enables ${notDelegated.join(" ") || "what a limit needs"} in ${h.cgroups.v2}/cgroup.subtree_control when a limit needs it (usable: ${v2.join(" ")})`);
  }
  for (const c of absent) add("warn", `no ${c} cgroup controller: limits needing it (${({ cpu: "--cpus", cpuset: "--cpuset", memory: "--memory", pids: "--pids" } as const)[c]}) fail with an error`);
  add(f.netns ? "ok" : "missing", f.netns ? "network namespaces: supported" : "network namespaces: not supported by this kernel (--net none|veth|bridge unavailable)");
  if (h.programs.ip) add("ok", `ip (iproute2): ${h.programs.ip}`);
  else {
    add("missing", "ip: not installed (needed for --net veth|bridge)");
    install.add("iproute2");
  }
  if (f.subnetError) add("warn", `${f.subnetError}: --net veth and bridge refuse to start`);
  else add(f.subnetClash ? "warn" : "ok", f.subnetClash ? `${f.subnet}.0.0/16 overlaps a route on ${f.subnetClash}: set MINIC_SUBNET to a free /16` : `container addresses: ${f.subnet}.0.0/16 (free)`);
  add("ok", `container profile: root keeps ${DEFAULT_CAPS.length} capabilities (podman's default less mknod: no sys_admin, mknod, sys_ptrace, net_admin), ${f.masked} kernel paths masked, the image root nodev; --privileged, --cap-add and --cap-drop change it`);
  add(f.seccomp ? "ok" : "warn", f.seccomp ? "seccomp: nspawn's system call filter applies (without the mount calls unless sys_admin is added)" : "seccomp: not in this kernel: nspawn runs without a system call filter, and root in a container can mount");
  if (h.cgroups.v1Devices) add("ok", `device policy: cgroup v1 devices controller (${h.cgroups.v1Devices}): only nspawn's /dev nodes can be made or opened, also with --cap-add mknod`);
  else {
    add("note", "device policy: none (cgroup v2 devices need a BPF program, which minic has no loader for): host devices stay out because CAP_MKNOD is dropped, nspawn's /dev holds no host device and the image root is nodev; --cap-add mknod then lets root make host device nodes in /dev");
  }
  add(f.maxUserNamespaces > 0 ? "ok" : "note", f.maxUserNamespaces > 0 ? "user namespaces: available (--userns auto: container root is not host root)" : "user namespaces: user.max_user_namespaces is 0 (--userns auto cannot work)");
  if (f.bridgeNfCallIptables) add("note", "br_netfilter is loaded: bridged container traffic passes the iptables FORWARD chain (its policy must accept it)");
  if (f.bzip2.includes("lbzip2")) add("ok", `bzip2 tools: ${f.bzip2.join(", ")} (layers are compressed with lbzip2)`);
  else {
    add("missing", "lbzip2: not installed; minic compresses layers with it (the same bytes on every machine), so builds and imports fail without it (MINIC_BZIP2=pbzip2|bzip2 uses another tool, whose layers differ)");
    install.add("lbzip2");
  }
  if (!f.bzip2.includes("pbzip2")) {
    add("note", "pbzip2 is not installed: bench/cgroup-cpuset.sh (the tutorial's cgroup demo) needs it");
    install.add("pbzip2");
  }
  // npm runs scripts/snapshot.mjs when it installs the package; `npm rebuild` runs it again.
  const remake = f.checkout ? "run 'npm run build'" : "run 'npm rebuild -g minic' (or 'npm rebuild minic' in the project that depends on it)";
  const later = `bin/minic works without it, each command starting ~20 ms slower: ${remake}`;
  if (f.snapshot === "used") add("ok", "startup snapshot: bin/minic starts run, ps, rm and prune from dist/snapshot/minic.blob, build from build.blob");
  else if (f.snapshot === "node-options") add("note", "startup snapshot: unused while NODE_OPTIONS is set (V8 loads a snapshot only with the flags that made it); each command starts ~20 ms slower");
  else {
    const why = { stale: "made by another node binary, so unused", "other-cpu": "made on another CPU (V8 refuses it), so unused", missing: "none" }[f.snapshot];
    add("warn", `startup snapshot: ${why} (${later})`);
  }
  for (const l of storeFindings(f.store.location, f.store.status)) add(l.level, l.text);
  const storeUsable = !f.store.status.notDir && f.store.status.fsType !== "overlayfs";
  const runnable = f.root && storeUsable && h.filesystems.has("overlay") && Boolean(h.programs["systemd-nspawn"] && h.programs.unshare && h.programs.mount);
  return { lines, install: [...install].sort(), runnable };
}

/** Reads everything the report needs (runs `systemd-nspawn --version`) about the host and the store at `location`. */
export async function gatherDoctorFacts(location: StoreLocation, cwd: string): Promise<DoctorFacts> {
  const host = probeHost();
  const read = (p: string) => {
    try {
      return readFileSync(p, "utf8").trim();
    } catch {
      return "";
    }
  };
  let nspawnVersion: string | undefined;
  if (host.programs["systemd-nspawn"]) {
    const r = await status([host.programs["systemd-nspawn"], "--version"]).catch(() => undefined);
    nspawnVersion = r?.stdout.split("\n")[0]?.trim() || undefined;
  }
  let subnet = "10.231";
  let subnetClash: string | undefined;
  let subnetError: string | undefined;
  try {
    subnet = subnetPrefix();
    subnetClash = conflictingRoute(parseRoutes(read("/proc/net/route")), subnet)?.dev;
  } catch (e) {
    subnetError = messageLine(e);
  }
  return {
    host,
    root: process.getuid?.() === 0,
    nspawnVersion,
    v2Controllers: host.cgroups.v2 ? read(`${host.cgroups.v2}/cgroup.controllers`).split(/\s+/).filter(Boolean) : [],
    v2Delegated: host.cgroups.v2 ? read(`${host.cgroups.v2}/cgroup.subtree_control`).split(/\s+/).filter(Boolean) : [],
    netns: existsSync("/proc/self/ns/net"),
    bzip2: ["lbzip2", "pbzip2", "bzip2"].filter((t) => findProgram(t)),
    subnet,
    subnetClash,
    ...(subnetError ? { subnetError } : {}),
    bridgeNfCallIptables: read("/proc/sys/net/bridge/bridge-nf-call-iptables") === "1",
    seccomp: /^Seccomp:/m.test(read("/proc/self/status")),
    maxUserNamespaces: Number(read("/proc/sys/user/max_user_namespaces")) || 0,
    masked: maskTargets(MASKED_PATHS).length,
    snapshot: startupSnapshotState(join(installRoot(), "dist", "snapshot"), findProgram("node") ?? process.execPath),
    checkout: checkoutRoot() !== undefined,
    store: { location, status: readStoreStatus(location, cwd) },
    systemdRun: findProgram("systemd-run") !== null,
  };
}
