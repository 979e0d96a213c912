// The escape probe (test/helpers/escape-probe.ts), run for real as root in a container and in a
// build run step: with the default profile every attempt to change host-global kernel state,
// reach a host device or signal a host process fails, and the host's values stay as they were;
// --privileged lets the relevant ones through (writing back the values they read, so that even
// then nothing on the host changes).
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { minic } from "../helpers/cli.js";
import { escapeProbe, PROBE_ATTEMPTS, probeVerdicts } from "../helpers/escape-probe.js";
import { runtimeSuite } from "./fixtures.js";
import { Store } from "../../src/store/store.js";
import { putLayer } from "../../src/store/layers.js";
import { putImage } from "../../src/store/images.js";
import { walkTree } from "../../src/archive/walk-tree.js";
import { defaultRunConfig } from "../../src/core/image.js";
import { parseRef } from "../../src/core/reference.js";

/** Host-global values the probe writes (back); none may change. */
const WATCHED = ["/proc/sys/vm/swappiness", "/proc/sys/kernel/core_pattern", "/sys/kernel/mm/ksm/run"].filter((p) => existsSync(p));

function hostValues(): Record<string, string> {
  return Object.fromEntries(WATCHED.map((p) => [p, readFileSync(p, "utf8")]));
}

/** A block device the host itself can open read-only (`MAJOR MINOR`), or undefined. */
function openableBlockDevice(): string | undefined {
  for (const name of readdirSync("/sys/class/block").sort()) {
    try {
      closeSync(openSync(`/dev/${name}`, "r"));
      return readFileSync(`/sys/class/block/${name}/dev`, "utf8").trim().replace(":", " ");
    } catch {
      /* not openable here (e.g. a sandbox's own disk): try the next */
    }
  }
  return undefined;
}

const v1Devices = readFileSync("/proc/self/mountinfo", "utf8").split("\n").some((l) => / - cgroup \S+ \S*\bdevices\b/.test(l));
const block = openableBlockDevice();
const link = `mcprb${process.pid % 100000}`;
let sleeper: ChildProcess;
let before: Record<string, string> = {};

const { fx, run } = runtimeSuite(async (fx) => {
  // An image with a block device node of its own (as `import --keep-devices` keeps them).
  const store = await Store.open(fx.store);
  const base = await walkTree(fx.tree);
  const [major, minor] = (block ?? "7 0").split(" ").map(Number) as [number, number];
  const descs = [
    await putLayer(store, base.map((t) => ({ entry: t.entry, data: t.hostPath })), 0),
    await putLayer(store, [{ entry: { name: "blk", kind: "blockdev", mode: 0o600, uid: 0, gid: 0, mtime: 0, size: 0, rdevMajor: major, rdevMinor: minor } }], 0),
  ];
  const digest = await putImage(store, descs, defaultRunConfig(), descs.map(() => ({ createdBy: "test" })), 0);
  await store.setRef(parseRef("withdev"), digest);
});

beforeAll(() => {
  sleeper = spawn("sleep", ["1000"], { stdio: "ignore" });
  before = hostValues();
});

afterAll(() => {
  if (sleeper.pid !== undefined && sleeper.exitCode === null) process.kill(sleeper.pid, "SIGKILL");
});

afterEach(() => {
  // A probe that got through must leave nothing behind: put back what it changed, then fail.
  const now = hostValues();
  for (const [p, v] of Object.entries(before)) if (now[p] !== v) writeFileSync(p, v);
  if (existsSync(`/sys/class/net/${link}`)) execFileSync("ip", ["link", "del", link]);
  expect(now).toEqual(before);
  expect(existsSync(`/sys/class/net/${link}`)).toBe(false);
  expect(sleeper.exitCode).toBeNull();
});

/** Writes the probe into the fixture dir and returns its path. */
function probeFile(name: string, withLink: boolean): string {
  const path = join(fx.root, name);
  writeFileSync(path, escapeProbe({ blockDevice: block ?? "7 0", hostPid: sleeper.pid!, ...(withLink ? { linkName: link } : {}) }));
  return path;
}

const allDenied = (names: readonly string[]) => Object.fromEntries(names.map((n) => [n, "denied"]));

describe("escape probe", () => {
  it("minic run (--net host): every attempt is denied and the host is unchanged", async () => {
    const probe = probeFile("probe.sh", true);
    const r = await run(["--net", "host", "--bind", `${probe}:/probe.sh:ro`, "bb", "--", "/bin/sh", "/probe.sh"]);
    expect(r.stderr).toBe("");
    expect(probeVerdicts(r.stdout)).toEqual(allDenied([...PROBE_ATTEMPTS, "ip-link-add"]));
  });

  it("a build run step (on the host's network, the default): every attempt is denied", async () => {
    probeFile("probe.sh", true);
    writeFileSync(join(fx.root, "probe.ts"), [
      `import { copy, defineRecipe, run } from "minic";`,
      `export default defineRecipe({ name: "probe", base: "bb:latest", steps: [copy("probe.sh", "/"), run("sh /probe.sh > /probe.out 2>&1")] });`,
    ].join("\n"));
    const b = await minic(["build", "--store", fx.store, "--no-cache", join(fx.root, "probe.ts"), "-t", "probe-step"]);
    expect(b.exitCode, b.stderr).toBe(0);
    const r = await run(["probe-step", "--", "/bin/busybox", "cat", "/probe.out"]);
    expect(probeVerdicts(r.stdout)).toEqual(allDenied([...PROBE_ATTEMPTS, "ip-link-add"]));
  });

  it("minic build --cap-add mknod (or --privileged) lets run steps make device nodes; by default they cannot", async () => {
    writeFileSync(join(fx.root, "mknod.ts"), [
      `import { defineRecipe, run } from "minic";`,
      `export default defineRecipe({ name: "mknod", base: "bb:latest", steps: [run("/bin/busybox mknod /made-null c 1 3")] });`,
    ].join("\n"));
    const recipe = join(fx.root, "mknod.ts");
    const denied = await minic(["build", "--store", fx.store, "--no-cache", recipe]);
    expect(denied.exitCode).toBe(1);
    expect(denied.stderr).toMatch(/step 1: command exited with status 1.*Operation not permitted/);
    for (const flags of [["--cap-add", "mknod"], ["--privileged"]]) {
      const ok = await minic(["build", "--store", fx.store, "--no-cache", ...flags, recipe]);
      expect(ok.exitCode, ok.stderr).toBe(0);
    }
    // The node is in the layer, but a default container cannot open it (nodev root).
    const r = await run(["mknod", "--", "/bin/sh", "-c", "ls -l /made-null | cut -c1; echo x > /made-null 2>/dev/null && echo opened || echo denied"]);
    expect(r.stdout.trim().split("\n")).toEqual(["c", "denied"]);
  });

  it("--privileged: remounts, same-value writes and new device nodes get through; host processes stay out of reach", async () => {
    const probe = probeFile("probe-priv.sh", false);
    const r = await run(["--privileged", "--bind", `${probe}:/probe.sh:ro`, "bb", "--", "/bin/sh", "/probe.sh"]);
    const v = probeVerdicts(r.stdout);
    expect(v).toMatchObject({ "remount-proc-sys": "allowed", "sysctl-write": "allowed", "core-pattern-write": "allowed", "remount-sys": "allowed", "mount-proc": "allowed", "loop-control": "allowed" });
    if (existsSync("/sys/kernel/mm/ksm/run")) expect(v["ksm-write"]).toBe("allowed");
    if (block) expect(v["mknod-block"]).toBe("allowed");
    // The container has its own PID namespace whatever its privileges.
    expect(v["kill-host"]).toBe("denied");
  });

  it("--cap-add mknod,sys_admin: named capabilities do not lift the device policy (cgroup v1)", async (ctx) => {
    if (!v1Devices) return ctx.skip("no cgroup v1 devices controller on this host (cgroup v2 has no device policy without a BPF loader)");
    const probe = probeFile("probe-caps.sh", false);
    const r = await run(["--cap-add", "mknod,sys_admin", "--bind", `${probe}:/probe.sh:ro`, "bb", "--", "/bin/sh", "/probe.sh"]);
    const v = probeVerdicts(r.stdout);
    expect([v["mknod-block"], v["loop-control"]]).toEqual(["denied", "denied"]);
    expect(v["remount-proc-sys"]).toBe("allowed");
  });

  it("masks podman's paths, mounts the root nodev: an image's own device node cannot be opened", async () => {
    const sh = "grep -c . /proc/keys; /bin/busybox ls -A /sys/firmware | wc -l; touch /sys/firmware/x 2>/dev/null && echo fw-writable; " +
      "grep ' / / ' /proc/self/mountinfo | grep -c nodev; dd if=/blk of=/dev/null bs=512 count=1 2>/dev/null && echo blk-opened || echo blk-denied";
    const r = await run(["withdev", "--", "/bin/sh", "-c", sh]);
    expect(r.stdout.trim().split("\n")).toEqual(["0", "0", "1", "blk-denied"]);
    const p = await run(["--privileged", "withdev", "--", "/bin/sh", "-c", "/bin/busybox ls -A /sys/firmware | wc -l; grep ' / / ' /proc/self/mountinfo | grep -c nodev"]);
    const [firmware, nodev] = p.stdout.trim().split("\n");
    expect(Number(firmware)).toBe(readdirSync("/sys/firmware").length);
    expect(nodev).toBe("0");
    if (block) expect((await run(["--privileged", "withdev", "--", "/bin/sh", "-c", "dd if=/blk of=/dev/null bs=512 count=1 2>/dev/null && echo blk-opened"])).stdout.trim()).toBe("blk-opened");
  });

  it("--runtime chroot: capabilities are bounded too (no mount, no mknod)", async () => {
    const probe = probeFile("probe-chroot.sh", false);
    const r = await run(["--runtime", "chroot", "--bind", `${probe}:/probe.sh:ro`, "bb", "--", "/bin/sh", "/probe.sh"]);
    const v = probeVerdicts(r.stdout);
    for (const n of ["remount-proc-sys", "remount-sys", "mount-proc", "mount-sysfs", "userns-proc", "mknod-block", "loop-control"]) expect([n, v[n]]).toEqual([n, "denied"]);
  });
});
