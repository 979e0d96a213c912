// cgroup limits, proved from inside the container; the cgroups are gone afterwards.
import { describe, expect, it } from "vitest";
import { runtimeSuite, stackedImage } from "./fixtures.js";

const { run } = runtimeSuite(async (fx) => {
  await stackedImage(fx.store, fx.tree, "limited", [{ "etc/limited": "yes\n" }], { limits: { cpuset: "1", pids: 40, memoryBytes: 48 * 1024 * 1024 } });
});

describe("cgroup limits", () => {
  it("--cpuset 0: the container may only run on CPU 0", async () => {
    const r = await run(["--cpuset", "0", "bb", "--", "/bin/sh", "-c", "grep Cpus_allowed_list /proc/self/status"]);
    expect(r.stdout.trim()).toMatch(/^Cpus_allowed_list:\s+0$/);
    const all = await run(["bb", "--", "/bin/sh", "-c", "grep Cpus_allowed_list /proc/self/status"]);
    expect(all.stdout.trim()).toMatch(/^Cpus_allowed_list:\s+0-1$/);
  });

  it("--memory 32M: a process allocating past it is killed; below it, it runs", async () => {
    const big = await run(["--memory", "32M", "bb", "--", "/bin/sh", "-c", "dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; echo rc=$?"]);
    expect(big.stdout.trim()).toBe("rc=137");
    expect(big.stderr).toMatch(/OOM killer killed 1 process/);
    const small = await run(["--memory", "32M", "bb", "--", "/bin/sh", "-c", "dd if=/dev/zero of=/dev/null bs=4M count=1 2>/dev/null; echo rc=$?"]);
    expect(small.stdout.trim()).toBe("rc=0");
  });

  it("--pids 20: a fork loop stops at the limit", async () => {
    // The loop runs in a child shell (a failed fork ends it); the count uses no fork at all.
    const script = (n: number) => `sh -c "i=0; while [ \\$i -lt ${n} ]; do i=\\$((i+1)); sleep 2 & done" 2>/dev/null; n=0; for p in /proc/[0-9]*; do n=$((n+1)); done; echo procs=$n`;
    const count = (out: string) => Number(/procs=(\d+)/.exec(out)?.[1]);
    const limited = await run(["--pids", "20", "bb", "--", "/bin/sh", "-c", script(60)]);
    expect(count(limited.stdout)).toBeGreaterThan(10);
    expect(count(limited.stdout)).toBeLessThan(20);
    const free = await run(["bb", "--", "/bin/sh", "-c", script(60)]);
    expect(count(free.stdout)).toBeGreaterThan(60);
  });

  it("--cpus 0.5 sets the CFS quota the container sees", async () => {
    const r = await run(["--cpus", "0.5", "bb", "--", "/bin/sh", "-c", "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us"]);
    expect(r.stdout.trim().split("\n")).toEqual(["50000", "100000"]);
  });

  it("applies the image's default limits, and flags override them", async () => {
    const r = await run(["limited", "--", "/bin/sh", "-c", "grep Cpus_allowed_list /proc/self/status; cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/memory/memory.limit_in_bytes"]);
    expect(r.stdout.trim().split("\n").map((l) => l.replace(/\s+/g, " "))).toEqual(["Cpus_allowed_list: 1", "40", String(48 * 1024 * 1024)]);
    const o = await run(["--cpuset", "0", "--pids", "50", "limited", "--", "/bin/sh", "-c", "grep Cpus_allowed_list /proc/self/status; cat /sys/fs/cgroup/pids/pids.max"]);
    expect(o.stdout.trim().split("\n").map((l) => l.replace(/\s+/g, " "))).toEqual(["Cpus_allowed_list: 0", "50"]);
  });

  it("--memory max, --pids max and --cpus max lift the image's default limits", async () => {
    const read = "cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us";
    const free = await run(["bb", "--", "/bin/sh", "-c", read]);
    const [, unlimitedMemory, unlimitedQuota] = free.stdout.trim().split("\n");
    expect(unlimitedMemory).not.toBe(String(48 * 1024 * 1024));
    const capped = await run(["--cpus", "0.5", "limited", "--", "/bin/sh", "-c", read]);
    expect(capped.stdout.trim().split("\n")).toEqual(["40", String(48 * 1024 * 1024), "50000"]);
    const lifted = await run(["--memory", "max", "--pids", "max", "--cpus", "max", "limited", "--", "/bin/sh", "-c", read]);
    expect(lifted.exitCode).toBe(0);
    expect(lifted.stdout.trim().split("\n")).toEqual(["max", unlimitedMemory, unlimitedQuota]);
  });

  it("limits apply under the chroot runtime too", async () => {
    // chroot has no /dev: a shell holding 64M of output in a variable is what gets killed.
    const r = await run(["--runtime", "chroot", "--cpuset", "0", "--memory", "32M", "bb", "--", "/bin/sh", "-c", "sh -c 'x=$(yes | head -c 67108864)' 2>/dev/null; echo rc=$?"]);
    // The limit killed the shell holding the output. On a loaded host the kernel may OOM-kill
    // the outer shell too, before its echo (the hog's memory is still being freed): then the
    // container's own status is 137.
    expect(r.stderr).toMatch(/memory limit \(33554432 bytes\) was hit: the OOM killer killed/);
    if (r.stdout.trim() === "") expect(r.exitCode).toBe(137);
    else expect(r.stdout.trim()).toBe("rc=137");
    const small = await run(["--runtime", "chroot", "--memory", "32M", "bb", "--", "/bin/sh", "-c", "sh -c 'x=$(yes | head -c 4194304)'; echo rc=$?"]);
    expect([small.stdout.trim(), small.stderr]).toEqual(["rc=0", ""]);
  });
});
