// A private containerd for the interchange tests: its own root, state, sockets and config under a
// temp dir, no CRI plugin, no /opt/containerd (the opt plugin is off), the overlayfs snapshotter,
// run in its own mount namespace (unshare --propagation private) with a tmpfs on /run there, so
// that every mount it and its shims make goes with them, and what containerd 1.6 keeps under the
// fixed /run/containerd (the shims' sockets in s/, runc's state) never reaches the host's /run.
// `ctr run` gets --fifo-dir under the temp dir (the client makes the fifos, in /run/containerd by default). stop() removes containers, tasks, the daemon (by PID), its shims (by
// PID: the processes whose command line names this daemon's socket), its cgroups and its dirs.
// inView() shows the host what containerd unpacked (a snapshot view mounted in a private mount
// namespace, so no mount outlives the look).
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmdirSync, rmSync, writeFileSync, closeSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { hostMountsUnder } from "../helpers/run-steps.js";

export interface Containerd {
  /** The daemon's gRPC socket (ctr -a). */
  sock: string;
  /** The containerd namespace the tests use (also the cgroup parent of its containers). */
  ns: string;
  /** Runs `ctr -a SOCK -n NS ...args`; the whole result, never throws on an exit code. */
  ctr(args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  /** `ctr run --rm` of `image` as container `id` running `argv`, with fifos under the temp dir. */
  run(image: string, id: string, argv?: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  /** Like ctr() but throws with stderr on a non-zero exit; returns stdout. */
  ctrOk(args: string[]): Promise<string>;
  /**
   * What containerd unpacked for an image, seen from the host: a read-only view (`ctr snapshots
   * view`) of committed snapshot `parent` (an image's top chain id) mounted, as containerd gives
   * it to a container (overlay of its lowerdirs), in a private mount namespace of its own (the
   * mount goes with it), where `sh -c script` runs in the mount; returns its stdout. The view is
   * removed after, also when the script fails.
   */
  inView(parent: string, script: string): Promise<string>;
  /** The daemon's log so far. */
  log(): string;
  /** Idempotent; never throws. */
  stop(): Promise<void>;
}

const OFF = ["io.containerd.grpc.v1.cri", "io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp"];

function config(dir: string): string {
  return `version = 2
root = "${dir}/root"
state = "${dir}/state"
disabled_plugins = [${OFF.map((p) => `"${p}"`).join(", ")}]
[grpc]
  address = "${dir}/sock"
[ttrpc]
  address = "${dir}/sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
`;
}

/** PIDs of processes whose command line names `sock` (the shims of this daemon). */
function pidsNaming(sock: string): number[] {
  const out: number[] = [];
  for (const n of readdirSync("/proc")) {
    if (!/^\d+$/.test(n)) continue;
    try {
      if (readFileSync(`/proc/${n}/cmdline`, "utf8").split("\0").includes(sock)) out.push(Number(n));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** Removes cgroup `rel` (and below) in every v1 hierarchy, deepest first. */
function removeCgroups(rel: string): void {
  const rm = (p: string) => {
    if (!existsSync(p)) return;
    for (const d of readdirSync(p, { withFileTypes: true })) if (d.isDirectory()) rm(join(p, d.name));
    try {
      rmdirSync(p);
    } catch {
      /* busy or gone: reported by the caller's checks */
    }
  };
  for (const h of readdirSync("/sys/fs/cgroup")) rm(join("/sys/fs/cgroup", h, rel));
}

const exited = (c: ChildProcess) => c.exitCode !== null || c.signalCode !== null;

/** Starts containerd under `dir` (made); resolves when it answers. */
export async function startContainerd(dir: string): Promise<Containerd> {
  mkdirSync(dir, { recursive: true });
  const cfg = join(dir, "config.toml");
  writeFileSync(cfg, config(dir));
  const sock = join(dir, "sock");
  const ns = `minic-${randomBytes(4).toString("hex")}`;
  const logFile = join(dir, "containerd.log");
  const fd = openSync(logFile, "a");
  // sh and containerd are exec'd in turn: the child's PID is containerd's.
  const inner = `mount -t tmpfs -o mode=0755,size=16m minic-containerd-run /run && exec containerd --config "$0"`;
  const child = spawn("unshare", ["--mount", "--propagation", "private", "sh", "-c", inner, cfg], { stdio: ["ignore", fd, fd] });
  closeSync(fd);
  const ctr = async (args: string[]) => {
    const r = await execa("ctr", ["-a", sock, "-n", ns, ...args], { reject: false, encoding: "utf8", stdin: "ignore" });
    return { exitCode: r.exitCode ?? 128, stdout: String(r.stdout), stderr: String(r.stderr) };
  };
  const ctrOk = async (args: string[]) => {
    const r = await ctr(args);
    if (r.exitCode !== 0) throw new Error(`ctr ${args.join(" ")} exited ${r.exitCode}: ${r.stderr}`);
    return r.stdout;
  };
  const fifos = join(dir, "fifo");
  mkdirSync(fifos, { mode: 0o700 });
  const run = (image: string, id: string, argv: string[] = []) => ctr(["run", "--rm", "--fifo-dir", fifos, image, id, ...argv]);
  let views = 0;
  const inView = async (parent: string, script: string) => {
    const key = `minic-view-${++views}`;
    const target = join(dir, key);
    mkdirSync(target);
    try {
      // containerd's mount.Mount, printed without JSON tags.
      const mounts = JSON.parse(await ctrOk(["snapshots", "--snapshotter", "overlayfs", "view", "--mounts", key, parent])) as { Type: string; Source: string; Options: string[] }[];
      if (mounts.length !== 1) throw new Error(`view of ${parent} has ${mounts.length} mounts`);
      const m = mounts[0]!;
      const argv = ["--mount", "--propagation", "private", "sh", "-c", `mount -t "$1" -o "$2" "$3" "$4" && cd "$4" && ${script}`, "sh", m.Type, m.Options.join(","), m.Source, target];
      const r = await execa("unshare", argv, { reject: false, encoding: "utf8", stdin: "ignore" });
      if (r.exitCode !== 0) throw new Error(`the view of ${parent} (${JSON.stringify(m)}): exit ${r.exitCode}: ${String(r.stderr)}`);
      return String(r.stdout);
    } finally {
      await ctr(["snapshots", "--snapshotter", "overlayfs", "rm", key]);
      rmdirSync(target);
    }
  };
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (!exited(child)) {
      for (const line of (await ctr(["task", "ls", "-q"])).stdout.split("\n").filter(Boolean)) await ctr(["task", "kill", "-s", "SIGKILL", line]);
      for (const line of (await ctr(["task", "ls", "-q"])).stdout.split("\n").filter(Boolean)) await ctr(["task", "rm", "-f", line]);
      for (const line of (await ctr(["container", "ls", "-q"])).stdout.split("\n").filter(Boolean)) await ctr(["container", "rm", line]);
      const gone = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
      if (!exited(child)) {
        child.kill("SIGKILL");
        await Promise.race([gone, new Promise((r) => setTimeout(r, 2000))]);
      }
    }
    for (const pid of pidsNaming(sock)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    removeCgroups(ns);
    // Mounts were made in the daemon's own namespace; none should be visible here.
    for (const mp of hostMountsUnder(dir).reverse()) await execa("umount", ["-l", mp], { reject: false });
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 200; i++) {
    if (exited(child)) break;
    if (existsSync(sock) && (await ctr(["version"])).exitCode === 0) return { sock, ns, ctr, run, ctrOk, inView, log: () => readFileSync(logFile, "utf8"), stop };
    await new Promise((r) => setTimeout(r, 50));
  }
  const log = existsSync(logFile) ? readFileSync(logFile, "utf8").slice(-2000) : "";
  await stop();
  throw new Error(`containerd did not come up: ${log}`);
}
