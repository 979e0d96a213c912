// The form check of layers from outside (load, pull): every layer minic writes passes it, and a
// cpio that different readers would unpack differently is refused at its first wrong member.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { checkedMembers } from "../../src/archive/canonical-check.js";
import { planArchive } from "../../src/archive/cpio-canonical.js";
import { writeCpio } from "../../src/archive/cpio-writer.js";
import { walkTree } from "../../src/archive/walk-tree.js";
import { tempDir } from "../helpers/cli.js";
import { makeRichTree, richNodes, bigData } from "../helpers/rich-tree.js";
import { chunked, parseRawCpio, rawArchive, S, type RawMember } from "../helpers/raw-cpio.js";

let t: { path: string; remove(): void };
let packed: Buffer;

beforeAll(async () => {
  t = tempDir("minic-form-");
  const root = join(t.path, "tree");
  mkdirSync(root);
  makeRichTree(root, {}, richNodes(bigData()));
  const tree = await walkTree(root);
  const src = new Map(tree.map((x) => [x.entry, x.hostPath]));
  // One member with an xattr, so that the layer starts with its xattr table (inode 1).
  const entries = tree.map((x) => (x.entry.name === "bin/busybox-ish" ? { ...x.entry, xattrs: [{ name: "user.k", value: Buffer.from("v") }] } : x.entry));
  const byName = new Map(tree.map((x) => [x.entry.name, x.hostPath]));
  const chunks: Buffer[] = [];
  for await (const c of writeCpio(planArchive(entries, 2_000_000_000), (m) => src.get(m.entry) ?? byName.get(m.entry.name))) chunks.push(c);
  packed = Buffer.concat(chunks);
});
afterAll(() => t.remove());

async function check(cpio: Buffer): Promise<void> {
  for await (const m of checkedMembers(chunked(cpio, 4096), "sha256:test…", "outside")) for await (const _ of m.data);
}

const D = S.dir | 0o755, F = S.file | 0o644;

describe("layer form", () => {
  it("takes what minic writes: hard links across directories, symlinks, fifos, empty and deep directories, an xattr table", async () => {
    const kinds = new Set(parseRawCpio(packed).members.map((m) => m.mode & 0o170000));
    expect(kinds).toEqual(new Set([0, S.dir, S.file, S.symlink, S.fifo]));
    expect(parseRawCpio(packed).members.some((m) => m.nlink === 3 && (m.mode & 0o170000) === S.file)).toBe(true);
    await check(packed);
  });

  it("minic writes one mode, owner, time and set of xattrs per inode (a tar's link members may say otherwise), xattrs only on files and directories, and no socket", async () => {
    const e = { kind: "file" as const, uid: 0, gid: 0, size: 1 };
    const planned = planArchive([
      { ...e, name: "a", mode: 0o755, mtime: 5, linkKey: "k", xattrs: [{ name: "user.k", value: Buffer.from("1") }] },
      { ...e, name: "b", mode: 0o600, mtime: 9, uid: 7, linkKey: "k" },
      { name: "l", kind: "symlink", mode: 0o777, uid: 0, gid: 0, mtime: 0, size: 0, linkname: "a", xattrs: [{ name: "user.k", value: Buffer.from("1") }] },
    ], 2_000_000_000);
    const [, a, b] = planned.map((p) => p.header);
    expect([b!.mode, b!.uid, b!.mtime]).toEqual([a!.mode, a!.uid, a!.mtime]);
    const chunks: Buffer[] = [];
    for await (const c of writeCpio(planned, (m) => (m.entry.kind === "file" ? Buffer.from("x") : undefined))) chunks.push(c);
    await check(Buffer.concat(chunks));
    expect(() => planArchive([{ name: "s", kind: "socket", mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0 }], 0)).toThrow(/'s' is a socket, which a layer cannot carry/);
  });

  it("takes the trailer's padding to 512 and nothing else after it (some readers read on, the kernel a next archive)", async () => {
    const bare = rawArchive([{ name: "a", mode: F, data: "x" }]);
    const pad = (512 - (bare.length % 512)) % 512;
    await check(Buffer.concat([bare, Buffer.alloc(pad)]));
    await expect(check(bare)).rejects.toThrow(`the layer has 0 byte(s) after its cpio trailer, where minic writes ${pad} zero bytes of padding`);
    await expect(check(Buffer.concat([bare, Buffer.alloc(pad + 512)]))).rejects.toThrow(/has \d+ byte\(s\) after its cpio trailer, where/);
    const next = Buffer.concat([bare, Buffer.alloc(pad)]);
    next[next.length - 1] = 1;
    await expect(check(next)).rejects.toThrow(/after its cpio trailer, not all zero/);
    await expect(check(Buffer.concat([bare, Buffer.alloc(pad), bare]))).rejects.toThrow(/after its cpio trailer, not all zero/);
  });

  it.each<[string, RawMember[], RegExp]>([
    ["a name twice (GNU cpio keeps the first, bsdtar the last)", [{ name: "a", mode: F, data: "x" }, { name: "a", mode: F, data: "y", ino: 1 }], /at 'a': the layer names it twice/],
    ["a directory and then a file of one name", [{ name: "a", mode: D, nlink: 2 }, { name: "a", mode: F, data: "y" }], /at 'a': the layer names it twice/],
    ["names out of order", [{ name: "b", mode: F, data: "x" }, { name: "a", mode: F, data: "x" }], /at 'a': it comes after 'b'/],
    ["a name not stored as it is read", [{ name: "./a", mode: F, data: "x" }], /at '\.\/a': its name is not stored as a relative path/],
    ["a file sharing a directory's inode", [{ name: "d", mode: D, nlink: 2, ino: 1 }, { name: "f", mode: F, data: "y", ino: 1, nlink: 2 }], /at 'f': its inode 1 is that of an earlier member, and only files share one/],
    ["an inode number skipped", [{ name: "a", mode: F, data: "x", ino: 1 }, { name: "b", mode: F, data: "x", ino: 5 }], /at 'b': its inode 5 is not the next one \(2\)/],
    ["a link count no other name makes true", [{ name: "a", mode: F, data: "", nlink: 2 }], /at 'a': its link count says 1 more name\(s\) than the layer has/],
    ["a single name with a link count of 3", [{ name: "a", mode: F, data: "x", nlink: 3 }], /at 'a': it has 3 names and carries data/],
    ["data on the first of two hard links", [{ name: "a", mode: F, data: "xyz", ino: 1, nlink: 2 }, { name: "b", mode: F, data: "", ino: 1, nlink: 2 }], /at 'a': it has 2 names and carries data/],
    ["hard links with different modes", [{ name: "a", mode: F, data: "", ino: 1, nlink: 2 }, { name: "b", mode: S.file | 0o755, data: "x", ino: 1, nlink: 2 }], /at 'b': it is a hard link to 'a' with another mode, owner or time/],
    ["a third name for a pair", [{ name: "a", mode: F, data: "", ino: 1, nlink: 2 }, { name: "b", mode: F, data: "x", ino: 1, nlink: 2 }, { name: "c", mode: F, data: "x", ino: 1, nlink: 2 }], /at 'c': its inode 1 is that of 'a', whose link count names no more files/],
    ["a directory's link count that is not 2 + its subdirectories", [{ name: "d", mode: D, nlink: 2 }, { name: "d/e", mode: D, nlink: 2 }], /at 'd': it is a directory with link count 2, not 3/],
    ["data on a directory", [{ name: "d", mode: D, nlink: 2, data: "x" }], /at 'd': it is a dir with 1 bytes of data/],
    ["a first inode that is not 1", [{ name: "a", mode: F, data: "x", ino: 7 }], /its first inode is 7, not 1/],
    ["a socket", [{ name: "s", mode: 0o140755 }], /at 's': it is a socket, which no layer carries/],
    ["a whiteout with data", [{ name: ".wh.a", mode: F, data: "x" }], /at '\.wh\.a': it is a whiteout, and a whiteout is an empty file/],
  ])("refuses %s", async (_what, members, why) => {
    const bare = rawArchive(members);
    const cpio = Buffer.concat([bare, Buffer.alloc((512 - (bare.length % 512)) % 512)]);
    await expect(check(cpio)).rejects.toThrow(why);
    await expect(check(cpio)).rejects.toThrow(/^layer sha256:test… is not in minic's layer form/);
  });
});
