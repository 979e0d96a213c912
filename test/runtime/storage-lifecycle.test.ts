// Storage drivers (overlay, copy, aufs where the kernel has it; deletions hide base files; a
// 200-layer stack), lifecycle (signals, a SIGKILLed minic cleaned up by the next command) and
// bad input (one-line errors, nothing left behind).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execa } from "execa";
import { mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { minic, LAUNCHER } from "../helpers/cli.js";
import { hostLeaks, runtimeSuite, stackedImage, type LayerSpec } from "./fixtures.js";

const { fx, run } = runtimeSuite(async (fx) => {
  await stackedImage(fx.store, fx.tree, "del", [
    { "data": { dir: true }, "data/keep": "keep\n", "data/gone": "gone\n", "opq": { dir: true }, "opq/old": "old\n" },
    { "data/gone": { whiteout: true }, "bin/wc": { whiteout: true }, "opq": { opaque: true }, "opq/new": "new\n" },
  ]);
  // /etc replaced by an opaque dir without passwd, over a layer that added the user `app`.
  await stackedImage(fx.store, fx.tree, "noapp", [
    { "etc/passwd": "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/:/bin/sh\n" },
    { "etc": { opaque: true }, "etc/group": "root:x:0:\n", "etc/os-release": "ID=test\n" },
  ]);
  const many: LayerSpec[] = [];
  for (let i = 1; i <= 199; i++) many.push({ [`l${i}`]: `${i}\n`, ...(i > 1 ? { [`l${i - 1}`]: { whiteout: true } } : {}) });
  await stackedImage(fx.store, fx.tree, "deep", many);
  // A loaded image's StopSignal (nginx's is SIGQUIT).
  await stackedImage(fx.store, fx.tree, "quits", [], { oci: { StopSignal: "SIGQUIT" } });
  await stackedImage(fx.store, fx.tree, "gcvictim", [{ "etc/uniq": "still here\n" }]);
});
const SHOW = ["--", "/bin/sh", "-c", "echo $(ls /data) $(ls /opq) $(test -e /bin/wc && echo wc || echo no-wc)"];

describe("storage drivers", () => {
  it("overlay (default): deletions in an upper layer hide the base's files", async () => {
    const r = await run(["del", ...SHOW]);
    expect(r.stdout.trim()).toBe("keep new no-wc");
  });

  it("copy: the same view, flattened into a private directory", async () => {
    const r = await run(["--storage-driver", "copy", "del", ...SHOW]);
    expect(r.stdout.trim()).toBe("keep new no-wc");
    const c = await run(["--storage-driver", "copy", "--runtime", "chroot", "del", ...SHOW]);
    expect(c.stdout.trim()).toBe("keep new no-wc");
  });

  it("aufs: the same view where the kernel has aufs", async (t) => {
    if (!/\taufs$/m.test(readFileSync("/proc/filesystems", "utf8"))) {
      // The only skip allowed: aufs is not in mainline kernels. Without it, minic must say so clearly.
      const r = await run(["--storage-driver", "aufs", "del", "/bin/true"]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/no aufs filesystem/);
      t.skip("kernel has no aufs (not in /proc/filesystems)");
      return;
    }
    const r = await run(["--storage-driver", "aufs", "del", ...SHOW]);
    expect(r.stdout.trim()).toBe("keep new no-wc");
  });

  it("an opaque directory hides the lower layers' files from minic as from the container", async () => {
    // minic resolves -u in the image as the container sees it: the `app` of the lower /etc/passwd
    // is hidden by the opaque /etc above it (it was found, and the container then had no such user).
    for (const driver of ["overlay", "copy"]) {
      const r = await run(["--storage-driver", driver, "-u", "app", "noapp", "--", "/bin/id"]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr.trim()).toMatch(/^minic: user 'app' is not in the image's \/etc\/passwd \(hint: /);
      expect((await run(["--storage-driver", driver, "noapp", "--", "/bin/sh", "-c", "test -e /etc/passwd || echo hidden"])).stdout).toBe("hidden");
    }
    // Each overlay layer's opaque dirs are recorded beside it when it is unpacked; a layer unpacked
    // before records existed gets its record from its xattrs on the next run.
    const unpacked = join(fx.store, "unpacked");
    const records = readdirSync(unpacked).filter((n) => n.endsWith(".opaque"));
    const contents = records.map((n) => readFileSync(join(unpacked, n), "utf8").trim());
    expect(contents).toContain('["etc"]');
    const withEtc = records[contents.indexOf('["etc"]')]!;
    for (const damage of [() => rmSync(join(unpacked, withEtc)), () => writeFileSync(join(unpacked, withEtc), "{")]) {
      damage();
      expect((await run(["-u", "app", "noapp", "--", "/bin/id"])).exitCode).toBe(1);
      expect(readFileSync(join(unpacked, withEtc), "utf8").trim()).toBe('["etc"]');
    }
  });

  it("stacks 200 layers (more than one page of overlay mount options)", async () => {
    const r = await run(["deep", "--", "/bin/sh", "-c", "cat /l199; ls / | grep -c '^l[0-9]'"]);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("199\n1");
  }, 120_000);
});

describe("lifecycle", () => {
  const trapping = (sig: string) => ["--stop-timeout", "5", "bb", "--", "/bin/sh", "-c", `trap 'echo got-${sig}; exit 42' ${sig}; echo ready; while :; do sleep 0.1; done`];

  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    it(`${sig} reaches the container's PID 1, then minic cleans up and exits with its status`, async () => {
      const p = execa(LAUNCHER, ["run", "--store", fx.store, ...trapping(sig.slice(3))], { reject: false, stdin: "ignore", encoding: "utf8" });
      await new Promise<void>((resolve) => p.stdout!.on("data", (d) => String(d).includes("ready") && resolve()));
      p.kill(sig);
      const r = await p;
      expect(r.stdout).toContain(`got-${sig.slice(3)}`);
      expect(r.exitCode).toBe(42);
    });
  }

  it("a stop sends the image's StopSignal, as podman stop does, or --stop-signal; Ctrl-C stays SIGINT", async () => {
    const trap = (image: string, ...more: string[]) => ["run", "--store", fx.store, ...more, image, "--", "/bin/sh", "-c",
      "trap 'echo got-QUIT; exit 40' QUIT; trap 'echo got-TERM; exit 41' TERM; trap 'echo got-INT; exit 42' INT; echo ready; while :; do sleep 0.1; done"];
    for (const [args, sig, got, code] of [[trap("quits"), "SIGTERM", "QUIT", 40], [trap("quits", "--stop-signal", "TERM"), "SIGTERM", "TERM", 41], [trap("bb", "--stop-signal", "3"), "SIGTERM", "QUIT", 40], [trap("quits"), "SIGINT", "INT", 42]] as const) {
      const p = execa(LAUNCHER, args, { reject: false, stdin: "ignore", encoding: "utf8" });
      await new Promise<void>((resolve) => p.stdout!.on("data", (d) => String(d).includes("ready") && resolve()));
      p.kill(sig);
      const r = await p;
      expect([r.stdout.trim().split("\n").pop(), r.exitCode]).toEqual([`got-${got}`, code]);
      if (got === "QUIT") expect(r.stderr).toMatch(/^minic: sent SIGQUIT \(the stop signal, for SIGTERM\) to the container;/m);
    }
  });

  it("a container ignoring SIGTERM is killed after --stop-timeout, and minic says so", async () => {
    const p = execa(LAUNCHER, ["run", "--store", fx.store, "--stop-timeout", "0.5", "bb", "--", "/bin/sh", "-c", "echo ready; while :; do sleep 0.1; done"], { reject: false, stdin: "ignore", encoding: "utf8" });
    await new Promise<void>((resolve) => p.stdout!.on("data", (d) => String(d).includes("ready") && resolve()));
    p.kill("SIGTERM");
    const r = await p;
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/^minic: sent SIGTERM to the container; it is killed if still running after 0\.5s \(--stop-timeout\)/m);
    expect(r.stderr).toMatch(/^minic: the container was still running 0\.5s after SIGTERM \(--stop-timeout\): killing it$/m);
  });

  it("a SIGKILLed minic leaves state that ps lists as gone and removes; prune reports none left", async () => {
    const p = execa(LAUNCHER, ["run", "--store", fx.store, "--name", "orphan", "--net", "veth", "--pids", "50", "bb", "--", "/bin/sh", "-c", "echo ready; while :; do sleep 0.1; done"],
      { reject: false, stdin: "ignore", encoding: "utf8" });
    await new Promise<void>((resolve) => p.stdout!.on("data", (d) => String(d).includes("ready") && resolve()));
    const ps = await minic(["ps", "--store", fx.store]);
    expect(ps.stdout).toMatch(/orphan/);
    p.kill("SIGKILL");
    await new Promise((r) => p.once("exit", r)); // the container still holds the stdout pipe
    expect(hostLeaks().length).toBeGreaterThan(0); // the container, its cgroup, netns and veth are still there
    const after = await minic(["ps", "--store", fx.store]);
    expect(after.stderr).toMatch(/removed stale container orphan/);
    expect(after.stdout).not.toMatch(/orphan/);
    expect((await minic(["prune", "--store", fx.store])).stdout.trim()).toBe("removed 0 stale containers");
    await p;
  });

  it("gc first releases a container whose minic was SIGKILLed (its processes still ran on the layers gc removed)", async () => {
    const p = execa(LAUNCHER, ["run", "--store", fx.store, "--name", "gcorphan", "gcvictim", "--", "/bin/sh", "-c", "echo ready; while :; do sleep 0.1; done"], { reject: false, stdin: "ignore", encoding: "utf8" });
    await new Promise<void>((resolve) => p.stdout!.on("data", (d) => String(d).includes("ready") && resolve()));
    expect((await minic(["rmi", "-f", "gcvictim", "--store", fx.store])).exitCode).toBe(0);
    p.kill("SIGKILL");
    await new Promise((r) => p.once("exit", r));
    expect(hostLeaks().length).toBeGreaterThan(0); // the container still runs
    const gc = await minic(["gc", "--store", fx.store]);
    expect(gc.exitCode).toBe(0);
    expect(gc.stderr).toMatch(/^minic: removed stale container gcorphan \([0-9a-f]{12}\): its minic \(pid \d+\) is gone$/m);
    expect(hostLeaks()).toEqual([]); // its processes are gone before its layers were
    await p;
  });

  it("a reader that closes minic's stderr early does not stop it from cleaning up", async () => {
    // Regression: the EPIPE of a debug line written after `head` exited crashed minic before its
    // finally, leaving the container's cgroup and directory (afterEach checks both).
    const r = await execa("bash", ["-c", `MINIC_DEBUG=1 '${LAUNCHER}' run --store '${fx.store}' bb -- /bin/sh -c 'sleep 0.2' 2>&1 | head -1; echo "status=\${PIPESTATUS[0]}"`], { reject: false, encoding: "utf8" });
    expect(r.stdout).toMatch(/^\+ run: started from the startup snapshot\nstatus=0$/);
  });

  it("rm -f stops a running container; rm of an unknown one fails", async () => {
    const p = execa(LAUNCHER, ["run", "--store", fx.store, "--name", "victim", "--stop-timeout", "0.2", "bb", "--", "/bin/sh", "-c", "echo ready; while :; do sleep 0.1; done"], { reject: false, stdin: "ignore", encoding: "utf8" });
    await new Promise<void>((resolve) => p.stdout!.on("data", (d) => String(d).includes("ready") && resolve()));
    expect((await minic(["rm", "victim", "--store", fx.store])).exitCode).toBe(1);
    expect((await minic(["rm", "-f", "victim", "--store", fx.store])).exitCode).toBe(0);
    await p;
    expect((await minic(["rm", "nosuch", "--store", fx.store])).exitCode).toBe(1);
  });

  it("rm -f sends the stop signal first, as podman rm -f does, and kills what still runs after the stop time; -t 0 kills at once", async () => {
    const start = (name: string, ...more: string[]) => {
      const p = execa(LAUNCHER, ["run", "--store", fx.store, "--name", name, ...more, "--", "/bin/sh", "-c", "trap 'echo got-QUIT; exit 40' QUIT; trap 'echo got-TERM; exit 41' TERM; echo ready; while :; do sleep 0.1; done"],
        { reject: false, stdin: "ignore", encoding: "utf8" });
      // Wrapped: the subprocess is a thenable, which a promise would wait for.
      return new Promise<void>((resolve) => p.stdout!.on("data", (d) => String(d).includes("ready") && resolve())).then(() => ({ p }));
    };
    // The image's StopSignal (SIGQUIT) reaches the trap; the command ends as it chooses.
    let { p } = await start("trapper", "quits");
    expect((await minic(["rm", "-f", "trapper", "--store", fx.store])).exitCode).toBe(0);
    let r = await p;
    expect([r.stdout.trim().split("\n").pop(), r.exitCode]).toEqual(["got-QUIT", 40]);
    // One that ignores it is killed after its --stop-timeout.
    const stubborn = execa(LAUNCHER, ["run", "--store", fx.store, "--name", "stubborn", "--stop-timeout", "0.5", "bb", "--", "/bin/sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.1; done"], { reject: false, stdin: "ignore", encoding: "utf8" });
    await new Promise<void>((resolve) => stubborn.stdout!.on("data", (d) => String(d).includes("ready") && resolve()));
    const t0 = Date.now();
    expect((await minic(["rm", "-f", "stubborn", "--store", fx.store])).exitCode).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(500);
    expect((await stubborn).exitCode).toBe(137);
    // -t 0: no stop signal, killed now.
    ({ p } = await start("now", "bb"));
    expect((await minic(["rm", "-f", "-t", "0", "now", "--store", fx.store])).exitCode).toBe(0);
    r = await p;
    expect(r.stdout).not.toMatch(/got-/);
    expect(r.exitCode).toBe(137);
    for (const [args, re] of [[["rm", "-t", "1", "x"], /-t needs -f/], [["rm", "-f", "-t", "soon", "x"], /invalid -t 'soon'/]] as const) {
      const bad = await minic([...args, "--store", fx.store]);
      expect([bad.exitCode, bad.stderr]).toEqual([2, expect.stringMatching(re)]);
    }
  });

  it("a PID 1 killed by a signal (from outside, or by the OOM killer) exits 128+N, as podman reports it, not nspawn's 1", async () => {
    const p = execa(LAUNCHER, ["run", "--store", fx.store, "--name", "sleeper", "bb", "--", "/bin/sleep", "60"], { reject: false, stdin: "ignore", encoding: "utf8" });
    let init: number | undefined;
    for (let i = 0; i < 500 && init === undefined; i++) {
      await new Promise((res) => setTimeout(res, 20));
      init = sleepersOf(fx.store)[0];
    }
    expect(init).toBeDefined();
    process.kill(init!, "SIGKILL");
    const r = await p;
    expect(r.exitCode).toBe(137);
    expect(r.stderr).not.toMatch(/terminated by signal/);
    const oom = await minic(["run", "--store", fx.store, "--memory", "32M", "bb", "--", "dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"]);
    expect(oom.exitCode).toBe(137);
    expect(oom.stderr).toMatch(/^minic: the memory limit \(33554432 bytes\) was hit: the OOM killer killed 1 process$/m);
    // A command's own exit 1, with output on stderr, stays 1 and its stderr reaches minic's.
    const one = await minic(["run", "--store", fx.store, "bb", "--", "/bin/sh", "-c", "echo 'Container x terminated by signal KILL.' >&2; exit 1"]);
    expect([one.exitCode, one.stderr.trim()]).toEqual([1, "Container x terminated by signal KILL."]);
  });
});

describe("bad input: one-line error, non-zero exit, nothing left", () => {
  // A PATH with node (bin/minic needs it) and nothing else: no systemd-nspawn. Made by the
  // suite's hooks (which do not run when a filter skips every test here).
  const nodeOnly = join(tmpdir(), `minic-node-only-${process.pid}`);
  beforeAll(() => {
    mkdirSync(nodeOnly);
    symlinkSync(process.execPath, join(nodeOnly, "node"));
  });
  afterAll(() => rmSync(nodeOnly, { recursive: true, force: true }));
  const cases: [string, string[], RegExp, NodeJS.ProcessEnv?][] = [
    ["unknown image", ["nosuch:1", "/bin/true"], /no image 'nosuch:1'/],
    ["--memory abc", ["--memory", "abc", "bb", "/bin/true"], /invalid memory limit 'abc'/],
    ["--cpuset 99", ["--cpuset", "99", "bb", "/bin/true"], /cpuset '99' names CPU 99/],
    ["missing bind source", ["--bind", "/nonexistent/minic-src:/mnt", "bb", "/bin/true"], /bind source '\/nonexistent\/minic-src' does not exist/],
    ["missing systemd-nspawn", ["bb", "/bin/true"], /systemd-nspawn is not installed.*apt-get install systemd-container/, { PATH: nodeOnly }],
    ["kernel without overlayfs", ["bb", "/bin/true"], /no overlay filesystem.*--storage-driver copy/, { MINIC_PROC_FILESYSTEMS: "/dev/null" }],
    ["relative bind target", ["--bind", "/tmp:mnt", "bb", "/bin/true"], /bind target 'mnt' is not an absolute path/],
    ["relative -w", ["-w", "srv", "bb", "/bin/true"], /-w 'srv' is not an absolute path/],
  ];
  for (const [what, args, re, env] of cases) {
    it(what, async () => {
      const r = await run(args, env);
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(re);
      expect(r.stderr).toMatch(/hint:/);
    });
  }

  it("a bind source that is a dangling symlink fails in one line and leaves nothing", async () => {
    const link = join(fx.root, "dangling");
    try {
      symlinkSync("/nonexistent/x", link);
    } catch {
      /* exists */
    }
    const r = await run(["--bind", `${link}:/mnt`, "bb", "/bin/true"]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });
});

/** The pids of `sleep` processes whose cgroup is one of the store's containers (its PID 1 in the sleeper test). */
function sleepersOf(store: string): number[] {
  const ids = readdirSync(join(store, "containers"));
  return readdirSync("/proc").filter((d) => /^\d+$/.test(d)).filter((d) => {
    try {
      return readFileSync(`/proc/${d}/comm`, "utf8").trim() === "sleep" && ids.some((id) => readFileSync(`/proc/${d}/cgroup`, "utf8").includes(`minic-${id}`));
    } catch {
      return false;
    }
  }).map(Number);
}
