// The store directory: made 0700 (only root may enter: unpacked layers hold setuid binaries),
// an older 0755 store tightened when opened, and a path that cannot be a store refused with one
// line and exit 1, leaving nothing behind: a file, a path through a file, a read-only or
// pseudo filesystem, overlayfs (no upper dirs on it), a filesystem without trusted xattrs, a
// directory that holds someone's files (QA: `--store /tmp images` made /tmp 0700).
// Regression: `--store FILE images` printed an empty list with exit 0.
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { minic, minicOk, tempDir } from "../helpers/cli.js";

const t = tempDir("minic-storedir-");
afterAll(() => t.remove());
const mode = (p: string) => statSync(p).mode & 0o7777;
const tree = join(t.path, "tree");
mkdirSync(join(tree, "etc"), { recursive: true });
writeFileSync(join(tree, "etc", "x"), "x\n");

/** Mounts a filesystem of `type` on a new dir under the temp dir for `fn`, and unmounts it after. */
async function onMount(type: string, fn: (dir: string) => Promise<void>, extra: string[] = []): Promise<void> {
  const dir = join(t.path, `mnt-${type}`);
  mkdirSync(dir);
  execFileSync("mount", ["-t", type, ...extra, type, dir]);
  try {
    await fn(dir);
  } finally {
    execFileSync("umount", [dir]);
  }
}

describe("the store directory", () => {
  it("a new store is made 0700 with its parents as usual; its parts too", async () => {
    const store = join(t.path, "new", "deep", "store");
    await minicOk(["import", tree, "-t", "x", "--store", store]);
    expect(mode(store)).toBe(0o700);
    for (const d of ["blobs", "unpacked", "containers", "tmp"]) expect(mode(join(store, d))).toBe(0o700);
    expect(mode(join(t.path, "new"))).toBe(0o755);
  });

  it("an existing store other users can enter is tightened to 0700 when opened, with a note", async () => {
    const store = join(t.path, "loose");
    await minicOk(["import", tree, "-t", "x", "--store", store]);
    chmodSync(store, 0o755);
    const r = await minicOk(["images", "--store", store]);
    expect(r.stdout).toMatch(/^x:latest /m);
    expect(r.stderr.trim()).toBe(`minic: store ${store} was open to other users (mode 0755); made it 0700, as its unpacked layers may hold setuid binaries`);
    expect(mode(store)).toBe(0o700);
    expect((await minicOk(["images", "--store", store])).stderr).toBe("");
  });

  it("a file, or a path through one, is refused by every command with one line; the file is untouched", async () => {
    const file = join(t.path, "a-file");
    writeFileSync(file, "keep me\n");
    for (const args of [["images"], ["inspect", "x"], ["import", tree, "-t", "x"], ["gc"]]) {
      const r = await minic([...args, "--store", file]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr.trim()).toBe(`minic: store ${file} is not a directory (hint: give --store (or MINIC_STORE) a directory; minic makes it if it does not exist)`);
    }
    const r = await minic(["import", tree, "-t", "x", "--store", join(file, "s")]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/^minic: cannot use store .*a-file\/s: a part of the path is not a directory \(hint: [^\n]*\)$/);
    expect(readFileSync(file, "utf8")).toBe("keep me\n");
  });

  it("a directory that is neither a store nor empty is refused by every command: never chmod'ed or filled (--store /tmp, a project dir); an empty --store too", async () => {
    for (const [name, m] of [["project", 0o755], ["shared", 0o1777]] as const) {
      const dir = join(t.path, name);
      mkdirSync(join(dir, "src"), { recursive: true });
      writeFileSync(join(dir, "notes.txt"), "mine\n");
      chmodSync(dir, m);
      for (const args of [["images"], ["ps"], ["import", tree, "-t", "x"], ["gc"]]) {
        const r = await minic([...args, "--store", dir]);
        expect(r.exitCode, args.join(" ")).toBe(1);
        expect(r.stderr.trim()).toBe(`minic: ${dir} is not a minic store and not empty (it holds 'notes.txt', 'src'): minic would make it 0700 and write its own directories there (hint: give --store (or MINIC_STORE) a minic store, or a new or empty directory)`);
      }
      expect(mode(dir)).toBe(m);
      expect(readdirSync(dir).sort()).toEqual(["notes.txt", "src"]);
    }
    const empty = await minic(["--store", "", "images"], { cwd: t.path });
    expect(empty.exitCode).toBe(2);
    expect(empty.stderr.trim()).toBe("minic: --store is empty (hint: give --store a directory path, e.g. --store /var/lib/minic)");
  });

  it("an empty directory is left as it is by a command that reads, and made a store (0700) by one that stores", async () => {
    const dir = join(t.path, "empty-dir");
    mkdirSync(dir);
    chmodSync(dir, 0o755);
    const listed = await minicOk(["images", "--store", dir]);
    expect(listed.stderr).toBe("");
    expect(mode(dir)).toBe(0o755);
    expect(readdirSync(dir)).toEqual([]);
    await minicOk(["import", tree, "-t", "x", "--store", dir]);
    expect(mode(dir)).toBe(0o700);
    expect((await minicOk(["images", "--store", dir])).stdout).toMatch(/^x:latest /m);
  });

  it("info and doctor on a store path through a file say so (no internal error)", async () => {
    const file = join(t.path, "b-file");
    writeFileSync(file, "keep me\n");
    for (const store of [file, join(file, "sub")]) {
      const info = await minic(["info", "--store", store]);
      expect(info.exitCode).toBe(0);
      expect(info.stdout).toMatch(/^warn: store: .* \(or a part of its path\) is not a directory/m);
      const doctor = await minic(["doctor", "--store", store]);
      expect(doctor.exitCode).toBe(1);
      expect(doctor.stdout).toMatch(/^minic run: not ready \(see (MISSING|warn) above\)$/m);
    }
  });

  it("pseudo and read-only filesystems are refused, nothing is left (and no endless mkdir in /proc)", async () => {
    for (const store of ["/proc/minic-no/s", "/sys/minic-no/s"]) {
      const r = await minic(["import", tree, "-t", "x", "--store", store], { timeout: 20_000 });
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/^minic: cannot use store \/(proc|sys)\/minic-no\/s: .*\(hint: [^\n]*\)$/);
    }
    await onMount("tmpfs", async (dir) => {
      const r = await minic(["import", tree, "-t", "x", "--store", join(dir, "s")]);
      expect(r.stderr.trim()).toMatch(/^minic: cannot use store .*: its filesystem is read-only \(hint: .*\)$/);
      expect(r.exitCode).toBe(1);
    }, ["-o", "ro"]);
  });

  it("overlayfs and a filesystem without trusted xattrs are refused when a store is made, nothing is left", async () => {
    const layers = join(t.path, "ov");
    for (const d of ["l", "u", "w", "m"]) mkdirSync(join(layers, d), { recursive: true });
    execFileSync("mount", ["-t", "overlay", "-o", `lowerdir=${layers}/l,upperdir=${layers}/u,workdir=${layers}/w`, "minic-test-ov", `${layers}/m`]);
    try {
      const r = await minic(["import", tree, "-t", "x", "--store", join(layers, "m", "a", "s")]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/^minic: store .* is on overlayfs, which cannot hold the upper dirs .*\(hint: .*\)$/);
      expect(readdirSync(join(layers, "m"))).toEqual([]);
    } finally {
      execFileSync("umount", [`${layers}/m`]);
    }
    await onMount("ramfs", async (dir) => {
      const r = await minic(["import", tree, "-t", "x", "--store", join(dir, "s")]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/^minic: store .* is on a filesystem without trusted xattrs, which overlayfs layers need .*\(hint: .*\)$/);
      expect(readdirSync(dir)).toEqual([]);
    });
  });

  it("read-only commands on a missing store create nothing and list nothing", async () => {
    const store = join(t.path, "missing", "store");
    expect((await minicOk(["images", "--store", store])).stdout.trim()).toBe("IMAGE  MANIFEST  LAYERS  SIZE");
    expect((await minic(["inspect", "x", "--store", store])).exitCode).toBe(1);
    expect(readdirSync(t.path)).not.toContain("missing");
  });
});
