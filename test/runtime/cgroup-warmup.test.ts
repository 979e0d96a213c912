// The warm-up of the kernel's cgroup-move lock (src/runtime/cgroup-warmup.ts): minic moves itself
// into the cgroup it is already in, again and again until stopped, and never anywhere else.
import { afterEach, describe, expect, it } from "vitest";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, rmdirSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { warmUpCgroupMoves, warmUpTarget } from "../../src/runtime/cgroup-warmup.js";
import type { CgroupMounts } from "../../src/runtime/host.js";
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
  /** A stand-in hierarchy: the pids mount (or cgroup2's) is a temp dir holding this process's cgroup path, so moves land in a plain file. */
  function fakeHierarchy(): { mounts: CgroupMounts; procs: string } {
    const fake = mkdtempSync(join(tmpdir(), "minic-warmup-"));
    dirs.push(fake);
    const self = readFileSync("/proc/self/cgroup", "utf8");
    const pids = self.match(/^\d+:pids:(\/.*)$/m)?.[1];
    const path = pids ?? self.match(/^0::(\/.*)$/m)?.[1] ?? "/";
    const dir = path === "/" ? fake : join(fake, path);
    mkdirSync(dir, { recursive: true });
    return { mounts: pids !== undefined ? { v1: { pids: fake } } : { v1: {}, v2: fake }, procs: join(dir, "cgroup.procs") };
  }
  const refilled = async (procs: string) => {
    for (let i = 0; i < 100 && readFileSync(procs, "utf8") === ""; i++) await sleep(5);
    return readFileSync(procs, "utf8");
  };

  it("writes this process's pid to its own cgroup's procs again and again until stopped", async () => {
    const { mounts, procs } = fakeHierarchy();
    writeFileSync(procs, `1\n${process.pid}\n`); // the cgroup lists this process, as the kernel's would
    const warm = warmUpCgroupMoves(mounts);
    try {
      for (let round = 0; round < 3; round++) {
        truncateSync(procs);
        expect(await refilled(procs), `move ${round + 1}`).toBe(String(process.pid));
      }
    } finally {
      warm.stop();
    }
    await sleep(20); // a move under way when it was stopped
    truncateSync(procs);
    await sleep(40);
    expect(readFileSync(procs, "utf8"), "no move after stop").toBe("");
  });

  it("never writes to a cgroup that does not list this process (a cgroupfs mounted from another root), nor makes the file", async () => {
    const { mounts, procs } = fakeHierarchy();
    writeFileSync(procs, "1\n2\n");
    const warm = warmUpCgroupMoves(mounts);
    await sleep(30);
    warm.stop();
    expect(readFileSync(procs, "utf8")).toBe("1\n2\n");
    rmSync(procs);
    const none = warmUpCgroupMoves(mounts);
    await sleep(30);
    none.stop();
    expect(existsSync(procs)).toBe(false);
  });

  it("ends at the first move that fails", async () => {
    const { mounts, procs } = fakeHierarchy();
    writeFileSync(procs, String(process.pid));
    const warm = warmUpCgroupMoves(mounts);
    const chattr = (flag: string) => execFileSync("chattr", [flag, procs]);
    try {
      truncateSync(procs);
      expect(await refilled(procs)).toBe(String(process.pid));
      // The next move fails (an immutable file refuses even a write through an open fd: EPERM),
      // and no later one is tried once writes would succeed again.
      chattr("+i");
      await sleep(30);
      chattr("-i");
      truncateSync(procs);
      await sleep(40);
      expect(readFileSync(procs, "utf8")).toBe("");
    } finally {
      chattr("-i");
      warm.stop();
    }
  });
});

const PIDS = "/sys/fs/cgroup/pids";
const real = existsSync(`${PIDS}/cgroup.procs`) && process.getuid?.() === 0;

(real ? describe : describe.skip)("on this host's cgroupfs (needs root and a v1 pids hierarchy)", () => {
  const made: string[] = [];
  afterEach(async () => {
    for (const d of made.splice(0).reverse()) {
      for (let i = 0; i < 100 && existsSync(d); i++) {
        try {
          rmdirSync(d);
        } catch {
          await sleep(10); // a killed child may not have left it yet
        }
      }
      expect(existsSync(d), `${d} removed`).toBe(false);
    }
  });
  function cgroup(name: string): string {
    const d = `${PIDS}/minic-warmup-test-${process.pid}-${name}`;
    mkdirSync(d);
    made.push(d);
    return d;
  }
  /**
   * A node child put in cgroup `start`, warming up (dist/, rebuilt from src by vitest's global
   * setup); `during` runs once it warms. Says its target and, after, the pids cgroup it is in.
   */
  async function warmChild(start: string, during: (pid: number) => Promise<void>): Promise<{ target: string; after: string }> {
    const script = [
      `const { warmUpCgroupMoves, warmUpTarget } = await import(${JSON.stringify(`${ROOT}/dist/runtime/cgroup-warmup.js`)});`,
      `const { parseCgroupMounts } = await import(${JSON.stringify(`${ROOT}/dist/runtime/host.js`)});`,
      "const { readFileSync } = await import('node:fs');",
      "await new Promise((r) => process.stdin.once('data', r)); process.stdin.destroy();",
      "const mounts = parseCgroupMounts(readFileSync('/proc/self/mountinfo', 'utf8'));",
      "process.stdout.write(`TARGET ${warmUpTarget(mounts, readFileSync('/proc/self/cgroup', 'utf8'))}\\n`);",
      "const w = warmUpCgroupMoves(mounts);",
      "await new Promise((r) => setTimeout(r, 150)); w.stop(); await new Promise((r) => setTimeout(r, 30));",
      "process.stdout.write(readFileSync('/proc/self/cgroup', 'utf8'));",
    ].join("\n");
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["pipe", "pipe", "inherit"] });
    let out = "";
    let told: Promise<void> | undefined;
    child.stdout.on("data", (b: Buffer) => {
      out += b.toString();
      if (!told && out.includes("TARGET ")) told = sleep(20).then(() => during(child.pid!));
    });
    const exited = new Promise<number | null>((r) => child.once("exit", r));
    try {
      writeFileSync(`${start}/cgroup.procs`, String(child.pid));
      child.stdin.end("go\n");
      expect(await exited).toBe(0);
      await told;
    } finally {
      child.kill("SIGKILL");
    }
    return { target: out.match(/^TARGET (.*)$/m)?.[1] ?? "", after: out.match(/^\d+:pids:(.*)$/m)?.[1] ?? "" };
  }

  it("a warming process moves to the cgroup it is in, and stays there", async () => {
    const own = cgroup("own");
    const r = await warmChild(own, async () => {});
    expect(r.target).toBe(`${own}/cgroup.procs`);
    expect(`${PIDS}${r.after}`).toBe(own);
  });

  it("a process moved by someone else while it warms is not moved back", async () => {
    const first = cgroup("first");
    const then = cgroup("then");
    const r = await warmChild(first, async (pid) => writeFileSync(`${then}/cgroup.procs`, String(pid)));
    expect(r.target).toBe(`${first}/cgroup.procs`);
    expect(`${PIDS}${r.after}`).toBe(then);
  });
});
