// Canonical and reproducible layers: the same tree gives the same bytes whatever its mtimes
// (newer than SOURCE_DATE_EPOCH), inode numbers, filesystem or directory-listing order; every
// header field is set as planned.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execa } from "execa";
import { execFileSync } from "node:child_process";
import { lstatSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { walkTree } from "../../src/archive/walk-tree.js";
import { planArchive } from "../../src/archive/cpio-canonical.js";
import { writeCpio } from "../../src/archive/cpio-writer.js";
import type { Entry } from "../../src/archive/entry.js";
import { makeRichTree, richNodes, bigData } from "../helpers/rich-tree.js";
import { parseRawCpio, type ParsedHeader } from "../helpers/raw-cpio.js";
import { minicOk, tempDir } from "../helpers/cli.js";

const EPOCH = 1_500_000_000;
const OLD = (i: number) => 1_000_000_000 + i * 1000; // older than EPOCH: kept
const NEWER = (i: number) => (i % 3 === 0 ? OLD(i) : 2_000_000_000 + i); // mostly newer: clamped
const NOW = (i: number) => (i % 3 === 0 ? OLD(i) : Math.floor(Date.now() / 1000) - i);

let t: { path: string; remove(): void };
let tmpfs: string | null = null;
const big = bigData();
const nodes = richNodes(big);

beforeAll(() => {
  t = tempDir("minic-canonical-");
});
afterAll(() => {
  try {
    // A reader still in the tmpfs (a slow test worker) makes umount fail: detach it then, so
    // that no mount of the suite's outlives it (one did, once).
    if (tmpfs) execFileSync("sh", ["-c", 'umount "$1" 2>/dev/null || umount -l "$1"', "_", tmpfs]);
  } finally {
    t.remove();
  }
});

async function pack(root: string, epoch: number): Promise<Buffer> {
  const tree = await walkTree(root);
  const src = new Map(tree.map((x) => [x.entry, x.hostPath]));
  const chunks: Buffer[] = [];
  for await (const c of writeCpio(planArchive(tree.map((x) => x.entry), epoch), (m) => src.get(m.entry))) chunks.push(c);
  return Buffer.concat(chunks);
}

function blobOf(store: string, layerDigest: string): Buffer {
  return execFileSync("bzip2", ["-dc", join(store, "blobs/sha256", layerDigest.slice(7))], { maxBuffer: 64 << 20 });
}

describe("reproducible: same tree, different mtimes / inodes / filesystem / listing order", () => {
  let a: string, b: string;

  beforeAll(() => {
    a = join(t.path, "a");
    mkdirSync(a);
    makeRichTree(a, { mtime: NEWER }, nodes);
    // The copy lives on a tmpfs (other inode numbers, listing in reverse creation order) when
    // we may mount one, and is created in reverse order with other (current) mtimes.
    b = join(t.path, "b");
    mkdirSync(b);
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=64m", "minic-test", b], { stdio: "ignore" });
      tmpfs = b;
    } catch {
      if (process.env.CI) throw new Error("cannot mount a tmpfs for the listing-order test (CI runs as root)");
    }
    makeRichTree(b, { mtime: NOW, reverse: true }, nodes);
  });

  it("the two copies really differ in inodes, mtimes and listing order", () => {
    expect(lstatSync(join(a, "big")).ino).not.toBe(lstatSync(join(b, "big")).ino);
    expect(lstatSync(join(a, "names/zero")).mtimeMs).not.toBe(lstatSync(join(b, "names/zero")).mtimeMs);
    // Node's readdir sorts (libuv scandir), so ask ls -U for the raw getdents order.
    const raw = (d: string) => execFileSync("ls", ["-U1", "--quoting-style=escape", d]).toString();
    if (tmpfs) expect(raw(join(a, "names"))).not.toBe(raw(join(b, "names")));
  });

  it("packs to identical bytes", async () => {
    const x = await pack(a, EPOCH);
    const y = await pack(b, EPOCH);
    expect(x.equals(y)).toBe(true);
  });

  it("minic import into two fresh stores gives the same image, layer digest and diff id", async () => {
    const env = { ...process.env, SOURCE_DATE_EPOCH: String(EPOCH) };
    const ra = await minicOk(["import", a, "-t", "rich", "--store", join(t.path, "s1")], { env });
    const rb = await minicOk(["import", b, "-t", "rich", "--store", join(t.path, "s2")], { env });
    expect(ra.stdout).toMatch(/^rich:latest sha256:[0-9a-f]{64}\n?$/);
    expect(rb.stdout).toBe(ra.stdout);
    const layerA = /layer (sha256:[0-9a-f]{64})/.exec(ra.stderr)![1];
    expect(/layer (sha256:[0-9a-f]{64})/.exec(rb.stderr)![1]).toBe(layerA);
    const blobsA = readdirSync(join(t.path, "s1/blobs/sha256")).sort();
    expect(readdirSync(join(t.path, "s2/blobs/sha256")).sort()).toEqual(blobsA);
    for (const h of blobsA) expect(readFileSync(join(t.path, "s1/blobs/sha256", h)).equals(readFileSync(join(t.path, "s2/blobs/sha256", h)))).toBe(true);
  });

  it("SOURCE_DATE_EPOCH clamps newer mtimes and keeps older ones; unset means 0", async () => {
    const members = parseRawCpio(await pack(a, EPOCH)).members.slice(0, -1);
    const byName = new Map(members.map((m) => [m.name, m]));
    nodes.forEach((n, i) => {
      const m = byName.get(n.name)!;
      expect(m, n.name).toBeDefined();
      if (n.kind === "link") return; // shares its target's inode (and mtime)
      expect(m.mtime, n.name).toBe(Math.min(NEWER(i), EPOCH));
    });
    expect(members.some((m) => m.mtime < EPOCH)).toBe(true);
    const env = { ...process.env };
    delete env.SOURCE_DATE_EPOCH;
    const r = await minicOk(["import", a, "-t", "zero", "--store", join(t.path, "s0")], { env });
    const layer = /layer (sha256:[0-9a-f]{64})/.exec(r.stderr)![1]!;
    const store = join(t.path, "s0");
    const blob = readdirSync(join(store, "blobs/sha256")).find((h) => {
      try { return execFileSync("sh", ["-c", `bzip2 -dc ${join(store, "blobs/sha256", h)} | sha256sum`]).toString().startsWith(layer.slice(7)); } catch { return false; }
    })!;
    expect(parseRawCpio(blobOf(store, `sha256:${blob}`)).members.every((m) => m.mtime === 0)).toBe(true);
  });
});

describe("every header field of a canonical archive", () => {
  let members: ParsedHeader[];
  let raw: Buffer;
  let root: string;

  beforeAll(async () => {
    root = join(t.path, "fields");
    mkdirSync(root);
    makeRichTree(root, {}, nodes);
    raw = await pack(root, EPOCH);
    members = parseRawCpio(raw).members;
  });

  it("entries are sorted bytewise and end with the trailer; the archive is padded to 512", () => {
    const body = members.slice(0, -1);
    for (let i = 1; i < body.length; i++) expect(Buffer.compare(body[i - 1]!.nameBytes, body[i]!.nameBytes), body[i]!.name).toBe(-1);
    expect(members.at(-1)).toMatchObject({ name: "TRAILER!!!", ino: 0, mode: 0, nlink: 1, filesize: 0, mtime: 0 });
    expect(raw.length % 512).toBe(0);
    expect(raw.subarray(parseRawCpio(raw).end).every((b) => b === 0)).toBe(true);
  });

  it("magic 070701, check 0, devmajor/devminor 0, rdev 0 for non-devices, no leading ./ or /", () => {
    for (const m of members) {
      expect(m.magic).toBe("070701");
      expect(m.check).toBe(0);
      expect([m.devmajor, m.devminor, m.rdevmajor, m.rdevminor]).toEqual([0, 0, 0, 0]);
      expect(m.name.startsWith("/") || m.name.startsWith("./")).toBe(false);
      expect(m.namesize).toBe(m.nameBytes.length + 1);
    }
  });

  it("inodes are renumbered from 1 in sorted order; hard links share one", () => {
    const body = members.slice(0, -1);
    const hostIno = new Map(body.map((m) => [m.name, lstatSync(join(root, m.name)).ino]));
    let next = 1;
    const seen = new Map<number, number>();
    for (const m of body) {
      const h = hostIno.get(m.name)!;
      const linked = (m.mode & 0o170000) === 0o100000 && lstatSync(join(root, m.name)).nlink > 1;
      if (linked && seen.has(h)) {
        expect(m.ino, m.name).toBe(seen.get(h));
      } else {
        expect(m.ino, m.name).toBe(next++);
        seen.set(h, m.ino);
      }
    }
  });

  it("nlink is right for files, hard links and directories; data sits on the last name only", () => {
    const body = members.slice(0, -1);
    for (const m of body) {
      const st = lstatSync(join(root, m.name));
      if (st.isDirectory()) {
        expect(m.nlink, m.name).toBe(st.nlink); // 2 + subdirectories, as the host counts
      } else if (st.isFile()) {
        expect(m.nlink, m.name).toBe(st.nlink);
      } else {
        expect(m.nlink, m.name).toBe(1);
      }
    }
    const group = body.filter((m) => ["hl/a", "hl/sub/b", "other/c"].includes(m.name));
    expect(group.map((m) => m.filesize)).toEqual([0, 0, Buffer.byteLength("shared by three names\n")]);
    expect(group[2]!.name).toBe("other/c");
  });

  it("mode, uid, gid, size and symlink targets are kept", () => {
    const byName = new Map(members.map((m) => [m.name, m]));
    expect(byName.get("big")).toMatchObject({ mode: 0o100644, uid: 4242, gid: 4343, filesize: big.length });
    expect(byName.get("big")!.data.equals(big)).toBe(true);
    expect(byName.get("setgid-dir/all-bits")!.mode).toBe(0o107777);
    expect(byName.get("tmp")!.mode).toBe(0o041777);
    expect(byName.get("setgid-dir")).toMatchObject({ mode: 0o042775, gid: 50 });
    expect(byName.get("other/fifo")).toMatchObject({ mode: 0o010620, filesize: 0 });
    expect(byName.get("bin/dangling")).toMatchObject({ mode: 0o120777 });
    expect(byName.get("bin/dangling")!.data.toString()).toBe("../nowhere/at/all");
    expect(byName.get("bin/owned-link")).toMatchObject({ uid: 321, gid: 654 });
  });

  it("device nodes keep rdev and only rdev", async () => {
    const e: Entry = { name: "dev/null", kind: "chardev", mode: 0o666, uid: 0, gid: 0, mtime: 9, size: 0, rdevMajor: 1, rdevMinor: 3 };
    const [m] = planArchive([e], 0);
    expect(m!.header).toMatchObject({ rdevmajor: 1, rdevminor: 3, devmajor: 0, devminor: 0, mtime: 0, nlink: 1, ino: 1 });
  });
});

describe("planArchive is order-independent and strict", () => {
  const base = (name: string, kind: Entry["kind"] = "file", extra: Partial<Entry> = {}): Entry => ({ name, kind, mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 0, ...extra });

  it("any input order gives the same headers", () => {
    const entries = [base("b"), base("a", "dir"), base("a/x", "file", { linkKey: "k", size: 3 }), base("c/y", "file", { linkKey: "k", size: 3 }), base("c", "dir"), base("a/é"), base("a/z", "dir"), base("A")];
    const want = planArchive(entries, 0).map((m) => m.header);
    for (let i = 0; i < 20; i++) {
      const shuffled = [...entries].sort(() => Math.random() - 0.5);
      expect(planArchive(shuffled, 0).map((m) => m.header)).toEqual(want);
    }
    expect(want.map((h) => h.name)).toEqual(["A", "a", "a/x", "a/z", "a/é", "b", "c", "c/y"]);
    expect(want.find((h) => h.name === "a")!.nlink).toBe(3);
  });

  it("refuses duplicate names", () => {
    expect(() => planArchive([base("a"), base("a")], 0)).toThrow(/duplicate/);
  });

  it("a lone member of a link group is a plain file (nlink 1, carries its data)", () => {
    const [m] = planArchive([base("only", "file", { linkKey: "k", size: 5 })], 0);
    expect(m!.header.nlink).toBe(1);
    expect(m!.header.filesize).toBe(5);
  });
});
