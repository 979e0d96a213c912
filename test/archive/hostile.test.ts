// Hostile and malformed archives, built in memory: one test per hazard. Each proves that
// nothing outside the target directory changed (a sentinel tree is compared before/after).
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync, chmodSync } from "node:fs";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { readCpio } from "../../src/archive/cpio-reader.js";
import { tarStream } from "../../src/share/layer-to-tar.js";
import { unpackMembers, type UnpackOptions, type WhiteoutMode } from "../../src/archive/unpack.js";
import { planArchive } from "../../src/archive/cpio-canonical.js";
import { rawArchive, chunked, S, type RawMember } from "../helpers/raw-cpio.js";
import { snapshotText } from "../helpers/tree-snapshot.js";
import { tempDir } from "../helpers/cli.js";

const SAFE: UnpackOptions = { whiteouts: "overlay", devices: false, setuid: false, owners: true };

let t: { path: string; remove(): void };
let dest: string;
let sentinel: string;
let before: string;

beforeEach(() => {
  t = tempDir("minic-hostile-");
  dest = join(t.path, "dest");
  sentinel = join(t.path, "sentinel");
  mkdirSync(dest);
  mkdirSync(join(sentinel, "sub"), { recursive: true });
  writeFileSync(join(sentinel, "secret"), "do not touch\n");
  writeFileSync(join(sentinel, "f"), "host file\n");
  chmodSync(join(sentinel, "secret"), 0o600);
  chmodSync(sentinel, 0o750);
  before = snapshotText(t.path, { mtimes: true, exclude: (r) => r === "dest" || r.startsWith("dest/") });
});

afterEach(() => {
  // The sentinel and everything else beside dest must be exactly as before.
  const after = snapshotText(t.path, { mtimes: true, exclude: (r) => r === "dest" || r.startsWith("dest/") });
  t.remove();
  expect(after).toBe(before);
});

async function unpack(members: RawMember[], opts: Partial<UnpackOptions> = {}, trailer = true): Promise<void> {
  await unpackMembers(readCpio(chunked(rawArchive(members, trailer))), dest, { ...SAFE, ...opts });
}

const dir = (name: string, mode = 0o755): RawMember => ({ name, mode: S.dir | mode });
const file = (name: string, data = "x", extra: Partial<RawMember> = {}): RawMember => ({ name, mode: S.file | 0o644, data, ...extra });
const link = (name: string, target: string): RawMember => ({ name, mode: S.symlink | 0o777, data: target });

describe("names that climb out", () => {
  it("refuses ../ names before writing anything", async () => {
    await expect(unpack([file("../sentinel/pwned")])).rejects.toMatchObject({ code: "EARCHIVE" });
    await expect(unpack([file("a/../../sentinel/pwned")])).rejects.toMatchObject({ code: "EARCHIVE" });
    await expect(unpack([dir("ok"), file("ok/../../sentinel/secret", "evil")])).rejects.toMatchObject({ code: "EARCHIVE" });
    expect(existsSync(join(sentinel, "pwned"))).toBe(false);
  });

  it("makes absolute names relative to the target", async () => {
    const abs = join(sentinel, "pwned");
    await unpack([file(abs, "inside")]);
    expect(existsSync(abs)).toBe(false);
    expect(readFileSync(join(dest, abs.slice(1)), "utf8")).toBe("inside");
  });

  it("refuses a name with a NUL byte", async () => {
    await expect(unpack([file("a\0/../../x")])).rejects.toMatchObject({ code: "EARCHIVE" });
  });
});

describe("symlinks written by the archive are never followed", () => {
  it("refuses evil -> host dir, then evil/file", async () => {
    await expect(unpack([link("evil", sentinel), file("evil/secret", "pwned")])).rejects.toMatchObject({ code: "EARCHIVE" });
    expect(readlinkSync(join(dest, "evil"))).toBe(sentinel);
  });

  it("refuses a relative escape: up -> ../sentinel, then up/f", async () => {
    await expect(unpack([link("up", "../sentinel"), file("up/f", "pwned")])).rejects.toMatchObject({ code: "EARCHIVE" });
  });

  it("refuses a file member written over a symlink's target (it replaces the link instead)", async () => {
    await unpack([link("s", join(sentinel, "f")), file("s", "new")]);
    expect(lstatSync(join(dest, "s")).isFile()).toBe(true);
  });

  it("does not chmod/chown/utime a directory replaced by a symlink later in the archive", async () => {
    // d/ (mode 0777), then d -> sentinel: the deferred directory metadata must not follow d.
    await unpack([dir("d", 0o777), { ...link("d", sentinel), mtime: 1 }]);
    expect(readlinkSync(join(dest, "d"))).toBe(sentinel);
  });

  it("does not apply metadata through a parent replaced by a symlink", async () => {
    // a/sub/ (0777, uid 4242), then a -> sentinel's parent: a/sub would now be sentinel/sub.
    await unpack([dir("a"), { ...dir("a/sentinel", 0o777), uid: 4242, mtime: 5 }, link("a", t.path)]);
  });

  it("refuses a hard link to a file whose directory became a symlink (would link a host file in)", async () => {
    const m: RawMember[] = [
      dir("d"),
      file("d/f", "mine", { ino: 9, nlink: 2 }),
      link("d", sentinel),
      file("x", "", { ino: 9, nlink: 2 }),
    ];
    await expect(unpack(m)).rejects.toMatchObject({ code: "EARCHIVE" });
    expect(existsSync(join(dest, "x"))).toBe(false);
  });

  it("refuses a deferred hard link whose directory became a symlink (would unlink a host file)", async () => {
    // GNU order: names without data first; data-less group created at the end.
    const m: RawMember[] = [dir("d"), file("d/secret", "", { ino: 7, nlink: 2 }), file("e", "", { ino: 7, nlink: 2 }), link("d", sentinel)];
    await expect(unpack(m)).rejects.toMatchObject({ code: "EARCHIVE" });
  });

  it("refuses hard-linking through a symlink with the data member last", async () => {
    const m: RawMember[] = [dir("d"), file("d/f", "", { ino: 3, nlink: 2 }), link("d", sentinel), file("z", "data", { ino: 3, nlink: 2 })];
    await expect(unpack(m)).rejects.toMatchObject({ code: "EARCHIVE" });
  });

  it("a hard-linked pair in GNU order (data on the last name) unpacks as one inode", async () => {
    await unpack([file("a", "", { ino: 5, nlink: 2 }), file("b", "data", { ino: 5, nlink: 2 })]);
    expect(readFileSync(join(dest, "a"), "utf8")).toBe("data");
    expect(lstatSync(join(dest, "a")).ino).toBe(lstatSync(join(dest, "b")).ino);
  });
});

describe("whiteouts", () => {
  for (const mode of ["overlay", "keep", "apply"] as WhiteoutMode[]) {
    it(`refuses a bare .wh. (${mode})`, async () => {
      await expect(unpack([dir("d"), file("d/.wh.", "")], { whiteouts: mode })).rejects.toMatchObject({ code: "EARCHIVE" });
      await expect(unpack([file(".wh.", "")], { whiteouts: mode })).rejects.toMatchObject({ code: "EARCHIVE" });
    });
  }

  it("refuses .wh.. and .wh... in overlay and apply modes", async () => {
    await expect(unpack([file(".wh..", "")], { whiteouts: "apply" })).rejects.toMatchObject({ code: "EARCHIVE" });
    await expect(unpack([file(".wh...", "")], { whiteouts: "overlay" })).rejects.toMatchObject({ code: "EARCHIVE" });
  });

  it("apply: a whiteout of a lower-layer symlink removes the link, not its target", async () => {
    symlinkSync(sentinel, join(dest, "x"));
    await unpack([file(".wh.x", "")], { whiteouts: "apply" });
    expect(existsSync(join(dest, "x"))).toBe(false);
  });

  it("apply: an opaque marker under a lower-layer symlink replaces it by a directory", async () => {
    symlinkSync(sentinel, join(dest, "o"));
    await unpack([dir("o"), file("o/.wh..wh..opq", ""), file("o/new", "n")], { whiteouts: "apply" });
    expect(lstatSync(join(dest, "o")).isDirectory()).toBe(true);
  });

  it("overlay: a whiteout becomes a 0/0 char device inside the target", async () => {
    await unpack([dir("d"), file("d/.wh.gone", "")], { whiteouts: "overlay" });
    const st = lstatSync(join(dest, "d/gone"));
    expect(st.isCharacterDevice() && st.rdev === 0).toBe(true);
  });
});

describe("a whiteout and a directory of its name in one layer", () => {
  const members = [dir("-d"), file("-d/f", "f"), file(".wh.-d", ""), file(".wh.e", ""), dir("e"), file("e/new", "n")];

  it("overlay: the directory is opaque (OCI: the whiteout deletes the lower layers' only), whichever came first", async () => {
    const report = await unpackMembers(readCpio(chunked(rawArchive(members))), dest, SAFE);
    expect(report.opaque.sort()).toEqual(["-d", "e"]);
    for (const d of ["-d", "e"]) expect(execFileSync("getfattr", ["--only-values", "-n", "trusted.overlay.opaque", join(dest, d)]).toString(), d).toBe("y");
    expect(readFileSync(join(dest, "-d/f"), "utf8")).toBe("f");
    expect(readFileSync(join(dest, "e/new"), "utf8")).toBe("n");
  });

  it("apply (export): the layer's own -d stays whole and the lower -d's files go, as in overlay form", async () => {
    mkdirSync(join(dest, "-d"));
    writeFileSync(join(dest, "-d/old"), "lower");
    mkdirSync(join(dest, "-i/sub"), { recursive: true });
    writeFileSync(join(dest, "-i/sub/old"), "lower");
    await unpack([dir("-d"), file("-d/f", "f"), file("-i/sub/new", "n"), file(".wh.-d", ""), file(".wh.-i", "")], { whiteouts: "apply" });
    expect(readdirSync(join(dest, "-d"))).toEqual(["f"]);
    expect(readdirSync(join(dest, "-i/sub"))).toEqual(["new"]);
  });

  it("overlay: a whited-out name the layer makes again only as a parent (`.wh.d`, `d/x`, no `d/`) is an opaque directory, not a write through its whiteout", async () => {
    const report = await unpackMembers(readCpio(chunked(rawArchive([file(".wh.d", ""), file("d/x", "x"), file("-p/y", "y"), file(".wh.-p", "")]))), dest, SAFE);
    expect(report.opaque.sort()).toEqual(["-p", "d"]);
    expect(readFileSync(join(dest, "d/x"), "utf8")).toBe("x");
    expect(readFileSync(join(dest, "-p/y"), "utf8")).toBe("y");
  });

  it("as OCI tar: an opaque marker says so (podman showed the lower directory's files through it), the whiteout of the layer's own -d is dropped", async () => {
    const chunks: Buffer[] = [];
    for await (const c of tarStream(readCpio(chunked(rawArchive(members))))) chunks.push(c);
    const tar = Buffer.concat(chunks);
    const names: string[] = [];
    for (let off = 0; tar[off] !== 0; ) {
      names.push(tar.toString("utf8", off, off + 100).replace(/\0.*$/s, ""));
      off += 512 + Math.ceil(parseInt(tar.toString("latin1", off + 124, off + 136), 8) / 512) * 512;
    }
    expect(names).toEqual(["-d/", "-d/f", "-d/.wh..wh..opq", ".wh.e", "e/", "e/.wh..wh..opq", "e/new"]);
    // Directories the layer makes only as parents: the same.
    const implied: string[] = [];
    const c2: Buffer[] = [];
    for await (const c of tarStream(readCpio(chunked(rawArchive([file("-p/y", "y"), file(".wh.-p", ""), file(".wh.d", ""), file("d/x", "x")]))))) c2.push(c);
    const tar2 = Buffer.concat(c2);
    for (let off = 0; tar2[off] !== 0; ) {
      implied.push(tar2.toString("utf8", off, off + 100).replace(/\0.*$/s, ""));
      off += 512 + Math.ceil(parseInt(tar2.toString("latin1", off + 124, off + 136), 8) / 512) * 512;
    }
    expect(implied).toEqual(["-p/y", "-p/.wh..wh..opq", ".wh.d", "d/.wh..wh..opq", "d/x"]);
  });
});

describe("TRAILER!!!", () => {
  it("planArchive refuses a file named TRAILER!!! at the root but not deeper", () => {
    const e = { kind: "file" as const, mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 0 };
    expect(() => planArchive([{ ...e, name: "TRAILER!!!" }], 0)).toThrow(/TRAILER/);
    expect(planArchive([{ ...e, name: "a/TRAILER!!!" }], 0)).toHaveLength(1);
  });

  it("the reader stops at the trailer: members after it are not unpacked", async () => {
    const buf = Buffer.concat([rawArchive([file("a", "1")]), rawArchive([file("after", "2")])]);
    await unpackMembers(readCpio(chunked(buf)), dest, SAFE);
    expect(existsSync(join(dest, "a"))).toBe(true);
    expect(existsSync(join(dest, "after"))).toBe(false);
  });

  it("an archive without a trailer is refused", async () => {
    await expect(unpack([file("a", "1")], {}, false)).rejects.toMatchObject({ code: "EARCHIVE" });
  });
});

describe("device nodes", () => {
  const chr: RawMember = { name: "null", mode: S.chr | 0o666, rdevmajor: 1, rdevminor: 3 };
  const blk: RawMember = { name: "sda", mode: S.blk | 0o660, rdevmajor: 8, rdevminor: 0 };

  it("are refused unless devices are allowed", async () => {
    await expect(unpack([chr])).rejects.toMatchObject({ code: "EARCHIVE" });
    await expect(unpack([blk])).rejects.toMatchObject({ code: "EARCHIVE" });
    expect(existsSync(join(dest, "null"))).toBe(false);
  });

  it("are made when allowed (as root)", async () => {
    await unpack([chr, blk], { devices: true });
    const st = lstatSync(join(dest, "null"));
    expect(st.isCharacterDevice()).toBe(true);
    expect(st.rdev).toBe(lstatSync("/dev/null").rdev);
    expect(lstatSync(join(dest, "sda")).isBlockDevice()).toBe(true);
  });

  it("setuid bits are cleared unless allowed", async () => {
    await unpack([{ ...file("su", "x"), mode: S.file | 0o4755 }]);
    expect(lstatSync(join(dest, "su")).mode & 0o7777).toBe(0o755);
  });
});

describe("malformed streams", () => {
  const good = rawArchive([dir("d"), file("d/big", "y".repeat(1000)), link("d/l", "big")]);

  it("refuses a stream truncated anywhere (header, name, data)", async () => {
    for (const cut of [5, 60, 112, 200, 300, good.length - 600, good.length - 10]) {
      const d = join(t.path, "dest", `cut${cut}`);
      mkdirSync(d);
      await expect(unpackMembers(readCpio(chunked(good.subarray(0, cut), 13)), d, SAFE), `cut at ${cut}`).rejects.toMatchObject({ code: "EARCHIVE" });
    }
  });

  it("refuses wrong magic: odc, binary cpio, tar, garbage", async () => {
    for (const magic of ["070707", "\xc7\x71\x00\x00\x00\x00", "ustar\0", "zzzzzz"]) {
      const buf = rawArchive([{ ...file("a"), magic }]);
      await expect(unpackMembers(readCpio(chunked(buf)), dest, SAFE), JSON.stringify(magic)).rejects.toMatchObject({ code: "EARCHIVE" });
    }
    await expect(unpackMembers(readCpio(chunked(Buffer.alloc(0))), dest, SAFE)).rejects.toMatchObject({ code: "EARCHIVE" });
  });

  it("refuses a non-hex header field, a zero or huge name size, an oversized symlink", async () => {
    const bad = rawArchive([file("a")]);
    bad.write("zzzzzzzz", 6 + 8, "latin1");
    await expect(unpackMembers(readCpio(chunked(bad)), dest, SAFE)).rejects.toMatchObject({ code: "EARCHIVE" });
    const zeroName = rawArchive([file("a")]);
    zeroName.write("00000000", 6 + 11 * 8, "latin1");
    await expect(unpackMembers(readCpio(chunked(zeroName)), dest, SAFE)).rejects.toMatchObject({ code: "EARCHIVE" });
    const hugeName = rawArchive([file("a")]);
    hugeName.write("7fffffff", 6 + 11 * 8, "latin1");
    await expect(unpackMembers(readCpio(chunked(hugeName)), dest, SAFE)).rejects.toMatchObject({ code: "EARCHIVE" });
    await expect(unpack([{ ...link("l", "x".repeat(5000)) }])).rejects.toMatchObject({ code: "EARCHIVE" });
  });

  it("refuses a file whose size field runs past the end", async () => {
    await expect(unpack([file("a", "abc", { filesize: 1 << 20 })], {}, true)).rejects.toMatchObject({ code: "EARCHIVE" });
  });

  it("refuses an unknown file type", async () => {
    await expect(unpack([{ name: "w", mode: 0o160000 | 0o644 }])).rejects.toMatchObject({ code: "EARCHIVE" });
  });
});
