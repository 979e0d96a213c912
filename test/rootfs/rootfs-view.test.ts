// The build's merged view: overlayfs semantics over real directories, symlinks resolved in the root.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RootfsView } from "../../src/rootfs/rootfs-view.js";
import { tempDir } from "../helpers/cli.js";

let t: { path: string; remove(): void };
let upper: string, mid: string, low: string;

beforeEach(() => {
  t = tempDir("minic-view-");
  [upper, mid, low] = ["upper", "mid", "low"].map((d) => join(t.path, d)) as [string, string, string];
  for (const d of [upper, mid, low]) mkdirSync(d);
  // low: /etc/{a,b}, /bin/busybox, /bin/sh -> /bin/busybox, /lib -> usr/lib, /usr/lib/x
  mkdirSync(join(low, "etc"));
  writeFileSync(join(low, "etc/a"), "low a");
  writeFileSync(join(low, "etc/b"), "low b");
  mkdirSync(join(low, "bin"));
  writeFileSync(join(low, "bin/busybox"), "bb");
  symlinkSync("/bin/busybox", join(low, "bin/sh"));
  mkdirSync(join(low, "usr/lib"), { recursive: true });
  writeFileSync(join(low, "usr/lib/x"), "x");
  symlinkSync("usr/lib", join(low, "lib"));
  // mid: deletes /etc/b (whiteout), makes /opt opaque over low's (none) and adds /etc/c
  execFileSync("mknod", [join(mid, "etc-b-wh"), "c", "0", "0"]);
  mkdirSync(join(mid, "etc"));
  execFileSync("mv", [join(mid, "etc-b-wh"), join(mid, "etc/b")]);
  writeFileSync(join(mid, "etc/c"), "mid c");
});
afterEach(() => t.remove());

describe("RootfsView", () => {
  it("shows the merged tree: upper over mid over low, whiteouts hide", async () => {
    const v = await RootfsView.open(upper, [mid, low]);
    expect(v.visible("etc/a")?.layer).toBe(2);
    expect(v.visible("etc/b")).toBeNull();
    expect(v.visible("etc/c")?.layer).toBe(1);
    expect(v.visible("nope")).toBeNull();
  });

  it("resolves parent symlinks inside the root; the last component only when asked", async () => {
    const v = await RootfsView.open(upper, [mid, low]);
    expect(v.resolve("/lib/x")).toBe("usr/lib/x");
    expect(v.resolve("/bin/sh")).toBe("bin/sh");
    expect(v.resolve("/bin/sh", true)).toBe("bin/busybox");
    expect(v.resolve("/lib", true)).toBe("usr/lib");
  });

  it("a file written over a symlink replaces the link in the upper dir and never touches its target", async () => {
    const v = await RootfsView.open(upper, [mid, low]);
    await v.putFile(v.resolve("/bin/sh"), Buffer.from("new sh"), { mode: 0o755, uid: 0, gid: 0 });
    expect(readFileSync(join(upper, "bin/sh"), "utf8")).toBe("new sh");
    expect(readFileSync(join(low, "bin/busybox"), "utf8")).toBe("bb");
    expect(readlinkSync(join(low, "bin/sh"))).toBe("/bin/busybox");
  });

  it("copies parent directories up with their metadata and writes through a dir link to its target", async () => {
    execFileSync("chown", ["7:8", join(low, "usr/lib")]);
    const v = await RootfsView.open(upper, [mid, low]);
    await v.putFile(v.resolve("/lib/new"), Buffer.from("n"), { mode: 0o644, uid: 0, gid: 0 });
    expect(readFileSync(join(upper, "usr/lib/new"), "utf8")).toBe("n");
    expect(lstatSync(join(upper, "usr/lib")).uid).toBe(7);
    expect(existsSync(join(upper, "lib"))).toBe(false);
  });

  it("remove whites out what a lower layer has and only drops what the upper has", async () => {
    const v = await RootfsView.open(upper, [mid, low]);
    await v.remove("etc/a");
    const st = lstatSync(join(upper, "etc/a"));
    expect(st.isCharacterDevice() && st.rdev === 0).toBe(true);
    await v.putFile("etc/new", Buffer.from("n"), { mode: 0o644, uid: 0, gid: 0 });
    await v.remove("etc/new");
    expect(existsSync(join(upper, "etc/new"))).toBe(false);
    await expect(v.remove("etc/b")).rejects.toThrow(/does not exist/);
  });

  it("a directory made where a lower one was deleted is opaque, so the old contents stay hidden", async () => {
    const v = await RootfsView.open(upper, [mid, low]);
    await v.remove("etc");
    await v.putDir("etc", { mode: 0o755, uid: 0, gid: 0 });
    expect(execFileSync("getfattr", ["-n", "trusted.overlay.opaque", "--only-values", join(upper, "etc")], { encoding: "utf8" })).toBe("y");
    expect(v.visible("etc/a")).toBeNull();
  });

  it("hard-links a file of the upper dir, replacing what was there; refuses a name that is not an upper file", async () => {
    const v = await RootfsView.open(upper, [mid, low]);
    writeFileSync(join(t.path, "host"), "data");
    await v.putFileFrom("etc/one", join(t.path, "host"), { mode: 0o644, uid: 0, gid: 0 });
    await v.putSymlink("etc/a", "/etc/c");
    expect(await v.putHardLink("etc/a", "etc/one")).toBe(true);
    const [one, a] = [lstatSync(join(upper, "etc/one")), lstatSync(join(upper, "etc/a"))];
    expect([a.isFile(), a.ino === one.ino, one.nlink]).toEqual([true, true, 2]);
    // A lower layer's file, a symlink, nothing, or a file reached through an upper symlink (here
    // to a host directory): no link is made.
    await v.putSymlink("etc/sl", "one");
    mkdirSync(join(t.path, "hostdir"));
    writeFileSync(join(t.path, "hostdir/secret"), "host");
    await v.putSymlink("hl", join(t.path, "hostdir"));
    for (const existing of ["etc/c", "etc/sl", "etc/none", "hl/secret"]) expect(await v.putHardLink("etc/new", existing), existing).toBe(false);
    expect(existsSync(join(upper, "etc/new"))).toBe(false);
  });

  it("refuses to create below a file", async () => {
    const v = await RootfsView.open(upper, [mid, low]);
    await expect(v.putFile("etc/a/x", Buffer.from(""), { mode: 0o644, uid: 0, gid: 0 })).rejects.toThrow(/is not a directory/);
  });
});
