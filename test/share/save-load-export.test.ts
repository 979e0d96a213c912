// save/load between stores, the shared base stored once, and export as one canonical cpio.bz2.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execa } from "execa";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { minicOk, tempDir, BIN } from "../helpers/cli.js";
import { parseRawCpio } from "../helpers/raw-cpio.js";
import { Store } from "../../src/store/store.js";
import { appLayer, baseLayer, stackImage, storeWithApp } from "./images.js";
import { storeListing } from "./peers.js";

let t: { path: string; remove(): void };
let a: string;
let digest: string;
beforeAll(async () => {
  t = tempDir("minic-share-");
  a = join(t.path, "a");
  digest = (await storeWithApp(a, t.path)).digest;
});
afterAll(() => t.remove());

const blobs = (root: string) => readdirSync(join(root, "blobs/sha256")).sort();

describe("save and load", () => {
  it("moves an image to another store by file with identical digests", async () => {
    const b = join(t.path, "b");
    const tar = join(t.path, "app.tar");
    await minicOk(["save", "app:1", "-o", tar, "--store", a]);
    const r = await minicOk(["load", tar, "--store", b]);
    expect(r.stdout.trim()).toBe(`app:1 ${digest}`);
    expect(blobs(b)).toEqual(blobs(a));
    expect(readdirSync(join(b, "tmp"))).toEqual([]);
  });

  it("streams through stdout and stdin", async () => {
    const c = join(t.path, "c");
    const r = await execa("sh", ["-c", `node '${BIN}' save app:1 --store '${a}' | node '${BIN}' load - -t piped:2 --store '${c}'`]);
    expect(r.stdout.trim()).toBe(`piped:2 ${digest}`);
  });

  it("is byte-reproducible", async () => {
    await minicOk(["save", "app:1", "-o", join(t.path, "r1.tar"), "--store", a]);
    await minicOk(["save", "app:1", "-o", join(t.path, "r2.tar"), "--store", a]);
    expect(readFileSync(join(t.path, "r1.tar")).equals(readFileSync(join(t.path, "r2.tar")))).toBe(true);
  });

  it("stores a shared base once: ten apps on one busybox base", async () => {
    const src = join(t.path, "ten-src");
    const store = await Store.open(src);
    const base = await baseLayer(store, join(t.path, "ten-work"));
    const names: string[] = [];
    for (let i = 0; i < 10; i++) {
      names.push(`app${i}:1`);
      await stackImage(store, `app${i}:1`, [base, await appLayer(store, `app ${i}\n`)]);
    }
    const dst = join(t.path, "ten-dst");
    for (const n of names) {
      const tar = join(t.path, `${n.replace(":", "_")}.tar`);
      await minicOk(["save", n, "-o", tar, "--store", src]);
      const before = existsSync(join(dst, "blobs/sha256", base.digest.slice(7))) ? statSync(join(dst, "blobs/sha256", base.digest.slice(7))) : null;
      await minicOk(["load", tar, "--store", dst]);
      const after = statSync(join(dst, "blobs/sha256", base.digest.slice(7)));
      if (before) expect(after.ino).toBe(before.ino); // not written again
    }
    // 1 base layer + 10 × (app layer, config, manifest)
    expect(blobs(dst)).toHaveLength(31);
    expect(blobs(dst)).toEqual(blobs(src));
    const listing = storeListing(dst);
    await minicOk(["load", join(t.path, "app0_1.tar"), "--store", dst]);
    expect(storeListing(dst)).toEqual(listing);
  });
});

describe("export", () => {
  it("writes the merged tree as one canonical newc cpio.bz2 that cpio -idm unpacks", async () => {
    const out = join(t.path, "rootfs.cpio.bz2");
    await minicOk(["export", "app:1", "-o", out, "--store", a]);
    const dir = join(t.path, "rootfs");
    mkdirSync(dir);
    await execa("sh", ["-c", `bzip2 -dc '${out}' | cpio -idm --quiet`], { cwd: dir });
    expect(readFileSync(join(dir, "srv/www/index.html"), "utf8")).toBe("hello from minic\n");
    expect(statSync(join(dir, "srv/www/copy.html")).ino).toBe(statSync(join(dir, "srv/www/index.html")).ino);
    expect(existsSync(join(dir, "etc/os-release"))).toBe(false); // deleted by the app layer
    expect(existsSync(join(dir, "etc/passwd"))).toBe(true);
    expect(readdirSync(dir).some((n) => n.startsWith(".wh."))).toBe(false);
  });

  it("is initramfs-shaped: newc, relative names, parents first, no whiteouts, trailer, 512-padded; reproducible", async () => {
    const o1 = join(t.path, "e1.cpio.bz2");
    const o2 = join(t.path, "e2.cpio.bz2");
    await minicOk(["export", "app:1", "-o", o1, "--store", a]);
    await minicOk(["export", "app:1", "-o", o2, "--store", a]);
    expect(readFileSync(o1).equals(readFileSync(o2))).toBe(true);
    const raw = (await execa("bzip2", ["-dc", o1], { encoding: "buffer" })).stdout as unknown as Buffer;
    expect(raw.length % 512).toBe(0);
    const { members } = parseRawCpio(Buffer.from(raw));
    expect(members.at(-1)!.name).toBe("TRAILER!!!");
    const seen = new Set<string>();
    for (const m of members.slice(0, -1)) {
      expect(m.magic).toBe("070701");
      expect(m.name.startsWith("/") || m.name.startsWith("./") || m.name.includes("..")).toBe(false);
      expect(m.name.split("/").pop()!.startsWith(".wh.")).toBe(false);
      const parent = m.name.includes("/") ? m.name.slice(0, m.name.lastIndexOf("/")) : null;
      if (parent) expect(seen.has(parent)).toBe(true);
      seen.add(m.name);
    }
  });

  it("round-trips: the export imports back as a one-layer image", async () => {
    const out = join(t.path, "again.cpio.bz2");
    await minicOk(["export", "app:1", "-o", out, "--store", a]);
    const r = await minicOk(["import", out, "-t", "flat", "--keep-setuid", "--store", a]);
    expect(r.stderr).toMatch(/from a cpio/);
    const flat = join(t.path, "flat.cpio.bz2");
    await minicOk(["export", "flat", "-o", flat, "--store", a]);
    const list = async (f: string) => (await execa("sh", ["-c", `bzip2 -dc '${f}' | cpio -it --quiet`])).stdout;
    expect(await list(flat)).toBe(await list(out));
  });
});
