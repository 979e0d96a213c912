// The one launch path of `minic run` and of a build's run steps: the container's record in the
// store, written before anything is made on the host (so that a later minic finds and releases
// what a killed one left), its cgroups, the gated wrapper, the start, the wait, the kill and the
// release. Callers plan (limits, storage, network, argv) and hand the plan's parts to a Launch.
import { mkdirSync, readFileSync, rmSync, watch, type FSWatcher } from "node:fs";
import { join } from "node:path";
import { MinicError } from "../core/errors.js";
import { atPath } from "../core/faults.js";
import type { ExecOptions } from "../util/exec.js";
import { findProgram } from "../util/which.js";
import { MASKED_PATHS } from "./security-profile.js";
import { applyCgroups, cgroupPids, killCgroups, readOomKills, readPidsRefused, type CgroupPlan } from "./cgroups.js";
import { maskTargets, type HostFacts } from "./host.js";
import { SETUP_ERR, SETUP_FAILED_STATUS, setupFailure, type LaunchHost } from "./runtime-argv.js";
import { processStart, writeState, type ContainerState } from "./state.js";
import { scopeRunArgv, systemdProgram } from "./systemd-scope.js";
import { releaseContainer } from "./teardown.js";
import { startWrapper, type GatedWrapper } from "./wrapper.js";

/** Throws EHOST unless minic runs as root; `what` says what needs it ("minic run", "run steps"). */
export function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) throw new MinicError("EHOST", `${what} need${what.endsWith("s") ? "" : "s"} root (mounts, cgroups, namespaces)`, { hint: "run minic as root, e.g. with sudo" });
}

/**
 * The program paths and host quirks the wrapper needs. Throws EHOST naming the package to
 * install when a needed program is missing.
 */
export function launchHost(host: HostFacts, runtime: "nspawn" | "chroot", needIp: boolean): LaunchHost {
  const need = (name: keyof HostFacts["programs"], pkg: string) => {
    const p = host.programs[name];
    if (!p) throw new MinicError("EHOST", `${name} is not installed`, { hint: `apt-get install ${pkg} (see 'minic doctor')` });
    return p;
  };
  const nspawn = runtime === "nspawn" ? need("systemd-nspawn", "systemd-container") : "";
  const unshare = need("unshare", "util-linux");
  const mount = need("mount", "mount");
  const ip = needIp ? need("ip", "iproute2") : "ip";
  return {
    keepUnit: !host.systemdInit,
    nspawnTmpfs: !host.systemdInit || !host.nspawnRunOnTmpfs,
    masks: runtime === "nspawn" ? maskTargets(MASKED_PATHS) : [],
    programs: {
      nspawn, mount, unshare, ip,
      // Only the chroot runtime runs these (looked up only then: every lookup is a PATH walk).
      env: runtime === "chroot" ? findProgram("env") ?? "/usr/bin/env" : "env",
      nsenter: runtime === "chroot" ? findProgram("nsenter") ?? "/usr/bin/nsenter" : "nsenter",
      hostname: runtime === "chroot" ? findProgram("hostname") ?? "/bin/hostname" : "hostname",
      setpriv: runtime === "chroot" ? findProgram("setpriv") ?? "/usr/bin/setpriv" : "setpriv",
    },
  };
}

/** How a launched container ended. */
export interface LaunchExit {
  /** The runtime's exit status (the command's; 128+N when killed by signal N). */
  exitCode: number;
  /** The last part of what the wrapper wrote to a piped stderr ("" when not piped). */
  stderr: string;
  /** Set when a setup step of the wrapper failed before the runtime started: what failed. */
  setupFailure?: string;
  /** Processes the OOM killer killed in the container's memory cgroup. */
  oomKills: number;
  /** Forks its pids limit refused. */
  pidsRefused: number;
}

/** A container being launched; every host object it makes is in its record from the start. */
export class Launch {
  private wrapper: GatedWrapper | undefined;
  /** OOM kills and refused forks seen while the container ran (see watchEvents). */
  private seen = { oomKills: 0, pidsRefused: 0 };
  private watchers: FSWatcher[] = [];

  private constructor(readonly dir: string, readonly state: ContainerState, readonly cgroups: CgroupPlan) {}

  /**
   * Makes the container directory `dir` (0700; it must not exist yet) and writes the record,
   * with the plan's cgroups: from here on a later minic that finds this minic gone releases it.
   */
  static create(dir: string, state: Omit<ContainerState, "cgroups">, cgroups: CgroupPlan): Launch {
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (e) {
      throw atPath(e, dir);
    }
    const scope = cgroups.scope ? { scope: { unit: cgroups.scope.unit, dir: cgroups.scope.dir } } : {};
    const launch = new Launch(dir, { ...state, cgroups: cgroups.dirs, ...scope }, cgroups);
    try {
      launch.record();
    } catch (e) {
      rmSync(dir, { recursive: true, force: true }); // nothing was started: no record is left half-written
      throw e;
    }
    return launch;
  }

  /** Writes the record again, after a change to `state` (record a host object before creating it). */
  record(): void {
    writeState(this.dir, this.state);
  }

  /** The wrapper's pid, once it was started. */
  get pid(): number | undefined {
    return this.state.pid;
  }

  /** Starts the wrapper `argv` (it waits for `go`) and records its pid. */
  startWrapper(argv: readonly string[], opts: ExecOptions & { collect?: boolean }): void {
    if (this.wrapper) throw new Error("Launch.startWrapper: the wrapper was already started");
    // On a systemd host the wrapper starts in the container's delegated scope (systemd-run makes
    // it, then execs the wrapper: same pid, same fds).
    const scope = this.cgroups.scope;
    const full = scope ? [...scopeRunArgv(systemdProgram("systemd-run"), scope, `minic container ${this.state.id}`), ...argv] : argv;
    this.wrapper = startWrapper(full, this.dir, opts);
    const pid = this.wrapper.running.child.pid;
    if (pid !== undefined) Object.assign(this.state, { pid, pidStart: processStart(pid) });
    this.record();
  }

  /**
   * The wrapper joins the cgroups itself once let go (runtime-argv's wrapperArgv), so they may
   * be made before it starts (build run steps) or after (`minic run`, just before `go`). Not
   * with a systemd scope: systemd makes that around the running wrapper (startWrapper), and
   * applyLimits, after it, moves the wrapper into the scope's leaf.
   */
  get limitsFirst(): boolean {
    return !this.cgroups.scope;
  }

  /** The cgroup.procs files the wrapper joins once let go (see limitsFirst). */
  get wrapperProcs(): string[] {
    return this.limitsFirst ? this.cgroups.procs : [];
  }

  /**
   * Creates the cgroups and writes their limits, before `go`: after startWrapper unless
   * limitsFirst (on a systemd host the wrapper is what systemd puts in the scope).
   */
  async applyLimits(): Promise<void> {
    await applyCgroups(this.cgroups, this.state.pid);
    if (this.cgroups.scope) this.watchEvents();
  }

  /**
   * Counts OOM kills and refused forks as the kernel reports them (it notifies a change of
   * memory.events and pids.events), not only once the container has ended: systemd removes a
   * scope's cgroups as soon as its last process exits, possibly before minic reads them. Without
   * a scope the cgroups are minic's until release, and are read once the container has ended.
   */
  private watchEvents(): void {
    const note = () => {
      this.seen.oomKills = Math.max(this.seen.oomKills, readOomKills(this.cgroups));
      this.seen.pidsRefused = Math.max(this.seen.pidsRefused, readPidsRefused(this.cgroups));
    };
    for (const f of [this.cgroups.oomEvents, this.cgroups.pidsEvents]) {
      if (!f) continue;
      try {
        const w = watch(f, { persistent: false }, note);
        w.on("error", () => {});
        this.watchers.push(w);
      } catch {
        /* no inotify on this file: the count is read once the container has ended */
      }
    }
  }

  private unwatch(): void {
    for (const w of this.watchers.splice(0)) w.close();
  }

  /** Lets the wrapper go on: it sources `script` (runtime-argv's startScript) and execs the runtime. */
  go(script: string): void {
    this.started().go(script);
  }

  /**
   * SIGKILLs everything the container runs now: every process of its cgroups (again while new
   * ones appear, so that a forking command cannot slip through) and the wrapper.
   */
  kill(): void {
    for (let pass = 0; pass < 100 && killCgroups(this.cgroups.dirs) > 0 && cgroupPids(this.cgroups.dirs).length > 0; pass++);
    this.wrapper?.running.child.kill("SIGKILL");
  }

  /** Waits for the runtime to exit (and its pipes to close); says how it ended. */
  async wait(): Promise<LaunchExit> {
    const r = await this.started().running.done;
    let failure: string | undefined;
    if (r.exitCode === SETUP_FAILED_STATUS) {
      try {
        failure = setupFailure(readFileSync(join(this.dir, SETUP_ERR), "utf8"));
      } catch {
        /* none: the command's own status */
      }
    }
    const oomKills = Math.max(this.seen.oomKills, readOomKills(this.cgroups));
    const pidsRefused = Math.max(this.seen.pidsRefused, readPidsRefused(this.cgroups));
    this.unwatch();
    return { exitCode: r.exitCode, stderr: r.stderr, ...(failure ? { setupFailure: failure } : {}), oomKills, pidsRefused };
  }

  /**
   * Releases everything: a wrapper still waiting for `go` is told to exit (and has, before
   * anything is removed); then the container's processes, cgroups, network and directory go.
   * Idempotent; throws the first error after trying every step.
   */
  async release(): Promise<void> {
    this.unwatch();
    if (this.wrapper) {
      this.wrapper.stop();
      await this.wrapper.running.done.catch(() => {});
    }
    await releaseContainer(this.dir, this.state);
  }

  private started(): GatedWrapper {
    if (!this.wrapper) throw new Error("Launch: the wrapper was not started");
    return this.wrapper;
  }
}
