// Pure: the argv that starts a container (systemd-nspawn or chroot) and the small sh scripts
// that run first in the container's private mount namespace: mount nspawn's tmpfs, wait for
// minic's go, join the cgroups, mount the layers, then exec the runtime. Everything here is
// data; tests check it as such.
import { isEnvEntry } from "../core/image.js";
import { privateStateDirLines } from "./nspawn-state-dir.js";
import { CAPABILITIES, capabilityArgs, syscallFilterArgs, type MaskTarget, type SecurityProfile } from "./security-profile.js";
import { shQuote } from "./sh-quote.js";
import { nspawnUserKey, ROOT_WITH_GROUP_KEY } from "./user-lookup.js";
import type { StackMount } from "./stack-options.js";

/** A bind mount from the host into the container. */
export interface Bind {
  source: string;
  target: string;
  readOnly: boolean;
  /** The source is a directory (else a file). */
  dir: boolean;
}

/** What the runtime needs, all resolved. */
export interface LaunchSpec {
  runtime: "nspawn" | "chroot";
  rootfs: string;
  machine: string;
  argv: string[];
  env: string[];
  workdir: string;
  user: string;
  /** Numeric uid/gid for `user` (the chroot runtime sets them; nspawn resolves the user through getent, see user-lookup.ts). */
  uid: number;
  gid: number;
  hostname: string;
  binds: Bind[];
  readOnly: boolean;
  /** Writable tmpfs mounts (mode 1777) over a read-only root: its /tmp and /var/tmp, as podman's --read-only gives. */
  scratchTmpfs?: string[];
  /**
   * Top-level directories nspawn mounts on that a read-only image lacks (/run): made in the
   * root before nspawn makes it read-only, as nspawn cannot make them then. Names, no slashes.
   */
  makeDirs?: readonly string[];
  /** none: private network (loopback only); a path: join that netns; undefined: the host's. */
  network: { kind: "host" } | { kind: "none" } | { kind: "netns"; path: string };
  /** stdin and stdout are terminals: let nspawn run an interactive console. */
  tty: boolean;
  /**
   * Pass --resolv-conf=off (default: nspawn's auto). For a read-only root without a regular
   * /etc/resolv.conf, where auto tries to bind the host's and prints 'Failed to mount'.
   */
  resolvConfOff?: boolean;
  /** What nspawn sends the container's PID 1 when asked to stop (default SIGTERM). */
  killSignal?: NodeJS.Signals;
  /** Capabilities, masks, nodev root, user namespace (the device policy is the cgroup plan's). */
  security: SecurityProfile;
}

/** Host quirks and program paths the argv depends on. */
export interface LaunchHost {
  /** PID 1 is not systemd: nspawn must not register with machined nor create a scope. */
  keepUnit: boolean;
  /**
   * /run/systemd/nspawn is not systemd's own (PID 1 is not systemd, or it is not on a tmpfs):
   * give nspawn a private one in the wrapper's mount namespace (see nspawn-state-dir.ts).
   */
  nspawnTmpfs: boolean;
  /** The MASKED_PATHS this host has (a path the kernel lacks cannot be a mount point). */
  masks: MaskTarget[];
  programs: { nspawn: string; mount: string; unshare: string; ip: string; env: string; nsenter: string; hostname: string; setpriv: string };
}

/** Environment the wrapper gives systemd-nspawn (containers and build run steps alike). */
export const NSPAWN_ENV: readonly string[] = ["SYSTEMD_NSPAWN_TMPFS_TMP=0"];

/** Escapes `\` and `:` for nspawn's --bind=SRC:DST. */
export function escapeBindPath(p: string): string {
  return p.replace(/[\\:]/g, (c) => `\\${c}`);
}

/**
 * systemd-nspawn argv. `--keep-unit --register=no` are always passed: minic puts the process in
 * its own cgroups first, and nspawn must stay there (registering with machined would move it
 * into machine.slice, out from under the limits). The profile's capabilities are exact; masked
 * directories get an empty read-only tmpfs, masked files /dev/null (read-only); nspawn's seccomp
 * filter stays on (it follows the capabilities: e.g. no ptrace without sys_ptrace), without the
 * mount calls unless sys_admin is kept.
 */
export function nspawnArgv(s: LaunchSpec, h: LaunchHost): string[] {
  const a = [h.programs.nspawn, "--quiet", "--register=no", "--keep-unit", `--directory=${s.rootfs}`, `--machine=${s.machine}`];
  if (s.hostname) a.push(`--hostname=${s.hostname}`);
  a.push(`--kill-signal=${s.killSignal ?? "SIGTERM"}`, "--link-journal=no", "--timezone=off");
  if (!s.tty) a.push("--console=pipe");
  a.push(...capabilityArgs(s.security.caps), ...syscallFilterArgs(s.security.caps));
  if (s.security.maskPaths) for (const m of h.masks) a.push(m.dir ? `--tmpfs=${m.path}:ro,mode=0555` : `--bind-ro=/dev/null:${m.path}`);
  // Ids are shifted by chown through the storage driver: overlay and aufs copy files up into the
  // container's upper dir, the copy driver's tree is the container's own; the store's unpacked
  // layers are never written.
  if (s.security.userns === "auto") a.push("--private-users=pick", "--private-users-ownership=chown");
  if (s.workdir !== "/") a.push(`--chdir=${s.workdir}`);
  if (s.user !== "root" && s.user !== "0") {
    const key = nspawnUserKey(s.user, s.uid, s.gid);
    a.push(`--user=${key}`);
    // nspawn sets USER and LOGNAME to the key: root's stays root (the container's -e comes after).
    if (key === ROOT_WITH_GROUP_KEY) a.push("--setenv=USER=root", "--setenv=LOGNAME=root");
  }
  for (const e of s.env.filter(isEnvEntry)) a.push(`--setenv=${e}`);
  for (const b of s.binds) a.push(`${b.readOnly ? "--bind-ro" : "--bind"}=${escapeBindPath(b.source)}:${escapeBindPath(b.target)}`);
  if (s.readOnly) a.push("--read-only");
  for (const t of s.scratchTmpfs ?? []) a.push(`--tmpfs=${escapeBindPath(t)}:mode=1777`);
  if (s.resolvConfOff) a.push("--resolv-conf=off");
  if (s.network.kind === "none") a.push("--private-network");
  else if (s.network.kind === "netns") a.push(`--network-namespace-path=${s.network.path}`);
  a.push("--", ...s.argv);
  return a;
}

/**
 * The tutorial's first step, chroot: no /proc, no own PID namespace. `unshare --root --wd`
 * chroots and changes directory in one step; `env -i` gives the image's environment only.
 * `setpriv` first bounds the capabilities to the profile's (unless it keeps them all).
 */
export function chrootArgv(s: LaunchSpec, h: LaunchHost): string[] {
  const a: string[] = [];
  if (s.network.kind === "netns") a.push(h.programs.nsenter, `--net=${s.network.path}`);
  a.push(h.programs.env, "-i", ...s.env.filter(isEnvEntry));
  if (s.security.caps.length < CAPABILITIES.length) {
    a.push(h.programs.setpriv, "--inh-caps=-all", `--bounding-set=${["-all", ...s.security.caps.map((c) => `+${c}`)].join(",")}`);
  }
  a.push(h.programs.unshare, `--root=${s.rootfs}`, `--wd=${s.workdir}`);
  if (s.uid !== 0 || s.gid !== 0) a.push(`--setgid=${s.gid}`, `--setuid=${s.uid}`);
  a.push("--", ...s.argv);
  return a;
}

/** What the wrapper's start script does before exec'ing the runtime. */
export interface WrapperPlan {
  /** Directory for setup.err (the container's directory). */
  dir: string;
  /** Layers to mount at `rootfs`, or undefined (copy driver: rootfs is a plain directory). */
  stack?: StackMount;
  /** Mount source name shown in the namespace's mount table. */
  mountName: string;
}

/** Name of the file a failed setup step writes its error to (exit status 125). */
export const SETUP_ERR = "setup.err";
export const SETUP_FAILED_STATUS = 125;
/** The start script, written into the container's directory once the setup is done. */
export const START_SCRIPT = "start.sh";
/** What minic writes on the wrapper's fd 3 to let it go on; EOF or anything else stops it. */
export const START_WORD = "start";

/**
 * Pure: the argv of the wrapper, which minic starts before the container's setup is done, so
 * that starting `unshare` and sh and mounting nspawn's tmpfs overlap minic's own work:
 * `unshare` (new mount namespace; with `none` on chroot also a network namespace; with a
 * hostname a UTS namespace) running sh, which mounts what needs nothing from the setup, waits
 * for START_WORD on fd 3, joins the container's cgroups (`procs`, made before minic lets it go
 * on), then sources START_SCRIPT from `dir` (see startScript). A failing step writes `STEP
 * <what>` to setup.err and exits 125; so does a wrapper that is not let go on. The first cgroup
 * move in a while waits for an RCU grace period in the kernel (~5-25 ms here): `minic run`
 * has paid it in the background by then (cgroup-warmup.ts); a build's run step, whose setup is
 * short, pays it here.
 */
export function wrapperArgv(s: { runtime: LaunchSpec["runtime"]; hostname: string; netKind: LaunchSpec["network"]["kind"]; procs: readonly string[] }, h: LaunchHost, dir: string): string[] {
  const E = shQuote(`${dir}/${SETUP_ERR}`);
  const lines = [`fail() { printf 'STEP %s\\n' "$1" >>${E}; exit ${SETUP_FAILED_STATUS}; }`];
  if (s.runtime === "nspawn" && h.nspawnTmpfs) lines.push(...privateStateDirLines(h.programs.mount, dir, E));
  lines.push(`IFS= read -r go <&3 && [ "$go" = ${START_WORD} ] || exit ${SETUP_FAILED_STATUS}`);
  lines.push("exec 3<&-");
  for (const p of s.procs) lines.push(`echo $$ >${shQuote(p)} 2>>${E} || fail ${shQuote(`joining cgroup ${p.slice(0, p.lastIndexOf("/"))}`)}`);
  lines.push(`. ${shQuote(`${dir}/${START_SCRIPT}`)}`);
  lines.push(`exit ${SETUP_FAILED_STATUS}`);
  const ns = ["--mount", "--propagation", "private"];
  if (s.runtime === "chroot" && s.netKind === "none") ns.push("--net");
  if (s.runtime === "chroot" && s.hostname) ns.push("--uts");
  return [h.programs.unshare, ...ns, "/bin/sh", "-c", lines.join("\n")];
}

/**
 * Pure: the wrapper's start script (sourced by the sh of wrapperArgv, whose `fail` it uses, in
 * the cgroups it joined): mount the layers, on chroot make the binds, then exec the runtime.
 */
export function startScript(s: LaunchSpec, h: LaunchHost, w: WrapperPlan): string {
  const E = shQuote(`${w.dir}/${SETUP_ERR}`);
  const lines: string[] = [];
  const mount = shQuote(h.programs.mount);
  const root = shQuote(s.rootfs);
  // nodev: device nodes of the image cannot be opened (nspawn's /dev is a mount of its own).
  // Not under chroot, whose /dev is the image's.
  const nodev = s.security.nodevRoot && s.runtime === "nspawn";
  if (w.stack) {
    lines.push(`cd ${shQuote(w.stack.cwd)} || fail 'entering the layer directory'`);
    lines.push(`${mount} -t ${w.stack.fstype} -o ${shQuote(`${nodev ? "nodev," : ""}${w.stack.options}`)} ${shQuote(w.mountName)} ${root} 2>>${E} || fail ${shQuote(`mounting the layers (${w.stack.fstype})`)}`);
    lines.push("cd / || exit 125");
  } else if (nodev) {
    lines.push(`${mount} --bind ${root} ${root} 2>>${E} && ${mount} -o remount,bind,nodev ${root} 2>>${E} || fail 'mounting the root nodev'`);
  }
  // Bind targets are resolved inside the image (bind-targets.ts): what is missing is created
  // as real directories and an empty file. nspawn creates them itself, except on a read-only
  // root (nspawn makes it read-only first, then fails to create them).
  const mountPoint = (b: Bind) => {
    const t = shQuote(s.rootfs + b.target);
    return b.dir ? `mkdir -p ${t} 2>>${E} || fail ${shQuote(`creating ${b.target}`)}` : `mkdir -p "$(dirname ${t})" && { [ -e ${t} ] || : >${t}; } 2>>${E} || fail ${shQuote(`creating ${b.target}`)}`;
  };
  if (s.runtime === "nspawn" && s.readOnly) {
    // Directly under the root, checked absent in the image: nothing to follow on the way.
    for (const d of s.makeDirs ?? []) lines.push(`mkdir -m 0755 ${shQuote(`${s.rootfs}/${d}`)} 2>>${E} || fail ${shQuote(`creating /${d}`)}`);
    lines.push(...s.binds.map(mountPoint));
  }
  if (s.runtime === "chroot") {
    for (const b of s.binds) {
      const t = shQuote(s.rootfs + b.target);
      lines.push(mountPoint(b));
      lines.push(`${mount} --bind ${shQuote(b.source)} ${t} 2>>${E} || fail ${shQuote(`binding ${b.source}`)}`);
      if (b.readOnly) lines.push(`${mount} -o remount,bind,ro ${t} 2>>${E} || fail ${shQuote(`making ${b.target} read-only`)}`);
    }
    if (s.readOnly) {
      if (!w.stack) lines.push(`${mount} --bind ${root} ${root} 2>>${E} || fail 'binding the root'`);
      lines.push(`${mount} -o remount,bind,ro ${root} 2>>${E} || fail 'making the root read-only'`);
      for (const t of s.scratchTmpfs ?? []) lines.push(`${mount} -t tmpfs -o mode=1777,nosuid,nodev tmpfs ${shQuote(s.rootfs + t)} 2>>${E} || fail ${shQuote(`mounting a tmpfs on ${t}`)}`);
    }
    if (s.network.kind === "none") lines.push(`${shQuote(h.programs.ip)} link set lo up 2>>${E} || fail 'bringing up loopback'`);
    if (s.hostname) lines.push(`${shQuote(h.programs.hostname)} ${shQuote(s.hostname)} 2>>${E} || fail 'setting the hostname'`);
  }
  if (s.runtime === "nspawn") {
    // nspawn mounts a tmpfs on /tmp by default, hiding the image's /tmp and dropping what a
    // build run step writes there; 0 keeps /tmp the image's (in the container's upper dir, so a
    // run step's /tmp writes land in its layer). /run stays a tmpfs: nspawn requires one there.
    lines.push(`export ${NSPAWN_ENV.join(" ")}`);
  }
  const runtime = s.runtime === "nspawn" ? nspawnArgv(s, h) : chrootArgv(s, h);
  lines.push(`exec ${runtime.map(shQuote).join(" ")}`);
  return lines.join("\n") + "\n";
}

/** Pure: the message of a failed setup from setup.err text, or undefined if no step failed. */
export function setupFailure(text: string): string | undefined {
  const lines = text.split("\n").map((l) => l.trim()).filter(Boolean);
  const i = lines.findIndex((l) => l.startsWith("STEP "));
  if (i < 0) return undefined;
  const detail = lines.slice(0, i).join(" | ");
  return `${lines[i]!.slice(5)} failed${detail ? `: ${detail}` : ""}`;
}
