import { afterEach, describe, expect, it } from "vitest";
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { findProgram } from "../../src/util/which.js";
import { dirname, join } from "node:path";
import { execa } from "execa";
import { minic, minicOk, tempDir } from "../helpers/cli.js";
import { makeBusyboxTree } from "../helpers/busybox-tree.js";

describe("minic import DIR", () => {
  const dirs: { remove(): void }[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

  /** A temp dir with a busybox tree in it and a bin dir holding node and only `tools` (for PATH). */
  const treeAndPath = (tools: string[]) => {
    const t = tempDir();
    dirs.push(t);
    const tree = join(t.path, "tree");
    mkdirSync(tree);
    makeBusyboxTree(tree);
    const bin = join(t.path, "bin");
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, "node"));
    for (const tool of tools) symlinkSync(findProgram(tool)!, join(bin, tool));
    return { tree, bin, store: join(t.path, "s") };
  };

  it("gives the same digest in two empty stores", async () => {
    const { tree, store } = treeAndPath([]);
    const a = await minicOk(["import", tree, "-t", "bb", "--store", `${store}1`]);
    const b = await minicOk(["import", tree, "-t", "bb", "--store", `${store}2`]);
    expect(a.stdout).toMatch(/^bb:latest sha256:[0-9a-f]{64}$/);
    expect(b.stdout).toBe(a.stdout);
  });

  // Regression: a symlink given as SOURCE was taken for a tree that "changed while it was being read".
  it("follows a SOURCE that is a symlink to the tree (only that one): the same layer as the tree itself", async () => {
    const { tree, store } = treeAndPath([]);
    const link = join(dirname(tree), "link");
    symlinkSync("tree", link);
    const a = await minicOk(["import", tree, "-t", "bb", "--store", store]);
    const b = await minicOk(["import", link, "-t", "bb", "--store", store]);
    expect(b.stdout).toBe(a.stdout);
    expect(b.stderr).toBe(a.stderr);
  });

  it("without lbzip2 refuses to pack (its bytes are the canonical ones), saying what to install", async () => {
    // A PATH with node, the other bzip2 tools and getfattr/setfattr (xattrs), but no lbzip2.
    const { tree, bin, store } = treeAndPath(["bzip2", "pbzip2", "getfattr", "setfattr"]);
    const env = { ...process.env, PATH: bin };
    const r = await minic(["import", tree, "-t", "bb", "--store", store], { env });
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim()).toMatch(/^minic: lbzip2 is not installed: .*same bytes on every machine \(hint: apt-get install lbzip2 \(or set MINIC_BZIP2=pbzip2 or bzip2/);
    expect((await minicOk(["images", "--store", store])).stdout.trim().split("\n")).toHaveLength(1); // the header only
    expect(readdirSync(join(store, "blobs", "sha256"))).toEqual([]);
    // Asked for, another tool packs (other bytes than lbzip2's, still a valid layer).
    await minicOk(["import", tree, "-t", "bb", "--store", store], { env: { ...env, MINIC_BZIP2: "bzip2" } });
  });

  it("without getfattr refuses to read a directory (its xattrs would be lost unsaid), saying what to install", async () => {
    const { tree, bin, store } = treeAndPath(["lbzip2"]);
    const r = await minic(["import", tree, "-t", "bb", "--store", store], { env: { ...process.env, PATH: bin } });
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim()).toMatch(/^minic: getfattr is not installed: minic reads and sets extended attributes .* \(hint: apt-get install attr\)$/);
    expect(readdirSync(join(store, "blobs", "sha256"))).toEqual([]);
  });

  it("refuses a missing source with a one-line error and exit 1", async () => {
    const t = tempDir();
    dirs.push(t);
    const r = await minic(["import", join(t.path, "nope"), "-t", "x", "--store", join(t.path, "s")]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/does not exist/);
  });

  it("a device or a damaged cpio: one line that says what it is and what to do", async () => {
    const t = tempDir();
    dirs.push(t);
    const store = join(t.path, "s");
    const dev = await minic(["import", "/dev/null", "-t", "x", "--store", store]);
    expect([dev.exitCode, dev.stderr.trim()]).toEqual([2, "minic: import source '/dev/null' is neither a directory nor a regular file (a device) (hint: give a directory, a rootfs.cpio[.bz2|.gz] or a rootfs.tar[.gz|.bz2] (to read a stream, save it to a file first))"]);
    const bad = join(t.path, "bad.cpio");
    writeFileSync(bad, Buffer.concat([Buffer.from("070701" + "0".repeat(8) + "zz".repeat(4)), Buffer.alloc(200, 0x30)]));
    const cpio = await minic(["import", bad, "-t", "x", "--store", store]);
    expect(cpio.exitCode).toBe(1);
    expect(cpio.stderr.trim()).toMatch(/^minic: .*corrupt cpio header field mode \('zzzzzzzz' is not 8 hex digits\) \(hint: the archive is truncated or damaged .*nothing was stored\)$/);
    expect(existsSync(join(store, "refs", "x"))).toBe(false);
  });

  it("skips an opaque marker at the tree's root, with a note: it hides nothing there, and export and save would carry it as a stray file", async () => {
    const t = tempDir();
    dirs.push(t);
    const tree = join(t.path, "tree");
    mkdirSync(join(tree, "d"), { recursive: true });
    writeFileSync(join(tree, "d", "a"), "a\n");
    writeFileSync(join(tree, ".wh..wh..opq"), "");
    writeFileSync(join(tree, "d", ".wh..wh..opq"), ""); // below the root it is a marker, and kept
    const store = join(t.path, "s");
    const r = await minicOk(["import", tree, "-t", "opq", "--store", store]);
    expect(r.stderr).toMatch(/; skipped the opaque marker at the root \(\.wh\.\.wh\.\.opq: it hides nothing there\)$/m);
    const out = join(t.path, "opq.cpio.bz2");
    await minicOk(["export", "opq", "-o", out, "--store", store]);
    const names = (await execa("sh", ["-c", `bzip2 -dc '${out}' | cpio -t --quiet`])).stdout.split("\n").sort();
    expect(names).toEqual(["d", "d/a"]);
  });
});
