// A store on a small tmpfs (mounted here, unmounted in afterAll) filled up during build, load,
// import and run, and remounted read-only: each gives one line naming the path and what to do,
// exit 1, and leaves the store consistent (fsck finds nothing wrong, tmp/ is empty, nothing is
// left on the host). Issue 11: ENOSPC was `minic: ENOSPC: no space left on device, write`, exit
// 70, no path; during a build it became an esbuild "syntax error" or blamed the copy source.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { minic, minicOk, tempDir, type CliResult } from "../helpers/cli.js";
import { makeBusyboxTree } from "../helpers/busybox-tree.js";
import { hostLeaks, lockHost } from "./fixtures.js";

const t = tempDir("minic-disk-faults-");
const mnt = join(t.path, "small");
const store = join(mnt, "store");
const filler = join(mnt, "filler");
const tree = join(t.path, "tree");
const recipe = join(t.path, "app", "app.ts");
let unlock: (() => void) | undefined;
let mounted = false;

beforeAll(async () => {
  unlock = await lockHost();
  mkdirSync(mnt);
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=40m,mode=0700", "tmpfs", mnt]);
  mounted = true;
  mkdirSync(tree);
  makeBusyboxTree(tree);
  mkdirSync(join(t.path, "app"));
  writeFileSync(join(t.path, "app", "page.html"), "<p>x</p>\n".repeat(2000));
  // The base is imported as a .ts file: compiling it runs inside esbuild (a full disk there was
  // reported as the recipe's "syntax error").
  writeFileSync(join(t.path, "app", "base.ts"), 'import { copy, defineRecipe, dir } from "minic";\nexport default defineRecipe({ name: "base", steps: [dir("/usr"), dir("/etc"), copy("/bin/busybox", "/bin", { mode: 0o755 })] });\n');
  writeFileSync(recipe, [
    'import { copy, defineRecipe, file } from "minic";',
    'import base from "./base.ts";',
    'export default defineRecipe({ name: "app", base, steps: [copy("page.html", "/srv"), file("/etc/os-release", "ID=app\\n")] });',
  ].join("\n"));
  // Images to load: saved from a store on an ordinary filesystem.
  const other = join(t.path, "other");
  await minicOk(["import", tree, "-t", "bb:1", "--store", other]);
  await minicOk(["save", "bb:1", "-o", join(t.path, "bb.tar"), "--store", other]);
  await minicOk(["save", "bb:1", "--format", "oci", "-o", join(t.path, "bb-oci.tar"), "--store", other]);
}, 120_000);

afterAll(() => {
  try {
    if (mounted) execFileSync("umount", [mnt]);
  } finally {
    t.remove();
    unlock?.();
  }
});

// What minic leaves on the host: objects that appeared during a test and are still there a few
// seconds later (other minic runs on this machine come and go meanwhile).
let before = new Set<string>();
beforeEach(() => {
  before = new Set(hostLeaks());
});
afterEach(async () => {
  rmSync(filler, { force: true });
  const appeared = hostLeaks().filter((l) => !before.has(l));
  if (appeared.length > 0) await new Promise((r) => setTimeout(r, 3000));
  expect(hostLeaks().filter((l) => appeared.includes(l))).toEqual([]);
});

/** Leaves about `free` bytes free on the small filesystem. */
function fill(free: number): void {
  rmSync(filler, { force: true });
  const st = statfsSync(mnt);
  const avail = st.bavail * st.bsize;
  if (avail > free) execFileSync("fallocate", ["-l", String(avail - free), filler]);
}

/** The run failed with the one fault line naming a path on the small filesystem, or succeeded. */
function faultOrOk(r: CliResult, what: RegExp = /^no space left on device writing /): boolean {
  if (r.exitCode === 0) return false;
  const line = r.stderr.trim().split("\n").filter((l) => l.startsWith("minic: ")).pop() ?? "";
  expect(r.stderr).not.toMatch(/ENOSPC|EROFS|syntax error|copy source|\n\s+at /);
  expect(line.slice("minic: ".length)).toMatch(what);
  expect(line).toContain(mnt);
  expect(line).toMatch(/\(hint: .*(run the command again|writable filesystem); nothing half-written was kept\)$/);
  expect(r.exitCode).toBe(1);
  return true;
}

/** The store is consistent: fsck finds nothing, no temp files, no containers. */
async function consistent(): Promise<void> {
  rmSync(filler, { force: true });
  const r = await minic(["fsck", "--dry-run", "--json", "--store", store]);
  expect(JSON.parse(r.stdout).problems).toEqual([]);
  expect(r.exitCode).toBe(0);
  expect(readdirSync(join(store, "tmp"))).toEqual([]);
  expect(readdirSync(join(store, "containers"))).toEqual([]);
}

/** Runs `args` with free space from nothing up, until it succeeds; every failure must be the fault line. */
async function squeeze(args: string[], steps: number[], reset: () => Promise<void> = async () => {}): Promise<number> {
  let faults = 0;
  for (const free of steps) {
    await reset();
    fill(free);
    if (faultOrOk(await minic([args[0]!, "--store", store, ...args.slice(1)]))) faults++;
    await consistent();
  }
  return faults;
}

const KiB = 1024;

describe("a full store", () => {
  it("build: from the first write (compiling the recipe) to the layer and the cache records", async () => {
    const fresh = async () => rmSync(store, { recursive: true, force: true });
    // The store itself is made with room, then the build meets the full disk at each stage.
    const faults = await squeeze(["build", recipe], [0, 4 * KiB, 64 * KiB, 512 * KiB, 1200 * KiB, 2400 * KiB], async () => {
      await fresh();
      mkdirSync(store, { mode: 0o700 });
      await minicOk(["images", "--store", store]);
      await minicOk(["gc", "--store", store]);
    });
    expect(faults).toBeGreaterThanOrEqual(4);
    expect((await minic(["build", recipe, "--store", store])).exitCode).toBe(0);
  });

  it("load (minic and OCI tarballs) and import", async () => {
    const clean = async () => {
      for (const r of readdirSync(join(store, "refs"))) rmSync(join(store, "refs", r), { recursive: true });
      await minicOk(["gc", "--store", store]);
    };
    let faults = 0;
    for (const tar of ["bb.tar", "bb-oci.tar"]) faults += await squeeze(["load", join(t.path, tar)], [0, 16 * KiB, 600 * KiB, 1500 * KiB], clean);
    faults += await squeeze(["import", tree, "-t", "imp:1"], [0, 16 * KiB, 600 * KiB, 1500 * KiB], clean);
    expect(faults).toBeGreaterThanOrEqual(9);
  });

  it("run: unpacking the image's layer meets the full disk; nothing is left of the container", async () => {
    await minicOk(["load", join(t.path, "bb.tar"), "--store", store]);
    const unpacked = async () => {
      for (const u of readdirSync(join(store, "unpacked"))) rmSync(join(store, "unpacked", u), { recursive: true });
    };
    const faults = await squeeze(["run", "bb:1", "/bin/true"], [0, 16 * KiB, 400 * KiB, 1200 * KiB], unpacked);
    expect(faults).toBeGreaterThanOrEqual(3);
    expect((await minic(["run", "--store", store, "bb:1", "/bin/true"])).exitCode).toBe(0);
  });
});

describe("a read-only store", () => {
  it("build, load and import say the filesystem is read-only and change nothing", async () => {
    await minicOk(["build", recipe, "--store", store, "--no-cache"]);
    execFileSync("mount", ["-o", "remount,ro", mnt]);
    try {
      for (const args of [["build", recipe, "--no-cache"], ["load", join(t.path, "bb-oci.tar")], ["import", tree, "-t", "ro:1"]]) {
        const r = await minic([...args, "--store", store]);
        expect(faultOrOk(r, /^cannot write \S+: the filesystem is read-only \(hint: /), args[0]).toBe(true);
      }
    } finally {
      execFileSync("mount", ["-o", "remount,rw", mnt]);
    }
    await consistent();
  });
});

