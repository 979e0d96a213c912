// Hostile input to import and load: one archive per hazard, built in memory by the test. Each is
// refused (store unchanged, file for file) or neutralised, and nothing is written outside.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execa } from "execa";
import { bzip2Sync } from "./bzip2-sync.js";
import { existsSync, lstatSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { minic, minicOk, tempDir } from "../helpers/cli.js";
import { makeBusyboxTree } from "../helpers/busybox-tree.js";
import { rawArchive, S, type RawMember as CpioMember } from "../helpers/raw-cpio.js";
import { filesTar, remakeMinicLayer, tarFiles } from "../helpers/image-archive.js";
import { Store } from "../../src/store/store.js";
import { LAYER_MEDIA_TYPE } from "../../src/core/image.js";
import type { Digest } from "../../src/core/digest.js";
import { writeOpaqueRecord } from "../../src/store/opaque-record.js";
import { sealUnpacked } from "../../src/store/unpacked-seal.js";
import { stackImage } from "./images.js";
import { filesUnder, ociArchive, sha, storeListing, tarBytes } from "./peers.js";

let t: { path: string; remove(): void };
let store: string;
let outside: string;

beforeAll(async () => {
  t = tempDir("minic-hostile-");
  store = join(t.path, "store");
  outside = join(t.path, "outside");
  mkdirSync(outside);
  const tree = join(t.path, "bb");
  mkdirSync(tree);
  makeBusyboxTree(tree);
  await minicOk(["import", tree, "-t", "bb", "--store", store]);
});
afterAll(() => t.remove());

/** Imports (or loads) `bytes`; expects a refusal matching `why`, the store unchanged, nothing outside. */
async function refused(cmd: "import" | "load", bytes: Buffer, why: RegExp, name = "in.tar", exitCode = 1): Promise<void> {
  const file = join(t.path, name);
  writeFileSync(file, bytes);
  const before = storeListing(store);
  const r = await minic(cmd === "import" ? ["import", file, "-t", "evil", "--store", store] : ["load", file, "--store", store]);
  expect(r.stderr).toMatch(why);
  expect(r.exitCode).toBe(exitCode);
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
  expect(storeListing(store)).toEqual(before);
  expect(filesUnder(outside)).toEqual([]);
}

/** Exports `image` and unpacks it with GNU cpio into a fresh dir; returns the dir. */
async function unpacked(image: string): Promise<string> {
  const dir = join(t.path, `x-${image.replace(/[^a-z0-9]/g, "_")}-${Date.now()}`);
  mkdirSync(dir);
  const out = join(t.path, `${image.replace(/[^a-z0-9]/g, "_")}.cpio.bz2`);
  await minicOk(["export", image, "-o", out, "--store", store]);
  await execa("sh", ["-c", `bzip2 -dc '${out}' | cpio -idm --quiet`], { cwd: dir });
  return dir;
}

describe("hostile archives", () => {
  it("refuses a ../ member name", async () => {
    await refused("import", await tarBytes([{ name: "../outside/pwned", data: "x" }]), /climbs out/);
  });

  it("makes an absolute member name relative (written inside the image, never at that path)", async () => {
    const abs = join(outside, "abs");
    const file = join(t.path, "abs.tar");
    writeFileSync(file, await tarBytes([{ name: abs, data: "x" }]));
    await minicOk(["import", file, "-t", "abs", "--store", store]);
    expect(filesUnder(outside)).toEqual([]);
    const dir = await unpacked("abs");
    expect(readFileSync(join(dir, abs.slice(1)), "utf8")).toBe("x");
  });

  it("refuses a file written through a symlink of the same archive", async () => {
    await refused("import", await tarBytes([{ name: "evil", type: "symlink", linkname: outside }, { name: "evil/pwned", data: "x" }]), /symlink/);
    await refused("import", await tarBytes([{ name: "evil", type: "symlink", linkname: "../../.." }, { name: "evil/tmp/pwned", data: "x" }]), /symlink/);
  });

  it("never follows a symlink planted by one layer when the next writes below it", async () => {
    const l1 = await tarBytes([{ name: "evil", type: "symlink", linkname: outside }]);
    const l2 = await tarBytes([{ name: "evil/pwned", data: "x" }]);
    const file = join(t.path, "planted.tar");
    writeFileSync(file, await ociArchive([l1, l2], { ref: "localhost/planted:1" }));
    await minicOk(["load", file, "--store", store]);
    const dir = await unpacked("planted:1");
    expect(filesUnder(outside)).toEqual([]);
    expect(lstatSync(join(dir, "evil")).isDirectory()).toBe(true);
    expect(readFileSync(join(dir, "evil/pwned"), "utf8")).toBe("x");
  });

  it("refuses hard links to files outside the archive", async () => {
    await refused("import", await tarBytes([{ name: "x", type: "link", linkname: "/etc/passwd" }]), /not an earlier file/);
    await refused("import", await tarBytes([{ name: "x", type: "link", linkname: "../../../../etc/shadow" }]), /not an earlier file/);
    await refused("load", await ociArchive([await tarBytes([{ name: "x", type: "link", linkname: "/etc/shadow" }])]), /not an earlier file/);
  });

  it("drops device nodes from imports and converted layers unless asked", async () => {
    const dev = await tarBytes([{ name: "dev", type: "directory" }, { name: "dev/sda", type: "block-device", devmajor: 8, devminor: 0 }, { name: "dev/ok", data: "y" }]);
    const file = join(t.path, "dev.tar");
    writeFileSync(file, dev);
    const r = await minicOk(["import", file, "-t", "dev", "--store", store]);
    expect(r.stderr).toMatch(/dropped 1 device node/);
    const dir = await unpacked("dev");
    expect(existsSync(join(dir, "dev/sda"))).toBe(false);
    expect(existsSync(join(dir, "dev/ok"))).toBe(true);
    const oci = join(t.path, "dev-oci.tar");
    writeFileSync(oci, await ociArchive([dev], { ref: "localhost/devoci:1" }));
    expect((await minicOk(["load", oci, "--store", store])).stderr).toMatch(/dropped 1 device node/);
  });

  it("refuses a minic tarball whose layer holds a device node unless --keep-devices", async () => {
    const src = join(t.path, "devsrc");
    const file = join(t.path, "dev-in.tar");
    writeFileSync(file, await tarBytes([{ name: "null", type: "character-device", devmajor: 1, devminor: 3 }]));
    await minicOk(["import", file, "-t", "withdev", "--keep-devices", "--store", src]);
    const saved = join(t.path, "withdev.tar");
    await minicOk(["save", "withdev", "-o", saved, "--store", src]);
    await refused("load", readFileSync(saved), /device nodes are not accepted/, "withdev2.tar");
    await minicOk(["load", saved, "--keep-devices", "--store", store]);
  });

  it("clears setuid/setgid from untrusted imports unless --keep-setuid", async () => {
    const file = join(t.path, "suid.tar");
    writeFileSync(file, await tarBytes([{ name: "su", data: "#!/bin/sh\n", mode: 0o4755 }, { name: "sg", data: "x", mode: 0o2755 }]));
    const r = await minicOk(["import", file, "-t", "suid", "--store", store]);
    expect(r.stderr).toMatch(/cleared setuid\/setgid on 2 file/);
    let dir = await unpacked("suid");
    expect(lstatSync(join(dir, "su")).mode & 0o7777).toBe(0o755);
    expect(lstatSync(join(dir, "sg")).mode & 0o7777).toBe(0o755);
    await minicOk(["import", file, "-t", "suid2", "--keep-setuid", "--store", store]);
    dir = await unpacked("suid2");
    expect(lstatSync(join(dir, "su")).mode & 0o7777).toBe(0o4755);
  });

  it("refuses a layer whose descriptor size is wrong although its digest is right (the size MUST match)", async () => {
    const layer = await tarBytes([{ name: "etc/os", data: "x" }]);
    await refused("load", await ociArchive([layer], { sizeSkew: 7 }), /^minic: blob sha256:[0-9a-f]{12}… has \d+ bytes, not the \d+ its descriptor says/);
    await refused("load", await ociArchive([layer], { sizeSkew: -1 }), /its descriptor says/);
    // The index's descriptor of the manifest too.
    await refused("load", await ociArchive([layer], { manifestSizeSkew: 3 }), /^minic: blob sha256:[0-9a-f]{12}… has \d+ bytes, not the \d+ its descriptor says/);
  });

  it("an image name the tarball gives that is not a name is quoted, control characters shown as \\xHH, exit 2", async () => {
    const layer = await tarBytes([{ name: "etc/os", data: "x" }]);
    await refused("load", await ociArchive([layer], { ref: "Bad Name:1" }), /^minic: the tarball names its image 'Bad Name:1', which is not a usable image name \(hint: give it one with -t NAME\[:TAG\]/, "in.tar", 2);
    // An escape sequence in it never reaches the terminal as one.
    await refused("load", await ociArchive([layer], { ref: "x\x1b[2J\ry:1" }), /^minic: the tarball names its image 'x\\x1b\[2J\\x0dy:1'/, "in.tar", 2);
  });

  it("refuses a tar member whose size is a negative base-256 number, as GNU tar, bsdtar and Go do (it was taken as an empty file)", async () => {
    const tar = Buffer.from(await tarBytes([{ name: "etc/neg", data: "" }, { name: "etc/ok", data: "ok" }]));
    tar.fill(0xff, 124, 136);
    tar.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of tar.subarray(0, 512)) sum += b;
    tar.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8, "latin1");
    await refused("import", tar, /^minic: a tar header gives a negative size \(base-256\)/, "neg.tar");
    await refused("load", await ociArchive([tar]), /a tar header gives a negative size/, "negoci.tar");
    // A lead byte GNU tar does not write (0x80 is its base-256): tar-stream read no size, minic's own scan 2^88.
    tar.fill(0, 124, 136);
    tar[124] = 0x81;
    tar.fill(0x20, 148, 156);
    sum = 0;
    for (const b of tar.subarray(0, 512)) sum += b;
    tar.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8, "latin1");
    await refused("import", tar, /^minic: a tar header gives a size no tar reader agrees on/, "lead81.tar");
  });

  it("refuses a bare .wh. whiteout", async () => {
    await refused("import", await tarBytes([{ name: "etc/.wh.", data: "" }]), /bare/);
    await refused("load", await ociArchive([await tarBytes([{ name: ".wh.", data: "" }])]), /bare/);
  });

  it("refuses a file named TRAILER!!! at the root, and members past a trailer are read as the kernel reads them, never dropped", async () => {
    await refused("import", await tarBytes([{ name: "TRAILER!!!", data: "x" }]), /end marker/);
    const cpio = rawArchive([{ name: "a", mode: S.file | 0o644, data: "a" }, { name: "TRAILER!!!", mode: 0 }, { name: "hidden", mode: S.file | 0o644, data: "h" }]);
    const file = join(t.path, "trailer.cpio.bz2");
    writeFileSync(file, bzip2Sync(cpio));
    await minicOk(["import", file, "-t", "trailer", "--store", store]);
    const dir = await unpacked("trailer");
    expect(existsSync(join(dir, "a"))).toBe(true);
    // A newc archive after the trailer is the next part of a concatenated archive (an initramfs):
    // the image holds what the kernel would unpack, not a tree with members silently missing.
    expect(existsSync(join(dir, "hidden"))).toBe(true);
  });
});

describe("a layer an older minic let in", () => {
  it("is never copied out as it is: export refuses it (also beside an older minic's sealed tree), fsck reports it, nothing is written outside", async () => {
    const old = join(t.path, "old-store");
    await minicOk(["import", join(t.path, "bb"), "-t", "bb", "--store", old]);
    // What load took before its layers' form was checked: a name that a cpio reader writes outside.
    const pwn = join(outside, "pwn");
    const cpio = rawArchive([{ name: pwn, mode: S.file | 0o644, data: "x" }, { name: "etc", mode: S.dir | 0o755, nlink: 2 }]);
    const st = await Store.open(old);
    const blob = await st.putBlob(bzip2Sync(cpio));
    const layer = { mediaType: LAYER_MEDIA_TYPE, digest: blob.digest, size: blob.size, diffId: sha(cpio) as Digest };
    await stackImage(st, "old:1", [layer]);
    // Its tree as an older minic unpacked and sealed it (that seal says nothing of the layer's form).
    const dir = st.layout.unpacked(layer.diffId);
    mkdirSync(join(dir, pwn.slice(1, pwn.lastIndexOf("/"))), { recursive: true });
    writeFileSync(join(dir, pwn.slice(1)), "x");
    mkdirSync(join(dir, "etc"));
    await writeOpaqueRecord(dir, []);
    await sealUnpacked(dir, dir);
    const seal = JSON.parse(readFileSync(`${dir}.seal`, "utf8"));
    delete seal.form;
    writeFileSync(`${dir}.seal`, JSON.stringify(seal));
    st.release();
    const out = join(t.path, "old.cpio.bz2");
    const r = await minic(["export", "old:1", "-o", out, "--store", old]);
    expect([r.exitCode, r.stderr.trim().split("\n").length]).toEqual([1, 1]);
    expect(r.stderr).toMatch(/^minic: layer sha256:[0-9a-f]{12}… is not in minic's layer form at '\/.*\/outside\/pwn': its name is not stored as a relative path/);
    expect(existsSync(out)).toBe(false);
    const f = await minic(["fsck", "--dry-run", "--store", old]);
    expect(f.exitCode).toBe(1);
    // Named once (it read "layer sha256:…: layer sha256:… is not …").
    expect(f.stdout + f.stderr).toMatch(/image old:1: layer sha256:[0-9a-f]{12}… is not in minic's layer form/);
    expect(filesUnder(outside)).toEqual([]);
  });
});

describe("damaged tarballs and blobs", () => {
  let saved: Buffer;
  beforeAll(async () => {
    const src = join(t.path, "src-store");
    const tree = join(t.path, "bb2");
    mkdirSync(tree);
    makeBusyboxTree(tree);
    writeFileSync(join(tree, "etc/marker"), "other image\n");
    await minicOk(["import", tree, "-t", "other", "--store", src]);
    await minicOk(["save", "other", "-o", join(t.path, "other.tar"), "--store", src]);
    saved = readFileSync(join(t.path, "other.tar"));
  });

  it("refuses a tarball that says two things: manifest.json twice (podman takes the first, tar the last), two images under one name (the last would win)", async () => {
    const layer = await tarBytes([{ name: "etc/x", data: "x" }]);
    const config = JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [sha(layer)] } });
    const manifest = (tag: string) => ({ name: "manifest.json", data: JSON.stringify([{ Config: "cfg.json", RepoTags: [tag], Layers: ["l1/layer.tar"] }]) });
    const twice = await tarBytes([{ name: "cfg.json", data: config }, { name: "l1/layer.tar", data: layer }, manifest("localhost/a:1"), manifest("localhost/b:1")]);
    await refused("load", twice, /^minic: the tarball holds manifest\.json twice \(hint: /, "twice-manifest.tar");
    // Two minic images, both named h/same:1 in index.json.
    const bb = join(t.path, "bb-saved.tar");
    await minicOk(["save", "bb", "-o", bb, "--store", store]);
    const files = tarFiles(saved);
    const other = tarFiles(readFileSync(bb));
    for (const [n, b] of other) if (n.startsWith("blobs/")) files.set(n, b);
    const named = (f: Map<string, Buffer>) => JSON.parse(f.get("index.json")!.toString()).manifests.map((d: Record<string, unknown>) => ({ ...d, annotations: { "org.opencontainers.image.ref.name": "h/same:1" } }));
    files.set("index.json", Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [...named(tarFiles(saved)), ...named(other)] })));
    await refused("load", filesTar(files), /^minic: the tarball names two images 'h\/same:1' \(sha256:[0-9a-f]{12}… and sha256:[0-9a-f]{12}…\)/, "same-name.tar");
  });

  it("refuses a truncated tarball", async () => {
    await refused("load", saved.subarray(0, Math.floor(saved.length / 2)), /truncated|Unexpected end/);
  });

  it("refuses a tarball whose layer blob was tampered with", async () => {
    const bad = Buffer.from(saved);
    bad[4096] = bad[4096]! ^ 0xff; // inside the first blob (the layer)
    await refused("load", bad, /does not match its digest/);
  });

  it("refuses a minic layer that readers would unpack differently (a name twice, a file on a directory's inode, a link count that lies), digests all matching", async () => {
    const os = (ms: CpioMember[]) => ms.findIndex((m) => m.name === "etc/os-release");
    // GNU cpio keeps the first etc/os-release, bsdtar and the kernel the last.
    const twice = remakeMinicLayer(saved, (ms) => ms.toSpliced(os(ms) + 1, 0, { ...ms[os(ms)]!, data: "ID=other\n" }));
    await refused("load", twice, /^minic: layer sha256:[0-9a-f]{12}… is not in minic's layer form at 'etc\/os-release': the layer names it twice \(hint: .*minic import DIR/, "twice.tar");
    const etc = (ms: CpioMember[]) => ms.find((m) => m.name === "etc")!.ino;
    await refused("load", remakeMinicLayer(saved, (ms) => ms.map((m) => (m.name === "etc/os-release" ? { ...m, ino: etc(ms) } : m))), /at 'etc\/os-release': its inode \d+ is that of an earlier member, and only files share one/, "ino.tar");
    await refused("load", remakeMinicLayer(saved, (ms) => ms.map((m) => (m.name === "etc/os-release" ? { ...m, nlink: 2, data: "" } : m))), /at 'etc\/os-release': its link count says 1 more name/, "nlink.tar");
    // A socket: the unpacked tree had none, export copied it out, save as OCI dropped it.
    await refused("load", remakeMinicLayer(saved, (ms) => ms.map((m) => (m.name === "etc/os-release" ? { ...m, mode: 0o140644, data: "" } : m))), /at 'etc\/os-release': it is a socket/, "socket.tar");
  });

  it("refuses an OCI archive whose layer does not match its digest or diff_id", async () => {
    const layer = await tarBytes([{ name: "etc/x", data: "x" }]);
    await refused("load", await ociArchive([layer], { tamper: (d, b) => (b[0] === 0x1f ? Buffer.concat([b, Buffer.from("junk")]) : b) }), /does not match its digest/);
  });

  it("refuses a docker-archive whose layer does not match the config's diff_id", async () => {
    const layer = await tarBytes([{ name: "etc/x", data: "x" }]);
    const other = await tarBytes([{ name: "etc/x", data: "y" }]);
    const config = JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [sha(layer)] } });
    const tarball = await tarBytes([
      { name: "cfg.json", data: config },
      { name: "l1/layer.tar", data: other },
      { name: "manifest.json", data: JSON.stringify([{ Config: "cfg.json", RepoTags: ["localhost/d:1"], Layers: ["l1/layer.tar"] }]) },
    ]);
    await refused("load", tarball, /diff id/);
  });
});
