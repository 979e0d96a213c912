// The warm-up of the kernel's cgroup-move lock (src/runtime/cgroup-warmup.ts): minic moves itself
// into the cgroup it is already in, again and again until stopped, and never anywhere else.
import { afterEach, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, rmdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { warmUpCgroupMoves, warmUpTarget } from "../../src/runtime/cgroup-warmup.js";
import { ROOT } from "../helpers/cli.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("warmUpTarget (pure)", () => {
  const v1 = { v1: { pids: "/sys/fs/cgroup/pids", memory: "/sys/fs/cgroup/memory" }, v2: "/sys/fs/cgroup/unified" };
  const self = "9:name=systemd:/\n8:pids:/user.slice\n4:memory:/a/b\n0::/\n";
  it("takes the v1 pids hierarchy first, with the path this process is in", () => {
    expect(warmUpTarget(v1, self)).toBe("/sys/fs/cgroup/pids/user.slice/cgroup.procs");
    expect(warmUpTarget(v1, "8:pids:/\n")).toBe("/sys/fs/cgroup/pids/cgroup.procs");
  });
  it("else another v1 controller's, else cgroup2's", () => {
    expect(warmUpTarget({ v1: { memory: "/cg/memory" } }, self)).toBe("/cg/memory/a/b/cgroup.procs");
    expect(warmUpTarget({ v1: {}, v2: "/sys/fs/cgroup" }, "0::/init.scope\n")).toBe("/sys/fs/cgroup/init.scope/cgroup.procs");
    // A named v1 line has no controller: it is not taken for cgroup2's.
    expect(warmUpTarget({ v1: {}, v2: "/u" }, "1:name=systemd:/x\n0::/y\n")).toBe("/u/y/cgroup.procs");
  });
  it("none without a known mount, or for a path that is not plain", () => {
    expect(warmUpTarget({ v1: {} }, self)).toBeUndefined();
    expect(warmUpTarget({ v1: { pids: "/p" } }, "4:memory:/a\n")).toBeUndefined();
    expect(warmUpTarget({ v1: { pids: "/p" } }, "8:pids:/../x\n")).toBeUndefined();
    expect(warmUpTarget({ v1: { pids: "/p" } }, "8:pids:x\n")).toBeUndefined();
    expect(warmUpTarget({ v1: { pids: "/p" } }, "")).toBeUndefined();
  });
});

describe("warmUpCgroupMoves", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it("writes this process's pid to its own cgroup's procs again and again until stopped", async () => {
    // A stand-in hierarchy: the pids mount is a temp dir holding this process's cgroup path, so
    // the moves land in a plain file this test can read.
    const fake = mkdtempSync(join(tmpdir(), "minic-warmup-"));
    dirs.push(fake);
    const self = readFileSync("/proc/self/cgroup", "utf8");
    const pids = self.match(/^\d+:pids:(\/.*)$/m)?.[1];
    const path = pids ?? self.match(/^0::(\/.*)$/m)?.[1] ?? "/";
    const mounts = pids !== undefined ? { v1: { pids: fake } } : { v1: {}, v2: fake };
    const dir = path === "/" ? fake : join(fake, path);
    mkdirSync(dir, { recursive: true });
    const procs = join(dir, "cgroup.procs");
    const warm = warmUpCgroupMoves(mounts);
    try {
      for (let i = 0; i < 100 && !existsSync(procs); i++) await sleep(5);
      expect(readFileSync(procs, "utf8")).toBe(String(process.pid));
      rmSync(procs);
      for (let i = 0; i < 100 && !existsSync(procs); i++) await sleep(5);
      expect(existsSync(procs), "a second move follows the first").toBe(true);
    } finally {
      warm.stop();
    }
    await sleep(20); // a move under way when it was stopped
    rmSync(procs, { force: true });
    await sleep(40);
    expect(existsSync(procs), "no move after stop").toBe(false);
  });

  it("ends at the first move that fails, quietly", async () => {
    const fake = mkdtempSync(join(tmpdir(), "minic-warmup-"));
    dirs.push(fake);
    // No directory for this process's cgroup: every move fails (ENOENT); nothing is created.
    const warm = warmUpCgroupMoves({ v1: { pids: join(fake, "absent") }, v2: join(fake, "absent") });
    await sleep(30);
    expect(existsSync(join(fake, "absent"))).toBe(false);
    warm.stop();
  });
});

const PIDS = "/sys/fs/cgroup/pids";
const real = existsSync(`${PIDS}/cgroup.procs`) && process.getuid?.() === 0;

(real ? describe : describe.skip)("on this host's cgroupfs (needs root and a v1 pids hierarchy)", () => {
  const made: string[] = [];
  afterEach(async () => {
    for (const d of made.splice(0)) {
      for (let i = 0; i < 100 && existsSync(d); i++) {
        try {
          rmdirSync(d);
        } catch {
          await sleep(10);
        }
      }
    }
  });

  it("a warming process stays in its own cgroup: moves to it are moves to nowhere else", async () => {
    const cg = `${PIDS}/minic-warmup-test-${process.pid}`;
    mkdirSync(cg);
    made.push(cg);
    const script = [
      `const { warmUpCgroupMoves } = await import(${JSON.stringify(`${ROOT}/dist/runtime/cgroup-warmup.js`)});`,
      `const { parseCgroupMounts } = await import(${JSON.stringify(`${ROOT}/dist/runtime/host.js`)});`,
      "const { readFileSync } = await import('node:fs');",
      "await new Promise((r) => process.stdin.once('data', r)); process.stdin.destroy();",
      "const w = warmUpCgroupMoves(parseCgroupMounts(readFileSync('/proc/self/mountinfo', 'utf8')));",
      "await new Promise((r) => setTimeout(r, 150)); w.stop(); await new Promise((r) => setTimeout(r, 30));",
      "process.stdout.write(readFileSync('/proc/self/cgroup', 'utf8'));",
    ].join("\n");
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["pipe", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (b: Buffer) => (out += b.toString()));
    const exited = new Promise<number | null>((r) => child.once("exit", r));
    try {
      writeFileSync(`${cg}/cgroup.procs`, String(child.pid));
      child.stdin.end("go\n");
      expect(await exited).toBe(0);
    } finally {
      child.kill("SIGKILL");
    }
    expect(out).toMatch(new RegExp(`^\\d+:pids:/minic-warmup-test-${process.pid}$`, "m"));
  });
});
