// save/load between stores, the shared base stored once, and export as one canonical cpio.bz2.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execa } from "execa";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { minicOk, tempDir, BIN } from "../helpers/cli.js";
import { parseRawCpio } from "../helpers/raw-cpio.js";
import { Store } from "../../src/store/store.js";
import { unpackedLayer } from "../../src/store/layers.js";
import type { Digest } from "../../src/core/digest.js";
import { appLayer, baseLayer, stackImage, storeWithApp } from "./images.js";
import { ociArchive, sha, storeListing, tarBytes } from "./peers.js";

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

describe("names in tarballs", () => {
  it("loads a docker-archive under its RepoTags, whole (localhost/ before a name without a host); the short name finds it", async () => {
    const layer = await tarBytes([{ name: "etc/pm", data: "pm\n" }]);
    const config = JSON.stringify({ architecture: "amd64", os: "linux", config: { Cmd: ["/bin/sh"] }, rootfs: { type: "layers", diff_ids: [sha(layer)] } });
    const tags = ["localhost/pm:1", "pm:extra", "127.0.0.1:15555/qa/pm:1"];
    const tarball = await tarBytes([
      { name: "cfg.json", data: config },
      { name: "l1/layer.tar", data: layer },
      { name: "manifest.json", data: JSON.stringify([{ Config: "cfg.json", RepoTags: tags, Layers: ["l1/layer.tar"] }]) },
    ]);
    const file = join(t.path, "docker-archive.tar");
    writeFileSync(file, tarball);
    const s = join(t.path, "names-docker");
    const r = await minicOk(["load", file, "--store", s]);
    const d = r.stdout.split("\n")[0]!.split(" ")[1]!;
    expect(r.stdout.trim().split("\n")).toEqual([`localhost/pm:1 ${d}`, `localhost/pm:extra ${d}`, `127.0.0.1:15555/qa/pm:1 ${d}`]);
    expect(JSON.parse((await minicOk(["images", "--json", "--store", s])).stdout).map((i: { name: string; tag: string }) => `${i.name}:${i.tag}`))
      .toEqual(["127.0.0.1:15555/qa/pm:1", "localhost/pm:1", "localhost/pm:extra"]);
    expect(JSON.parse((await minicOk(["inspect", "pm:1", "--json", "--store", s])).stdout)).toMatchObject({ ref: "localhost/pm:1", manifest: d });
    expect((await minicOk(["rmi", "pm:extra", "--store", s])).stdout.trim()).toBe("untagged localhost/pm:extra");
  });

  it("loads an OCI layout's ref.name whole, localhost/ before a name without a host", async () => {
    const layer = await tarBytes([{ name: "etc/x", data: "x\n" }]);
    for (const [ref, want] of [["app:1", "localhost/app:1"], ["localhost:5000/qa/app:2", "localhost:5000/qa/app:2"]] as const) {
      const file = join(t.path, `oci-${want.replace(/[/:]/g, "_")}.tar`);
      writeFileSync(file, await ociArchive([layer], { ref }));
      expect((await minicOk(["load", file, "--store", join(t.path, "names-oci")])).stdout).toMatch(new RegExp(`^${want.replace(/[.]/g, "\\.")} sha256:`));
    }
  });

  it("save --format oci names a full reference as it is and a name without a host localhost/NAME", async () => {
    const st = await Store.open(a);
    const full = { name: "127.0.0.1:15555/qa/app", tag: "1" };
    await st.setRef(full, digest as Digest);
    try {
      const tar = join(t.path, "names-oci-save.tar");
      await minicOk(["save", "127.0.0.1:15555/qa/app:1", "app:1", "--format", "oci", "-o", tar, "--store", a]);
      const docker = JSON.parse((await execa("tar", ["-xOf", tar, "manifest.json"])).stdout);
      expect(docker.map((e: { RepoTags: string[] }) => e.RepoTags)).toEqual([["127.0.0.1:15555/qa/app:1"], ["localhost/app:1"]]);
      const index = JSON.parse((await execa("tar", ["-xOf", tar, "index.json"])).stdout);
      expect(index.manifests.map((m: { annotations: Record<string, string> }) => m.annotations["org.opencontainers.image.ref.name"])).toEqual(["127.0.0.1:15555/qa/app:1", "localhost/app:1"]);
    } finally {
      await st.deleteRef(full);
    }
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

  // Issue 12: the one layer was decompressed once just to look for whiteouts before it was copied.
  it("copies a one-layer image's blob without decompressing it (its sealed unpacked form says it has no whiteouts)", async () => {
    const out = join(t.path, "again.cpio.bz2");
    await minicOk(["export", "app:1", "-o", out, "--store", a]);
    await minicOk(["import", out, "-t", "flat1", "--keep-setuid", "--store", a]);
    const r = await minicOk(["export", "flat1", "-o", join(t.path, "flat1.cpio.bz2"), "--store", a], { env: { ...process.env, MINIC_DEBUG: "1" } });
    expect(r.stderr).not.toMatch(/^\+ (lbzip2|pbzip2|bzip2) -d/m);
    const st = await Store.open(a);
    const layer = (await st.getImage("flat1")).manifest.layers[0]!;
    expect(readFileSync(join(t.path, "flat1.cpio.bz2")).equals(readFileSync(join(a, "blobs/sha256", layer.digest.slice(7))))).toBe(true);
    // A one-layer image whose layer has a whiteout is flattened (the deletion applied), not copied.
    const whLayer = await appLayer(st, "x\n");
    await stackImage(st, "wh1:1", [whLayer]);
    await unpackedLayer(st, whLayer); // sealed in place: its 0/0 device says it has a whiteout
    const e = await minicOk(["export", "wh1:1", "-o", join(t.path, "wh1.cpio.bz2"), "--store", a]);
    expect(e.exitCode).toBe(0);
    const names = (await execa("sh", ["-c", `bzip2 -dc '${join(t.path, "wh1.cpio.bz2")}' | cpio -it --quiet`])).stdout.split("\n");
    expect(names.some((n) => n.split("/").pop()!.startsWith(".wh."))).toBe(false);
    st.release();
  });
});
