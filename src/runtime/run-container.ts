// Runs one container to completion: plan, create (root, cgroups, network, ports), start the
// runtime in its own mount namespace, forward signals, wait, and release everything in finally
// (the record, cgroups, wrapper and release are launch.ts's, shared with build run steps).
import { readFileSync, writeFileSync } from "node:fs";
import { constants } from "node:os";
import { join } from "node:path";
import { MinicError } from "../core/errors.js";
import { atPath } from "../core/faults.js";
import type { StoredImage, Store } from "../store/store.js";
import { planCgroups, readCgroupHost } from "./cgroups.js";
import type { CgroupWarmUp } from "./cgroup-warmup.js";
import type { HostFacts } from "./host.js";
import { Launch, launchHost, requireRoot } from "./launch.js";
import { setupNetwork, type NetPlan } from "./network.js";
import type { PortProxies } from "./port-proxy.js";
import type { ContainerSpec } from "./run-spec.js";
import { startScript, wrapperArgv, type Bind, type LaunchHost, type LaunchSpec } from "./runtime-argv.js";
import { processStart } from "./state.js";
import { checkOsTree, imageNode, prepareRoot, readImageFile, type PreparedRoot } from "./storage.js";
import { checkCommand } from "./command-check.js";
import { checkWorkdir } from "./workdir.js";
import { NspawnStderrRelay, relayNspawnStderr } from "./signal-exit.js";
import { resolveUser } from "./user.js";
import { GETENT_TARGET, planUserLookup, type GetentFacts } from "./user-lookup.js";

export interface RunIo {
  /** A note on stderr (prefixed `minic: ` by the caller's convention). */
  err(line: string): void;
  /** stdin and stdout are terminals. */
  tty: boolean;
  /** minic's stderr is a terminal. */
  stderrTty: boolean;
  /** Writes the container's (nspawn's) stderr output to minic's stderr, as it came. */
  relayErr(chunk: Buffer): void;
  /** Current time, ISO (passed in, not read here). */
  now: string;
}

/**
 * Checks the host can run `spec` at all, before anything is created. Throws EHOST with what to
 * install or change.
 */
export function checkHost(spec: ContainerSpec, host: HostFacts): LaunchHost {
  requireRoot("minic run");
  if (spec.driver !== "copy" && !host.filesystems.has(spec.driver)) {
    const fs = spec.driver;
    throw new MinicError("EHOST", `the kernel has no ${fs} filesystem (not in /proc/filesystems)`, {
      hint: fs === "overlay" ? "modprobe overlay, or run with --storage-driver copy" : "use --storage-driver overlay (or copy); aufs needs a kernel built with it",
    });
  }
  const needIp = spec.net === "veth" || spec.net === "bridge" || (spec.runtime === "chroot" && spec.net === "none");
  return launchHost(host, spec.runtime, needIp);
}

/** What the image holds for nspawn's user lookup (getent, /bin/sh), and the host's architecture. */
function getentFacts(root: PreparedRoot): GetentFacts {
  const usr = imageNode(root, "usr/bin/getent");
  return { usrBinGetent: !usr ? "none" : usr.st.isFile() ? "file" : "other", binGetent: Boolean(imageNode(root, "bin/getent")), binSh: Boolean(imageNode(root, "bin/sh")), arch: process.arch };
}

/**
 * Pid of the container's PID 1: the runtime's child that is PID 1 of its own PID namespace under
 * nspawn (nspawn may have a helper child too, e.g. "(sd-namespace)" on cgroup v2 without
 * systemd, which is not the container), the process itself under chroot.
 */
function containerInit(pid: number): number {
  try {
    if (readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "systemd-nspawn") {
      const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean);
      const init = kids.find((k) => {
        try {
          return /^NSpid:.*\s1$/m.test(readFileSync(`/proc/${k}/status`, "utf8"));
        } catch {
          return false;
        }
      });
      if (init !== undefined) return Number(init);
      if (kids.length > 0) return Number(kids[0]);
    }
  } catch {
    /* gone or not yet exec'd: signal the process itself */
  }
  return pid;
}

const STOP_SIGNALS: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"];

/**
 * Runs the container and returns its command's exit status (128+N when killed by signal N).
 * Nothing is left on the host afterwards: the mounts live in the container's own mount
 * namespace, and cgroups, netns, veths, proxies and the container directory are released in
 * `finally`, also when setup fails half-way or minic is interrupted.
 */
export async function runContainer(store: Store, image: StoredImage, imageName: string, spec: ContainerSpec, host: HostFacts, io: RunIo, warmUp?: CgroupWarmUp): Promise<number> {
  const launchHost = checkHost(spec, host);
  const cgPlan = planCgroups(spec.limits, readCgroupHost(host.cgroups, spec.limits, host.systemdInit), `minic-${spec.id}`, spec.security.devices);
  const hostname = spec.runtime === "chroot" && spec.hostname === spec.name ? "" : spec.hostname;
  const launch = Launch.create(store.layout.container(spec.id), {
    id: spec.id, name: spec.name, image: imageName, manifestDigest: image.manifestDigest, command: spec.argv,
    driver: spec.driver, runtime: spec.runtime, net: spec.net, created: io.now,
    minicPid: process.pid, minicStart: processStart(process.pid) ?? "",
    veths: [], ports: spec.ports.map((p) => `${p.hostIp}:${p.hostPort}->${p.port}/tcp`), stopTimeoutMs: spec.stopTimeoutMs,
  }, cgPlan);
  const { dir, state } = launch;
  const handlers: [NodeJS.Signals, () => void][] = [];
  // Until the container starts, a signal is only noted: setup finishes its current step, nothing
  // is started, and finally releases what was made (unpacked layers stay: they are the store's).
  let setupSignal: NodeJS.Signals | undefined;
  for (const sig of STOP_SIGNALS) {
    const h = () => { setupSignal ??= sig; };
    process.on(sig, h);
    handlers.push([sig, h]);
  }
  // The wrapper starts as soon as it can, so that starting it (and nspawn's tmpfs) overlaps the
  // setup; it waits for go, and exits having started nothing if minic dies first (its fd 3
  // closes). With a network namespace it starts once that exists: its mount namespace is a copy
  // of the host's taken when it starts, and must hold /run/netns/NAME.
  // nspawn's stderr goes through minic where that leaves the container's own stderr what it was
  // (signal-exit.ts): its last line says which signal killed PID 1, which nspawn's exit 1 does not.
  const relay = spec.runtime === "nspawn" && relayNspawnStderr(io.tty, io.stderrTty) ? new NspawnStderrRelay(spec.machine, io.relayErr) : undefined;
  const launchWrapper = (kind: LaunchSpec["network"]["kind"]) =>
    launch.startWrapper(wrapperArgv({ runtime: spec.runtime, hostname, netKind: kind, procs: launch.wrapperProcs }, launchHost, dir), {
      stdin: "inherit", stdout: "inherit", stderr: relay ? "pipe" : "inherit", collect: false,
      ...(relay ? { onOutput: (chunk: Buffer) => relay.push(chunk) } : {}),
    });
  let net: NetPlan | undefined;
  let proxies: PortProxies | undefined;
  let failed = false;
  try {
    if (spec.net === "host" || spec.net === "none") launchWrapper(spec.net);
    // gc keeps the image of a recorded container (Launch.create wrote the record): from here on,
    // once a gc that missed the record has ended and the image is still there (store/lease.ts).
    await store.confirmImage(image, imageName);
    const root = await prepareRoot(store, image.manifest.layers, spec.driver, dir, io.err);
    if (spec.runtime === "nspawn") checkOsTree(root, imageName);
    await checkWorkdir(root, dir, spec, imageName);
    const asRoot = spec.user === "root" || spec.user === "0";
    const ids = asRoot ? { uid: 0, gid: 0, groups: [] } : resolveUser(spec.user, readImageFile(root, "etc/passwd"), readImageFile(root, "etc/group"));
    await checkCommand(root, dir, spec, imageName, ids);
    if (spec.net === "veth" || spec.net === "bridge") {
      state.netns = `minic-${spec.id}`;
      launch.record(); // recorded before creation: a crash in between still gets it cleaned
      net = await setupNetwork(spec.net, spec.id);
      state.veths = [net.hostVeth];
      state.address = net.address;
      launch.record();
      // node:net is loaded only when a port is published (it costs every run a few ms otherwise).
      if (spec.ports.length > 0) proxies = await (await import("./port-proxy.js")).startPortProxies(spec.ports, net.address);
      launchWrapper("netns");
    }
    const pid = launch.pid;
    const standIns: Bind[] = [];
    if (spec.runtime === "nspawn" && !asRoot) {
      // nspawn --user looks the user up by running getent inside the container; where the
      // image's cannot answer as minic resolved (see user-lookup.ts), a read-only stand-in does.
      const lookup = planUserLookup(spec.user, ids, getentFacts(root));
      if (lookup.kind === "stand-in") {
        const source = join(dir, "getent");
        try {
          writeFileSync(source, lookup.content, { mode: 0o755 });
        } catch (e) {
          throw atPath(e, source);
        }
        standIns.push({ source, target: GETENT_TARGET, readOnly: true, dir: false });
      }
    }
    // Bind targets are resolved inside the image now, so that no symlink of the image is ever
    // followed on the host (the chroot wrapper mounts with host paths and makes the missing
    // mount points; so does the nspawn one on a read-only root, where nspawn cannot). Loaded
    // only when used; the stand-in's target needs it only then (nspawn resolves it in the root).
    const toResolve = [...spec.binds, ...(spec.readOnly ? standIns : [])];
    const binds = toResolve.length > 0 ? await (await import("./bind-targets.js")).resolveBinds(root, dir, toResolve, spec.runtime) : [];
    if (!spec.readOnly) binds.push(...standIns);
    const spawnSpec: LaunchSpec = {
      runtime: spec.runtime, rootfs: root.rootfs, machine: spec.machine, argv: spec.argv, env: spec.env, workdir: spec.workdir,
      user: spec.user, uid: ids.uid, gid: ids.gid, hostname, binds, readOnly: spec.readOnly, tty: io.tty, security: spec.security, killSignal: spec.stopSignal,
      // A read-only root keeps /tmp and /var/tmp writable, as podman's --read-only does (unless a bind is there).
      ...(spec.readOnly ? { scratchTmpfs: ["/tmp", "/var/tmp"].filter((t) => imageNode(root, t.slice(1))?.st.isDirectory() && !spec.binds.some((b) => b.target === t || t.startsWith(`${b.target}/`))) } : {}),
      // nspawn cannot make a mount point for the host's resolv.conf on a read-only root.
      resolvConfOff: spec.readOnly && !imageNode(root, "etc/resolv.conf")?.st.isFile(),
      // nspawn mounts a tmpfs on /run; on a read-only root it cannot make a missing one.
      ...(spec.readOnly && !imageNode(root, "run") ? { makeDirs: ["run"] } : {}),
      network: spec.net === "host" ? { kind: "host" } : spec.net === "none" ? { kind: "none" } : { kind: "netns", path: `/run/netns/${net!.netns}` },
    };
    // The mount is made in the wrapper's private mount namespace: it goes when the container does.
    const mountName = `minic-${spec.id}`;
    // The cgroups are made last, once the rest of the setup is done: the wrapper joins them when
    // let go. Made early, their mkdir waited for the warm-up's first move (cgroup-warmup.ts),
    // which holds the kernel's cgroup lock for a grace period. With a systemd scope the wrapper
    // must run first (with a network namespace it starts late): it is the process systemd puts
    // in the container's scope.
    if (!setupSignal) await launch.applyLimits();
    if (setupSignal) {
      io.err(`minic: interrupted by ${setupSignal} before the container started; nothing was left behind`);
      return 128 + (constants.signals[setupSignal] ?? 0);
    }
    for (const [sig, h] of handlers.splice(0)) process.off(sig, h);
    launch.go(startScript(spawnSpec, launchHost, { dir, stack: root.stack, mountName }));
    // The wrapper may still be joining the cgroups: warm a little longer (cgroup-warmup.ts).
    warmUp?.stop(10);
    let signalled = 0;
    let killTimer: NodeJS.Timeout | undefined;
    const secs = `${spec.stopTimeoutMs / 1000}s`;
    for (const sig of STOP_SIGNALS) {
      const h = () => {
        signalled++;
        if (signalled > 1 || pid === undefined) return launch.kill();
        // A stop (SIGTERM) sends the image's stop signal (nginx's SIGQUIT, say), as podman stop
        // does; Ctrl-C and a hang-up are passed on as they came.
        const send = sig === "SIGTERM" ? spec.stopSignal : sig;
        try {
          process.kill(containerInit(pid), send);
        } catch {
          /* already exited */
        }
        // nspawn, when the signal reached it too, prints its own 'Send SIGTERM again...': say
        // what minic does meanwhile.
        io.err(`minic: sent ${send}${send !== sig ? ` (the stop signal, for ${sig})` : ""} to the container; it is killed if still running after ${secs} (--stop-timeout); a second signal kills it now`);
        killTimer = setTimeout(() => {
          io.err(`minic: the container was still running ${secs} after ${sig} (--stop-timeout): killing it`);
          launch.kill();
        }, spec.stopTimeoutMs);
        killTimer.unref();
      };
      process.on(sig, h);
      handlers.push([sig, h]);
    }
    const r = await launch.wait().finally(() => clearTimeout(killTimer));
    if (r.setupFailure) throw new MinicError("ERUN", `starting the container: ${r.setupFailure}`, { hint: "see 'minic doctor'; nothing was left mounted" });
    if (r.oomKills > 0) io.err(`minic: the memory limit (${spec.limits.memoryBytes} bytes) was hit: the OOM killer killed ${r.oomKills} process${r.oomKills > 1 ? "es" : ""}`);
    // nspawn exits 1 when PID 1 was killed by a signal; its last line said which.
    const killedBy = r.exitCode === 1 ? relay?.signal() : undefined;
    return killedBy !== undefined ? 128 + killedBy : r.exitCode;
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    warmUp?.stop();
    for (const [sig, h] of handlers) process.off(sig, h);
    // Clean-up is short and must finish: a signal meanwhile (the container has ended, or never
    // started) is ignored, not left to Node's default, which ended minic with the container's
    // directory and cgroups still there.
    const ignore = () => {};
    for (const sig of STOP_SIGNALS) process.on(sig, ignore);
    try {
      // A setup that failed (or was interrupted) half-way: the wrapper, still waiting, is told
      // to exit, and has before anything is released.
      await proxies?.close();
      await launch.release();
    } catch (e) {
      if (!failed) throw e;
      io.err(`minic: while cleaning up: ${(e as Error).message}`);
    } finally {
      for (const sig of STOP_SIGNALS) process.off(sig, ignore);
    }
  }
}
