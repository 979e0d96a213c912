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
  await stackedImage(fx.store, fx.tree, "links", [{ "d1": { symlink: hostSide }, "d2": { symlink: climb }, "etc/motd": "motd\n" }]);
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
});
