// Regression: a non-root user under systemd-nspawn in an image without a shell failed with
// nspawn's 'Failed to resolve user app.' / 'Child died too early.' and no minic line: nspawn
// finds the user by running getent in the container, and minic's stand-in was a /bin/sh script.
// The stand-in is now a static ELF; a uid without an entry (-u 2000:2000, as podman allows) and
// a group other than the entry's work, also where the image has a getent of its own; what
// cannot work is refused before the container starts, in one minic line.
import { describe, expect, it } from "vitest";
import { chmodSync, copyFileSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runtimeSuite, stackedImage } from "./fixtures.js";
import { Store } from "../../src/store/store.js";
import { putLayer } from "../../src/store/layers.js";
import { putImage } from "../../src/store/images.js";
import { walkTree } from "../../src/archive/walk-tree.js";
import { defaultRunConfig, type RunConfig } from "../../src/core/image.js";
import { parseRef } from "../../src/core/reference.js";

/**
 * A tree with no shell at all: busybox (static) only as /usr/bin/id, with env and cat as links
 * to it (busybox picks the applet by argv[0]); no /bin. With `passwd`, /etc/passwd and /etc/group.
 */
function noShellTree(dir: string, passwd: boolean): void {
  for (const d of ["usr/bin", "etc", "home/app", "run", "proc", "sys", "dev", "tmp"]) mkdirSync(join(dir, d), { recursive: true });
  copyFileSync("/bin/busybox", join(dir, "usr/bin/id"));
  chmodSync(join(dir, "usr/bin/id"), 0o755);
  for (const a of ["env", "cat"]) symlinkSync("id", join(dir, "usr/bin", a));
  writeFileSync(join(dir, "etc/os-release"), "ID=noshell\n");
  if (passwd) {
    writeFileSync(join(dir, "etc/passwd"), "root:x:0:0:root:/root:/nologin\napp:x:1500:1600:app:/home/app:/nologin\n");
    writeFileSync(join(dir, "etc/group"), "root:x:0:\napp:x:1600:\nstaff:x:50:app\n");
  }
}

/** Stores `tree` as a one-layer image `name` with `config`. */
async function treeImage(storeRoot: string, tree: string, name: string, config: Partial<RunConfig> = {}): Promise<void> {
  const store = await Store.open(storeRoot);
  const items = (await walkTree(tree)).map((t) => ({ entry: t.entry, data: t.hostPath }));
  const desc = await putLayer(store, items, 0);
  const digest = await putImage(store, [desc], { ...defaultRunConfig(), env: ["PATH=/usr/bin"], ...config }, [{ createdBy: "test" }], 0);
  await store.setRef(parseRef(name), digest);
}

/** A getent of the image's own (a script): it knows `nobody` only, with a home that shows it was used. */
const IMAGE_GETENT = [
  "#!/bin/sh",
  '[ "$1 $2" = "passwd nobody" ] && echo "nobody:x:65534:65534::/from-image-getent:/bin/false"',
  '[ "$1 $2" = "initgroups nobody" ] && echo "nobody 65534"',
  "exit 0",
  "",
].join("\n");

const { run } = runtimeSuite(async (fx) => {
  for (const [name, passwd] of [["noshell", true], ["scratch", false]] as const) {
    const t = join(fx.root, name);
    noShellTree(t, passwd);
    await treeImage(fx.store, t, name);
  }
  await treeImage(fx.store, join(fx.root, "noshell"), "noshell-app", { user: "app", cmd: ["id"] });
  await stackedImage(fx.store, fx.tree, "getent", [{ "usr/bin/getent": IMAGE_GETENT }]);
  await stackedImage(fx.store, fx.tree, "getent-link", [{ "usr/bin/getent": { symlink: "/bin/busybox" } }]);
});

const oneMinicLine = (stderr: string, re: RegExp) => {
  expect(stderr.trim().split("\n")).toHaveLength(1);
  expect(stderr.trim()).toMatch(re);
  expect(stderr).not.toMatch(/Failed to resolve|Child died/);
};

describe("a non-root user under nspawn in an image without a shell", () => {
  it("-u UID:GID and -u UID without a passwd entry, as podman allows (and as chroot does)", async () => {
    const sh = await run(["noshell", "--", "/bin/sh", "-c", "echo ran"]); // the premise: no shell
    expect([sh.exitCode === 0, sh.stdout]).toEqual([false, ""]);
    for (const image of ["noshell", "scratch"]) {
      const r = await run(["-u", "2000:2000", image, "--", "id"]);
      expect(r.stderr, image).toBe("");
      expect([r.exitCode, r.stdout.trim()]).toEqual([0, "uid=2000 gid=2000 groups=2000"]);
      const u = await run(["-u", "2000", image, "--", "env"]);
      expect(u.exitCode).toBe(0);
      expect(u.stdout.split("\n")).toEqual(expect.arrayContaining(["HOME=/", "USER=2000"]));
      const c = await run(["--runtime", "chroot", "-u", "2000:2000", image, "--", "id"]);
      expect([c.exitCode, c.stdout.trim()]).toEqual([0, "uid=2000 gid=2000"]);
    }
  });

  it("a name from the image's /etc/passwd (flag or config), with its home, and name:group", async () => {
    const r = await run(["-u", "app", "noshell", "--", "env"]);
    expect(r.stderr).toBe("");
    expect(r.stdout.split("\n")).toEqual(expect.arrayContaining(["HOME=/home/app", "USER=app"]));
    const cfg = await run(["noshell-app"]);
    expect([cfg.exitCode, cfg.stderr, cfg.stdout.trim()]).toEqual([0, "", "uid=1500(app) gid=1600(app) groups=1600(app)"]);
    const g = await run(["-u", "app:staff", "noshell", "--", "id"]);
    expect(g.stdout.trim()).toBe("uid=1500(app) gid=50(staff) groups=50(staff)");
  });

  it("propagates the command's exit status", async () => {
    const r = await run(["-u", "2000:2000", "noshell", "--", "id", "-u", "nosuchuser"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/unknown user nosuchuser/);
    expect((await run(["-u", "2000:2000", "noshell", "--", "cat", "/etc/os-release"])).exitCode).toBe(0);
  });

  it("on a read-only root, with the overlay and copy drivers", async () => {
    for (const driver of ["overlay", "copy"]) {
      const r = await run(["--read-only", "--storage-driver", driver, "-u", "2000:2000", "noshell", "--", "id"]);
      expect([r.exitCode, r.stderr, r.stdout.trim()], driver).toEqual([0, "", "uid=2000 gid=2000 groups=2000"]);
    }
  });

  it("a user or group the image does not have: one minic line before the container starts", async () => {
    for (const [args, re] of [
      [["-u", "ghost", "noshell"], /^minic: user 'ghost' is not in the image's \/etc\/passwd \(hint: .*numeric uid\[:gid\]\)$/],
      [["-u", "app", "scratch"], /^minic: user 'app' is not in the image's \/etc\/passwd \(hint: /],
      [["-u", "app:nogroup", "noshell"], /^minic: group 'nogroup' is not in the image's \/etc\/group \(hint: /],
      // The image's getent cannot answer for 2000, and is a symlink minic will not bind over.
      [["-u", "2000:2000", "getent-link"], /^minic: cannot run as '2000:2000' under systemd-nspawn: uid 2000 has no entry .*not a regular file\) \(hint: .*--runtime chroot\)$/],
    ] as const) {
      const r = await run([...args, "--", "id"]);
      expect(r.exitCode, args.join(" ")).toBe(1);
      expect(r.stdout).toBe("");
      oneMinicLine(r.stderr, re);
    }
  });

});

describe("an image with a getent of its own", () => {
  it("is used, untouched, for a user of its /etc/passwd; minic's stand-in answers for a uid without an entry or another group", async () => {
    const own = await run(["-u", "nobody", "getent", "--", "/bin/sh", "-c", "echo $HOME; id; cat /usr/bin/getent"]);
    expect(own.stderr).toBe("");
    expect(own.stdout).toBe(`/from-image-getent\nuid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)\n${IMAGE_GETENT}`.trimEnd());
    const r = await run(["-u", "2000:2000", "getent", "--", "id"]);
    expect([r.exitCode, r.stderr, r.stdout.trim()]).toEqual([0, "", "uid=2000 gid=2000 groups=2000"]);
    const g = await run(["-u", "nobody:root", "getent", "--", "/bin/sh", "-c", "echo $HOME; id"]);
    expect([g.exitCode, g.stderr, g.stdout]).toEqual([0, "", "/\nuid=65534(nobody) gid=0(root) groups=0(root)"]);
  });
});
