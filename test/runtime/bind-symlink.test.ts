// Regression: a --bind destination that goes through a symlink of the image is resolved inside
// the image root. Before, the chroot wrapper ran `mkdir -p ROOT/d1/x; mount --bind SRC ROOT/d1/x`
// on the host, following the image's /d1 -> /tmp/... onto the host (it created a host dir).
import { describe, expect, it } from "vitest";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runtimeSuite, stackedImage } from "./fixtures.js";

let hostSide = "";
const { fx, run } = runtimeSuite(async (fx) => {
  // The host dir the image's links point at: it must stay empty whatever the container binds.
  hostSide = join(fx.root, "host-side");
  mkdirSync(hostSide);
  const climb = `../../../../../../..${hostSide}`;
  await stackedImage(fx.store, fx.tree, "links", [{ "d1": { symlink: hostSide }, "d2": { symlink: climb }, "dsys": { symlink: "/sys" }, "etc/motd": "motd\n" }]);
  const src = join(fx.root, "src");
  mkdirSync(src);
  writeFileSync(join(src, "in.txt"), "from host\n");
  writeFileSync(join(fx.root, "one-file"), "one file\n");
});

const src = () => join(fx.root, "src");
const READ = `cat /d1/x/in.txt; ls ${"$TARGET"}`;

describe("--bind through an absolute symlink of the image", () => {
  for (const [what, flags] of [
    ["chroot, overlay", ["--runtime", "chroot"]],
    ["chroot, copy", ["--runtime", "chroot", "--storage-driver", "copy"]],
    ["nspawn, overlay", []],
    ["nspawn, copy", ["--storage-driver", "copy"]],
  ] as const) {
    it(`${what}: the bind lands where the link points inside the container; the host dir stays empty`, async () => {
      const r = await run([...flags, "-e", `TARGET=${hostSide}/x`, "--bind", `${src()}:/d1/x`, "links", "--", "/bin/sh", "-c", READ]);
      expect(r.stderr).toBe("");
      expect(r.stdout.trim()).toBe("from host\nin.txt");
      expect(readdirSync(hostSide)).toEqual([]);
    });
  }

  it("a relative link climbing past the root resolves at the root", async () => {
    const r = await run(["--runtime", "chroot", "--bind", `${src()}:/d2/y`, "links", "--", "/bin/sh", "-c", `cat ${hostSide}/y/in.txt`]);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("from host");
    expect(readdirSync(hostSide)).toEqual([]);
  });

  it("a file bind through the link: no file is created on the host", async () => {
    const r = await run(["--runtime", "chroot", "--bind", `${join(fx.root, "one-file")}:/d1/f.txt:ro`, "links", "--", "/bin/sh", "-c", "cat /d1/f.txt"]);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("one file");
    expect(readdirSync(hostSide)).toEqual([]);
  });

  for (const runtime of ["chroot", "nspawn"]) {
    it(`${runtime}: a target under a file of the image is refused in one line`, async () => {
      const r = await run(["--runtime", runtime, "--bind", `${src()}:/etc/motd/x`, "links", "/bin/true"]);
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(/bind target \/etc\/motd\/x: \/etc\/motd in the image is not a directory/);
    });
  }

  it("a directory bound onto a file of the image is refused in one line", async () => {
    const r = await run(["--runtime", "chroot", "--bind", `${src()}:/etc/motd`, "links", "/bin/true"]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/bind target \/etc\/motd is not a directory in the image/);
  });

  it("a bind onto /sys, /dev, /run or into /proc or /sys (through an image link too) is refused in one line; the host dir stays empty", async () => {
    const empty = join(fx.root, "empty-bind");
    mkdirSync(empty);
    for (const [target, line] of [
      ["/sys", "bind target /sys is where the runtime mounts its own /sys"],
      ["/dev", "bind target /dev is where the runtime mounts its own /dev"],
      ["/run", "bind target /run is where the runtime mounts its own /run"],
      ["/sys/fs/cgroup", "bind target /sys/fs/cgroup is inside /sys, which the runtime mounts itself"],
      ["/proc/x", "bind target /proc/x is inside /proc, which the runtime mounts itself"],
      ["/dsys", "bind target /dsys is where the runtime mounts its own /sys"],
    ]) {
      const r = await run(["--bind", `${empty}:${target}`, "links", "/bin/true"]);
      expect([r.exitCode, r.stderr.trim().split(" (hint: ")[0]]).toEqual([1, `minic: ${line}`]);
      expect(readdirSync(empty)).toEqual([]);
    }
    // chroot mounts nothing of its own: there such a bind is the user's (the tutorial's /proc, say).
    const chroot = await run(["--runtime", "chroot", "--bind", `${src()}:/run`, "links", "/bin/cat", "/run/in.txt"]);
    expect([chroot.exitCode, chroot.stdout.trim()]).toEqual([0, "from host"]);
    // Below /dev and /run a bind is the user's: a directory of their own there works.
    const ok = await run(["--bind", `${src()}:/run/data`, "links", "/bin/cat", "/run/data/in.txt"]);
    expect([ok.exitCode, ok.stdout.trim()]).toEqual([0, "from host"]);
  });
});
