// The warm-up of the kernel's cgroup-move lock (src/runtime/cgroup-warmup.ts): minic moves a
// stand-in process into the cgroup it is already in, again and again until stopped, and never
// anywhere else; minic itself is never moved.
import { afterEach, describe, expect, it } from "vitest";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, rmdirSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { warmUpCgroupMoves, warmUpTarget, type StandIn } from "../../src/runtime/cgroup-warmup.js";
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
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    for (const c of children.splice(0)) c.kill("SIGKILL");
  });
  /** A stand-in the test starts itself (so that its pid is known before the warm-up), and whether it was ended. */
  function standIn(): { start: () => StandIn; child: ChildProcess; ended: () => boolean; noticeExit: () => void } {
    const child = spawn("sleep", ["30"], { stdio: "ignore" });
    children.push(child);
    let ended = false;
    const onExit: (() => void)[] = [];
    child.once("exit", () => onExit.forEach((f) => f()));
    const s: StandIn = { pid: child.pid!, end: () => { ended = true; child.kill("SIGKILL"); }, onExit: (f) => onExit.push(f) };
    // Tells the warm-up the stand-in ended while it still runs (its /proc/PID/cgroup unchanged).
    return { start: () => s, child, ended: () => ended, noticeExit: () => onExit.forEach((f) => f()) };
  }
  /** A stand-in hierarchy: the pids mount (or cgroup2's) is a temp dir holding the stand-in's cgroup path, so moves land in a plain file. */
  function fakeHierarchy(pid: number): { mounts: CgroupMounts; procs: string } {
    const fake = mkdtempSync(join(tmpdir(), "minic-warmup-"));
    dirs.push(fake);
    const self = readFileSync(`/proc/${pid}/cgroup`, "utf8");
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

  it("writes the stand-in's pid, never minic's, to the stand-in's cgroup's procs again and again until stopped, then ends the stand-in", async () => {
    const s = standIn();
    const { mounts, procs } = fakeHierarchy(s.child.pid!);
    writeFileSync(procs, `1\n${s.child.pid}\n`); // the cgroup lists the stand-in, as the kernel's would
    const warm = warmUpCgroupMoves(mounts, s.start);
    try {
      for (let round = 0; round < 3; round++) {
        truncateSync(procs);
        expect(await refilled(procs), `move ${round + 1}`).toBe(String(s.child.pid));
      }
    } finally {
      warm.stop();
    }
    await sleep(20); // a move under way when it was stopped
    expect(s.ended(), "the stand-in ended").toBe(true);
    truncateSync(procs);
    await sleep(40);
    expect(readFileSync(procs, "utf8"), "no move after stop").toBe("");
  });

  it("never writes to a cgroup that does not list the stand-in (a cgroupfs mounted from another root), nor makes the file", async () => {
    const s = standIn();
    const { mounts, procs } = fakeHierarchy(s.child.pid!);
    writeFileSync(procs, `1\n${process.pid}\n`);
    const warm = warmUpCgroupMoves(mounts, s.start);
    await sleep(30);
    warm.stop();
    expect(readFileSync(procs, "utf8")).toBe(`1\n${process.pid}\n`);
    expect(s.ended(), "a stand-in of no use is ended at once").toBe(true);
    rmSync(procs);
    const none = warmUpCgroupMoves(mounts, standIn().start);
    await sleep(30);
    none.stop();
    expect(existsSync(procs)).toBe(false);
  });

  it("is none without a stand-in", async () => {
    const s = standIn();
    const { mounts, procs } = fakeHierarchy(s.child.pid!);
    writeFileSync(procs, String(s.child.pid));
    const warm = warmUpCgroupMoves(mounts, () => undefined);
    truncateSync(procs);
    await sleep(30);
    warm.stop();
    expect(readFileSync(procs, "utf8")).toBe("");
  });

  /** Starts a warm-up of a stand-in, waits for a move, runs `then`, and checks no move follows. */
  async function noMoveAfter(then: (s: ReturnType<typeof standIn>) => Promise<void>): Promise<void> {
    const s = standIn();
    const { mounts, procs } = fakeHierarchy(s.child.pid!);
    writeFileSync(procs, String(s.child.pid));
    const warm = warmUpCgroupMoves(mounts, s.start);
    try {
      truncateSync(procs);
      expect(await refilled(procs)).toBe(String(s.child.pid));
      await then(s);
      await sleep(10); // a move under way then
      truncateSync(procs);
      await sleep(40);
      expect(readFileSync(procs, "utf8")).toBe("");
    } finally {
      warm.stop();
    }
  }

  it("ends when the stand-in ends by itself: no move of a pid it has not seen alive", async () => {
    await noMoveAfter(async (s) => {
      const exited = new Promise((r) => s.child.once("exit", r));
      s.child.kill("SIGKILL"); // as someone else would
      await exited;
    });
  });

  it("makes no move once it was told the stand-in ended, whatever /proc says meanwhile", async () => {
    await noMoveAfter(async (s) => s.noticeExit());
  });

  it("ends at the first move that fails", async () => {
    const s = standIn();
    const { mounts, procs } = fakeHierarchy(s.child.pid!);
    writeFileSync(procs, String(s.child.pid));
    const warm = warmUpCgroupMoves(mounts, s.start);
    const chattr = (flag: string) => execFileSync("chattr", [flag, procs]);
    try {
      truncateSync(procs);
      expect(await refilled(procs)).toBe(String(s.child.pid));
      // The next move fails (an immutable file refuses even a write through an open fd: EPERM),
      // and no later one is tried once writes would succeed again.
      chattr("+i");
      await sleep(30);
      chattr("-i");
      truncateSync(procs);
      await sleep(40);
      expect(readFileSync(procs, "utf8")).toBe("");
      expect(s.ended()).toBe(true);
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
   * A node child put in cgroup `start`, warming up with the default stand-in (dist/, rebuilt from
   * src by vitest's global setup); `during` runs once it warms, with the child's and the
   * stand-in's pids. Says its target, the pids cgroup the stand-in was in just before the stop,
   * whether the stand-in was still there after it, and the pids cgroup the child is in at the end.
   */
  async function warmChild(start: string, during: (pids: { child: number; standIn: number }) => Promise<void>) {
    const script = [
      `const { warmUpCgroupMoves, warmUpTarget, startStandIn } = await import(${JSON.stringify(`${ROOT}/dist/runtime/cgroup-warmup.js`)});`,
      `const { parseCgroupMounts } = await import(${JSON.stringify(`${ROOT}/dist/runtime/host.js`)});`,
      "const { existsSync, readFileSync } = await import('node:fs');",
      "await new Promise((r) => process.stdin.once('data', r)); process.stdin.destroy();",
      "const mounts = parseCgroupMounts(readFileSync('/proc/self/mountinfo', 'utf8'));",
      "let s;",
      "const w = warmUpCgroupMoves(mounts, () => (s = startStandIn()));",
      "process.stdout.write(`STANDIN ${s.pid} TARGET ${warmUpTarget(mounts, readFileSync(`/proc/${s.pid}/cgroup`, 'utf8'))}\\n`);",
      "await new Promise((r) => setTimeout(r, 150));",
      "let before = '(ended)'; try { before = readFileSync(`/proc/${s.pid}/cgroup`, 'utf8').match(/^\\d+:pids:(.*)$/m)[1]; } catch {}",
      "process.stdout.write(`BEFORE ${before}\\n`);",
      "w.stop(); await new Promise((r) => setTimeout(r, 30));",
      "process.stdout.write(`GONE ${!existsSync(`/proc/${s.pid}`)}\\n`);",
      "process.stdout.write(readFileSync('/proc/self/cgroup', 'utf8'));",
    ].join("\n");
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["pipe", "pipe", "inherit"] });
    let out = "";
    let told: Promise<void> | undefined;
    child.stdout.on("data", (b: Buffer) => {
      out += b.toString();
      const standIn = Number(out.match(/^STANDIN (\d+) /m)?.[1]);
      if (!told && standIn) told = sleep(20).then(() => during({ child: child.pid!, standIn }));
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
    const field = (re: RegExp) => out.match(re)?.[1] ?? "";
    return { target: field(/ TARGET (.*)$/m), standInBefore: field(/^BEFORE (.*)$/m), standInGone: field(/^GONE (.*)$/m), after: field(/^\d+:pids:(.*)$/m) };
  }

  it("the stand-in is moved in the cgroup it was started in (minic's), then ended; minic stays where it was", async () => {
    const own = cgroup("own");
    const r = await warmChild(own, async () => {});
    expect(r.target).toBe(`${own}/cgroup.procs`);
    expect(`${PIDS}${r.standInBefore}`).toBe(own);
    expect(r.standInGone).toBe("true");
    expect(`${PIDS}${r.after}`).toBe(own);
  });

  it("minic moved by someone else while it warms is never moved back", async () => {
    for (let round = 0; round < 5; round++) {
      const first = cgroup(`first${round}`);
      const then = cgroup(`then${round}`);
      const r = await warmChild(first, async ({ child }) => writeFileSync(`${then}/cgroup.procs`, String(child)));
      expect(r.target).toBe(`${first}/cgroup.procs`);
      expect(`${PIDS}${r.after}`, `round ${round + 1}`).toBe(then);
      expect(r.standInGone).toBe("true");
    }
  });
});
