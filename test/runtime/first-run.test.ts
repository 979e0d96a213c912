// Time to first run (issue 12): load verifies and unpacks each layer in one read, into a temp dir
// renamed into unpacked/ only once both digests matched. A tampered layer (diff id wrong, blob
// digest fixed up) is refused before any of its files is visible in unpacked/; a load killed
// with SIGKILL half-way through the unpack leaves nothing a later run would use, and its temp
// dir is swept by the next gc; two runs racing to unpack the same layer both succeed with one
// copy.
import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { BIN, minic, minicOk } from "../helpers/cli.js";
import { makeBusyboxTree } from "../helpers/busybox-tree.js";
import { filesTar, resealMinic, sha, tarFiles } from "../helpers/image-archive.js";
import { unpackedProblem } from "../../src/store/unpacked-seal.js";
import { runtimeSuite } from "./fixtures.js";

const MARK = "first-run-marker-original\n";
const LAYER_RE = /^[0-9a-f]{64}$/;

/** A busybox tree with ~16 MB of incompressible files (so that decompressing and unpacking take a while). */
function bigTree(dir: string): void {
  mkdirSync(dir);
  makeBusyboxTree(dir);
  for (let d = 0; d < 16; d++) {
    mkdirSync(join(dir, "data", `d${d}`), { recursive: true });
    for (let f = 0; f < 16; f++) writeFileSync(join(dir, "data", `d${d}`, `f${f}`), randomBytes(64 * 1024));
    for (let f = 0; f < 40; f++) writeFileSync(join(dir, "data", `d${d}`, `small${f}`), `${d}/${f}\n`);
  }
  writeFileSync(join(dir, "data", "marker"), MARK);
}

const { fx, run } = runtimeSuite(async (fx) => {
  bigTree(join(fx.root, "big"));
  await minicOk(["import", join(fx.root, "big"), "-t", "big:1", "--store", fx.store]);
  await minicOk(["save", "big:1", "-o", join(fx.root, "big.tar"), "--store", fx.store]);
});

/** The layer dirs in `store`'s unpacked/ (not seals or opaque records). */
const layerDirs = (store: string) => readdirSync(join(store, "unpacked")).filter((n) => LAYER_RE.test(n));
const tmpEntries = (store: string) => readdirSync(join(store, "tmp"));

/** The big image's tarball with its layer's bytes changed (the marker), the blob digest and size fixed up, the diff id left. */
function tamperedTarball(): Buffer {
  const files = tarFiles(readFileSync(join(fx.root, "big.tar")));
  const index = JSON.parse(files.get("index.json")!.toString());
  const manifest = JSON.parse(files.get(`blobs/sha256/${index.manifests[0].digest.slice(7)}`)!.toString());
  const old = manifest.layers[0];
  const cpio = execFileSync("lbzip2", ["-dc"], { input: files.get(`blobs/sha256/${old.digest.slice(7)}`)!, maxBuffer: 1 << 30 });
  const at = cpio.indexOf(MARK);
  expect(at).toBeGreaterThan(0);
  cpio.write("first-run-marker-tampered\n", at);
  const blob = execFileSync("lbzip2", ["-9", "-c"], { input: cpio, maxBuffer: 1 << 30 });
  files.set(`blobs/sha256/${sha(blob).slice(7)}`, blob);
  files.delete(`blobs/sha256/${old.digest.slice(7)}`);
  return resealMinic(filesTar(files), { manifest: (m) => ({ ...m, layers: [{ ...old, digest: sha(blob), size: blob.length }] }) });
}

describe("load unpacks in the same read as it verifies", () => {
  it("a loaded image's layer is in unpacked/, sealed, and its first run unpacks nothing", async () => {
    const store = join(fx.root, "s-eager");
    await minicOk(["load", join(fx.root, "big.tar"), "--store", store]);
    const dirs = layerDirs(store);
    expect(dirs).toHaveLength(1);
    const dir = join(store, "unpacked", dirs[0]!);
    expect(unpackedProblem(dir)).toBeUndefined();
    expect(readFileSync(join(dir, "data/marker"), "utf8")).toBe(MARK);
    expect(tmpEntries(store)).toEqual([]);
    const before = statSync(dir).ino;
    const r = await minic(["run", "--store", store, "big:1", "--", "cat", "/data/marker"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe(MARK.trim());
    expect(r.stderr).toBe("");
    expect(statSync(dir).ino).toBe(before);
    rmSync(store, { recursive: true, force: true });
  });

  it("a layer is decompressed and unpacked while the tarball is still being read, and nothing is in place before the end", async () => {
    const store = join(fx.root, "s-overlap");
    const tar = readFileSync(join(fx.root, "big.tar"));
    const files = tarFiles(tar);
    const index = JSON.parse(files.get("index.json")!.toString());
    const manifest = JSON.parse(files.get(`blobs/sha256/${index.manifests[0].digest.slice(7)}`)!.toString());
    // minic save writes the layer before the index: hold back the tarball's last part (the index
    // and the tar's end) until the layer's files are being written in the staging area.
    const layerBytes = files.get(`blobs/sha256/${manifest.layers[0].digest.slice(7)}`)!;
    const cut = tar.indexOf(layerBytes.subarray(0, 4096)) + layerBytes.length;
    expect(cut).toBeGreaterThan(layerBytes.length);
    const child = execa(process.execPath, [BIN, "load", "-", "--store", store], { reject: false, stdin: "pipe" });
    child.stdin!.write(tar.subarray(0, cut));
    const deadline = Date.now() + 60_000;
    let unpacking = false;
    while (!unpacking && Date.now() < deadline) {
      for (const s of existsSync(join(store, "tmp")) ? tmpEntries(store) : []) {
        for (const u of readdirSync(join(store, "tmp", s)).filter((n) => n.startsWith("unpack-"))) {
          if (existsSync(join(store, "tmp", s, u, "data", "marker"))) unpacking = true;
        }
      }
      if (!unpacking) await new Promise((r) => setTimeout(r, 10));
    }
    expect(unpacking, "nothing was unpacked before the tarball's end").toBe(true);
    expect(layerDirs(store)).toEqual([]);
    expect(readdirSync(join(store, "refs"))).toEqual([]);
    child.stdin!.end(tar.subarray(cut));
    const r = await child;
    expect(r.exitCode, r.stderr).toBe(0);
    expect(layerDirs(store)).toHaveLength(1);
    expect(tmpEntries(store)).toEqual([]);
    const run1 = await minic(["run", "--store", store, "big:1", "--", "cat", "/data/marker"]);
    expect([run1.exitCode, run1.stdout, run1.stderr]).toEqual([0, MARK.trim(), ""]);
    rmSync(store, { recursive: true, force: true });
  });

  // Cannot fail before issue 12's change (load unpacked nothing then): it guards the one-pass unpack.
  it("a tampered layer (diff id mismatch, blob digest fixed up) is refused before any of its files is visible in unpacked/", async () => {
    const store = join(fx.root, "s-tamper");
    const file = join(fx.root, "tampered.tar");
    writeFileSync(file, tamperedTarball());
    mkdirSync(join(store, "unpacked"), { recursive: true, mode: 0o700 }); // a store, as minic makes it (0700)
    const seen = new Set<string>();
    let stagedUnpack = false;
    const load = minic(["load", file, "--store", store], { timeout: 120_000 });
    let done = false;
    void load.finally(() => (done = true));
    while (!done) {
      for (const n of readdirSync(join(store, "unpacked"))) seen.add(n);
      for (const s of existsSync(join(store, "tmp")) ? tmpEntries(store) : []) {
        if (s.startsWith(".stage-") && readdirSync(join(store, "tmp", s)).some((n) => n.startsWith("unpack-"))) stagedUnpack = true;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    const r = await load;
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim().split("\n"), r.stderr).toHaveLength(1);
    expect(r.stderr).toMatch(/^minic: layer sha256:[0-9a-f]{12}… unpacks to diff id sha256:[0-9a-f]{12}…, not sha256:[0-9a-f]{12}…/);
    expect(stagedUnpack).toBe(true); // it was being unpacked (in staging) while it was read
    expect([...seen]).toEqual([]);
    expect(readdirSync(join(store, "unpacked"))).toEqual([]);
    expect(tmpEntries(store)).toEqual([]);
    expect(readdirSync(join(store, "refs"))).toEqual([]);
    rmSync(store, { recursive: true, force: true });
  });

  it("a load killed (SIGKILL) in the middle of its unpack leaves nothing a later run would use; the next gc sweeps its temp dir", async () => {
    const store = join(fx.root, "s-kill");
    const child = execa(process.execPath, [BIN, "load", join(fx.root, "big.tar"), "--store", store], { reject: false, stdin: "ignore" });
    // Wait until the unpack has written files into its temp dir (tmp/.stage-PID-…/unpack-N/data/…).
    const deadline = Date.now() + 120_000;
    let unpacking: string | undefined;
    while (unpacking === undefined && Date.now() < deadline) {
      for (const s of existsSync(join(store, "tmp")) ? tmpEntries(store) : []) {
        for (const u of readdirSync(join(store, "tmp", s)).filter((n) => n.startsWith("unpack-"))) {
          const data = join(store, "tmp", s, u, "data");
          if (existsSync(data) && readdirSync(data).length >= 2) unpacking = join(store, "tmp", s, u);
        }
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(unpacking, "the load never unpacked into a temp dir").toBeDefined();
    child.kill("SIGKILL");
    await child;
    // Nothing in unpacked/ without a valid seal (here: nothing at all), no image named.
    for (const d of layerDirs(store)) expect(unpackedProblem(join(store, "unpacked", d))).toBeUndefined();
    expect(layerDirs(store)).toEqual([]);
    expect(readdirSync(join(store, "refs"))).toEqual([]);
    expect(existsSync(unpacking!)).toBe(true);
    await minicOk(["gc", "--store", store]);
    expect(tmpEntries(store)).toEqual([]);
    // The next load and run work as if the killed one had never been.
    await minicOk(["load", join(fx.root, "big.tar"), "--store", store]);
    const r = await minic(["run", "--store", store, "big:1", "--", "cat", "/data/marker"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe(MARK.trim());
    rmSync(store, { recursive: true, force: true });
  });
});

describe("the lazy unpack of minic run", () => {
  // Passes before issue 12's change too (the rename race was handled then); it guards the
  // rewritten placeUnpacked and the parallel unpack of an image's layers.
  it("two runs racing to unpack the same layer both succeed, with one copy", async () => {
    // A store whose layer is not unpacked (an older store, a gc'd unpacked dir).
    for (const n of readdirSync(join(fx.store, "unpacked"))) rmSync(join(fx.store, "unpacked", n), { recursive: true, force: true });
    const [a, b] = await Promise.all([run(["big:1", "--", "cat", "/data/marker"]), run(["big:1", "--", "cat", "/data/marker"])]);
    for (const r of [a, b]) {
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toBe(MARK.trim());
    }
    const dirs = layerDirs(fx.store);
    expect(dirs).toHaveLength(1);
    expect(readdirSync(join(fx.store, "unpacked")).sort()).toEqual([dirs[0]!, `${dirs[0]}.opaque`, `${dirs[0]}.seal`]);
    expect(unpackedProblem(join(fx.store, "unpacked", dirs[0]!))).toBeUndefined();
    expect(tmpEntries(fx.store)).toEqual([]);
    const again = await run(["big:1", "--", "cat", "/data/marker"]);
    expect(again.stderr).toBe("");
  });
});
