// Pure: a container's security profile (the capabilities its root keeps, masked kernel paths,
// the device policy, a nodev root, the user namespace), resolved once from --privileged,
// --cap-add, --cap-drop and --userns. The default is podman 4.3's profile without CAP_MKNOD.
import { MinicError } from "../core/errors.js";

/** Linux capabilities in kernel order (CAP_CHOWN = 0 … CAP_CHECKPOINT_RESTORE = 40), as lowercase names without `cap_`. */
export const CAPABILITIES = [
  "chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill", "setgid", "setuid", "setpcap", "linux_immutable",
  "net_bind_service", "net_broadcast", "net_admin", "net_raw", "ipc_lock", "ipc_owner", "sys_module", "sys_rawio", "sys_chroot", "sys_ptrace",
  "sys_pacct", "sys_admin", "sys_boot", "sys_nice", "sys_resource", "sys_time", "sys_tty_config", "mknod", "lease", "audit_write",
  "audit_control", "setfcap", "mac_override", "mac_admin", "syslog", "wake_alarm", "block_suspend", "audit_read", "perfmon", "bpf",
  "checkpoint_restore",
] as const;
export type Capability = (typeof CAPABILITIES)[number];

/**
 * What a container's root keeps by default: podman 4.3's default set less CAP_MKNOD (podman
 * relies on a device cgroup for mknod; cgroup v2 has none here, see README). nspawn's own default
 * also keeps sys_admin, mknod, sys_ptrace, sys_boot, sys_nice, net_admin (private network),
 * dac_read_search, linux_immutable, ipc_owner, lease, net_broadcast, audit_control and
 * sys_tty_config: all dropped.
 */
export const DEFAULT_CAPS: readonly Capability[] = [
  "chown", "dac_override", "fowner", "fsetid", "kill", "setgid", "setuid", "setpcap", "net_bind_service", "net_raw", "sys_chroot", "audit_write", "setfcap",
];

/** How the container may use device nodes. */
export type DeviceAccess = "minimal" | "all";
/** host: the container's root is the host's root; auto: a private uid/gid range (nspawn --private-users=pick). */
export type UsernsMode = "host" | "auto";
export const USERNS_MODES: readonly UsernsMode[] = ["host", "auto"];

/** Everything about a container's confinement, resolved. */
export interface SecurityProfile {
  /** --privileged: every capability, nothing masked, no device policy. */
  privileged: boolean;
  /** Capabilities root keeps, in kernel order. */
  caps: Capability[];
  /** Hide MASKED_PATHS (an empty read-only tmpfs over directories, /dev/null over files). */
  maskPaths: boolean;
  /** minimal: only the nodes nspawn puts in /dev may be made or opened (a cgroup v1 device policy); all: no policy. */
  devices: DeviceAccess;
  /** Mount the image's root nodev, so that device nodes of the image cannot be opened. */
  nodevRoot: boolean;
  userns: UsernsMode;
}

/** Command-line choices (names as typed). */
export interface SecurityFlags {
  privileged: boolean;
  capAdd: readonly string[];
  capDrop: readonly string[];
  userns?: string;
}

/** Pure: a capability name as typed (`CAP_NET_ADMIN`, `net_admin`, `NET_ADMIN`) or `all`. Throws EUSAGE for an unknown one. */
export function parseCapability(name: string, flag: string): Capability | "all" {
  const n = name.trim().toLowerCase().replace(/^cap_/, "");
  if (n === "all") return "all";
  if ((CAPABILITIES as readonly string[]).includes(n)) return n as Capability;
  throw new MinicError("EUSAGE", `unknown capability '${name}' for ${flag}`, { hint: `use a name from capabilities(7) without CAP_, e.g. ${flag} net_admin, or all` });
}

/**
 * Resolves the profile. The capability set starts from DEFAULT_CAPS (every capability with
 * --privileged); then, as in podman, `--cap-add all` keeps all but the dropped ones,
 * `--cap-drop all` keeps only the added ones, else added ones join and dropped ones leave.
 * Throws EUSAGE for an unknown name, a capability both added and dropped, or an unknown --userns.
 */
export function resolveSecurity(f: SecurityFlags): SecurityProfile {
  const add = f.capAdd.flatMap((s) => s.split(",")).filter(Boolean).map((c) => parseCapability(c, "--cap-add"));
  const drop = f.capDrop.flatMap((s) => s.split(",")).filter(Boolean).map((c) => parseCapability(c, "--cap-drop"));
  const both = add.find((c) => drop.includes(c));
  if (both) throw new MinicError("EUSAGE", `capability '${both}' is both added and dropped`, { hint: "give it to --cap-add or to --cap-drop, not both" });
  const base: readonly Capability[] = f.privileged ? CAPABILITIES : DEFAULT_CAPS;
  let keep: Set<Capability>;
  if (add.includes("all")) keep = new Set(CAPABILITIES.filter((c) => !drop.includes(c)));
  else if (drop.includes("all")) keep = new Set(add as Capability[]);
  else keep = new Set([...base, ...(add as Capability[])].filter((c) => !drop.includes(c)));
  const userns = (f.userns ?? "host") as UsernsMode;
  if (!USERNS_MODES.includes(userns)) throw new MinicError("EUSAGE", `unknown --userns '${f.userns}'`, { hint: `use one of: ${USERNS_MODES.join(", ")}` });
  return {
    privileged: f.privileged,
    caps: CAPABILITIES.filter((c) => keep.has(c)),
    maskPaths: !f.privileged,
    devices: f.privileged ? "all" : "minimal",
    nodevRoot: !f.privileged,
    userns,
  };
}

/** The profile of `minic run` without flags, and of build run steps. */
export const DEFAULT_PROFILE: SecurityProfile = resolveSecurity({ privileged: false, capAdd: [], capDrop: [] });

/**
 * Kernel paths hidden from the container: podman 4.3's masked paths, and /proc/asound and
 * /proc/sysrq-trigger, which podman makes read-only (nspawn already mounts /proc/sys, /proc/bus,
 * /proc/fs and /proc/irq read-only). Only those present on the host are masked.
 */
export const MASKED_PATHS: readonly string[] = [
  "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/sched_debug", "/proc/scsi",
  "/proc/sysrq-trigger", "/proc/timer_list", "/proc/timer_stats",
  "/sys/dev/block", "/sys/devices/virtual/powercap", "/sys/firmware", "/sys/fs/selinux",
];

/** A masked path present on this host, and whether it is a directory. */
export interface MaskTarget {
  path: string;
  dir: boolean;
}

/**
 * The mount system calls a container without sys_admin cannot use, as in podman's seccomp
 * profile (nspawn's filter allows them whatever the capabilities). Without this, root could
 * still make a user namespace of its own, mount a fresh proc there and write host-global
 * sysctls through it as uid 0 (the kernel allows that proc mount under nspawn's /proc). chroot,
 * also in nspawn's @mount group, stays (sys_chroot is kept).
 */
export const MOUNT_SYSCALLS: readonly string[] = ["fsconfig", "fsmount", "fsopen", "fspick", "mount", "mount_setattr", "move_mount", "open_tree", "pivot_root", "umount", "umount2"];

/** Pure: nspawn's --system-call-filter arguments for the capability set (none while sys_admin is kept). */
export function syscallFilterArgs(caps: readonly Capability[]): string[] {
  return caps.includes("sys_admin") ? [] : [`--system-call-filter=~${MOUNT_SYSCALLS.join(" ")}`];
}

/** Pure: nspawn's arguments for the capability set (nspawn lets --drop-capability win over --capability, so both are exact). */
export function capabilityArgs(caps: readonly Capability[]): string[] {
  const name = (c: Capability) => `CAP_${c.toUpperCase()}`;
  if (caps.length === CAPABILITIES.length) return ["--capability=all"];
  const drop = CAPABILITIES.filter((c) => !caps.includes(c));
  return [...(caps.length > 0 ? [`--capability=${caps.map(name).join(",")}`] : []), `--drop-capability=${drop.map(name).join(",")}`];
}
