// The mount points nspawn makes for a run step's binds, noted before the step (pure over the
// view) and taken out of the upper dir after it: a stub file, the parents it made, the base
// directories it copied up, and only those (tested on real directories with a RootfsView).
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { noteMountStubs, removeMountStubs } from "../../src/builder/mount-stubs.js";
import { RootfsView } from "../../src/rootfs/rootfs-view.js";

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

/** An upper dir over one lower holding `lowerFiles` (paths; a trailing / is a directory). */
async function layers(lowerFiles: string[]) {
  const root = mkdtempSync(join(tmpdir(), "minic-stubs-"));
  dirs.push(root);
  const upper = join(root, "upper");
  const lower = join(root, "lower");
  mkdirSync(upper);
  mkdirSync(lower);
  for (const f of lowerFiles) {
    if (f.endsWith("/")) mkdirSync(join(lower, f), { recursive: true });
    else writeFileSync(join(lower, f), "x");
  }
  return { upper, view: await RootfsView.open(upper, [lower]) };
}

/** File binds onto these targets. */
const files = (...targets: string[]) => targets.map((target) => ({ target, dir: false }));

/** What nspawn does for a file bind whose target is missing: parents, then an empty file. */
function nspawnMakes(upper: string, rel: string) {
  mkdirSync(join(upper, rel, ".."), { recursive: true });
  writeFileSync(join(upper, rel), "");
}

describe("mount stubs", () => {
  it("notes nothing for targets the image has, else the missing and the copied-up parents", async () => {
    const { view } = await layers(["etc/", "etc/hosts"]);
    expect(noteMountStubs(view, files("/etc/hosts"))).toEqual([]);
    expect(noteMountStubs(view, files("/etc/resolv.conf", "/a/b/c"))).toEqual([
      { rel: "etc/resolv.conf", dir: false, missing: [], copiedUp: [{ rel: "etc", mode: 0o755, uid: 0, gid: 0 }] },
      { rel: "a/b/c", dir: false, missing: ["a", "a/b"], copiedUp: [] },
    ]);
  });

  it("removes the stub and what nspawn made for it, leaving an empty upper dir", async () => {
    const { upper, view } = await layers(["etc/"]);
    const stubs = noteMountStubs(view, files("/etc/resolv.conf", "/etc/hosts", "/a/b/c"));
    for (const s of stubs) nspawnMakes(upper, s.rel);
    await view.refreshUpper();
    await removeMountStubs(view, stubs);
    expect(readdirSync(upper)).toEqual([]);
  });

  it("keeps what the step wrote beside a stub, and a copied-up parent whose mode the step changed", async () => {
    const { upper, view } = await layers(["etc/", "var/"]);
    const stubs = noteMountStubs(view, files("/etc/resolv.conf", "/var/hosts"));
    for (const s of stubs) nspawnMakes(upper, s.rel);
    writeFileSync(join(upper, "etc/motd"), "hi\n");
    chmodSync(join(upper, "var"), 0o700);
    await view.refreshUpper();
    await removeMountStubs(view, stubs);
    expect(readdirSync(join(upper, "etc"))).toEqual(["motd"]);
    expect(readdirSync(join(upper, "var"))).toEqual([]);
    expect(lstatSync(join(upper, "var")).mode & 0o777).toBe(0o700);
  });

  it("a directory stub (a cache mount's) goes when it is empty, and stays when the step wrote into it", async () => {
    const { upper, view } = await layers(["var/"]);
    const stubs = noteMountStubs(view, [{ target: "/var/cache/apt", dir: true }, { target: "/root/.npm", dir: true }]);
    expect(stubs.map((s) => [s.rel, s.missing])).toEqual([["var/cache/apt", ["var/cache"]], ["root/.npm", ["root"]]]);
    for (const s of stubs) mkdirSync(join(upper, s.rel), { recursive: true });
    writeFileSync(join(upper, "root/.npm/x"), ""); // written under the mount point, e.g. after it was unmounted
    await view.refreshUpper();
    await removeMountStubs(view, stubs);
    expect(readdirSync(upper)).toEqual(["root"]);
    expect(readdirSync(join(upper, "root/.npm"))).toEqual(["x"]);
  });

  it("a stub over a base file that an earlier step deleted becomes its whiteout again", async () => {
    const { upper, view } = await layers(["etc/", "etc/hosts"]);
    await view.remove("etc/hosts"); // the earlier step: etc/ in the upper dir, a whiteout for hosts
    const stubs = noteMountStubs(view, files("/etc/hosts"));
    expect(stubs).toEqual([{ rel: "etc/hosts", dir: false, missing: [], copiedUp: [] }]);
    rmSync(join(upper, "etc/hosts"));
    nspawnMakes(upper, "etc/hosts"); // overlayfs replaces the whiteout with the new file
    await removeMountStubs(view, stubs);
    const st = lstatSync(join(upper, "etc/hosts"));
    expect(st.isCharacterDevice() && st.rdev === 0).toBe(true);
    expect(view.visible("etc/hosts")).toBeNull();
  });

  it("a stub nspawn put on one of its own mounts (not in the upper dir) is left alone", async () => {
    const { upper, view } = await layers(["run/"]);
    const stubs = noteMountStubs(view, files("/run/systemd/resolve/stub-resolv.conf"));
    await removeMountStubs(view, stubs);
    expect(readdirSync(upper)).toEqual([]);
  });
});
