// Round trip and compatibility: a rich tree packed by minic unpacks to the same tree with GNU
// cpio, busybox cpio and minic's own unpacker (compared with a full metadata listing), and both
// cpio tools list every member.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execa } from "execa";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { walkTree } from "../../src/archive/walk-tree.js";
import { putLayer, layerMembers } from "../../src/store/layers.js";
import { unpackMembers } from "../../src/archive/unpack.js";
import { Store } from "../../src/store/store.js";
import type { LayerDescriptor } from "../../src/core/image.js";
import { makeRichTree } from "../helpers/rich-tree.js";
import { snapshotText } from "../helpers/tree-snapshot.js";
import { tempDir } from "../helpers/cli.js";

const EPOCH = 1_600_000_000; // every mtime of the rich tree is older, so all are kept

let t: { path: string; remove(): void };
let src: string;
let store: Store;
let layer: LayerDescriptor;
let blob: string;
let names: string[];

beforeAll(async () => {
  t = tempDir("minic-roundtrip-");
  src = join(t.path, "src");
  mkdirSync(src);
  makeRichTree(src);
  store = await Store.open(join(t.path, "store"));
  const tree = await walkTree(src);
  names = tree.map((x) => x.entry.name).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  layer = await putLayer(store, tree.map((x) => ({ entry: x.entry, data: x.hostPath })), EPOCH);
  blob = store.layout.blob(layer.digest);
});
afterAll(() => t.remove());

const expected = () => snapshotText(src, { mtimes: true });

async function shell(script: string, cwd: string, env: Record<string, string> = {}) {
  return execa("sh", ["-c", script], { cwd, env: { ...process.env, BLOB: blob, ...env }, encoding: "utf8", reject: false, stdin: "ignore", stripFinalNewline: false });
}

describe("a rich tree survives a round trip", () => {
  it("GNU cpio -idm reproduces it exactly", async () => {
    const d = join(t.path, "gnu");
    mkdirSync(d);
    const r = await shell('bzip2 -dc "$BLOB" | cpio -idm', d);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr.trim()).toMatch(/^\d+ blocks$/); // no warnings: GNU cpio reads the layer as valid
    expect(snapshotText(d, { mtimes: true })).toBe(expected());
  });

  it("busybox cpio -idm reproduces it exactly", async () => {
    const d = join(t.path, "busybox");
    mkdirSync(d);
    const r = await shell('bzip2 -dc "$BLOB" | busybox cpio -idm', d);
    expect(r.exitCode, r.stderr).toBe(0);
    // busybox cpio does not lchown symlinks (a busybox limitation; GNU cpio and minic do).
    const noLinkOwners = (s: string) => s.replace(/ symlink \d+:\d+ /g, " symlink ");
    expect(noLinkOwners(snapshotText(d, { mtimes: true }))).toBe(noLinkOwners(expected()));
  });

  it("minic's own unpacker reproduces it exactly (from the store, both digests verified)", async () => {
    const d = join(t.path, "minic");
    mkdirSync(d);
    await unpackMembers(layerMembers(store, layer), d, { whiteouts: "keep", devices: false, setuid: true, owners: true });
    expect(snapshotText(d, { mtimes: true })).toBe(expected());
  });

  it("GNU cpio -t lists every member, in canonical order, without complaint", async () => {
    const r = await shell('bzip2 -dc "$BLOB" | cpio -t', t.path);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe(names.map((n) => n + "\n").join(""));
  });

  it("busybox cpio -t lists every member but the data-less names of hard links", async () => {
    // busybox defers hard-linked members without data and, in list mode, never prints them
    // (it does so for GNU cpio's own archives too); it extracts them fine (test above).
    const r = await shell('bzip2 -dc "$BLOB" | busybox cpio -t', t.path);
    expect(r.exitCode, r.stderr).toBe(0);
    const dataless = new Set(["hl/a", "hl/sub/b", "hl/empty1", "other/empty2"]);
    expect(r.stdout).toBe(names.filter((n) => !dataless.has(n)).map((n) => n + "\n").join(""));
  });

  it("GNU cpio -tv shows owners, modes and link counts as packed", async () => {
    const r = await shell('bzip2 -dc "$BLOB" | cpio -tv --numeric-uid-gid 2>/dev/null', t.path);
    const line = (n: string) => r.stdout.split("\n").find((l) => l.endsWith(` ${n}`) || l.includes(` ${n} -> `))!;
    expect(line("big")).toMatch(/^-rw-r--r-- +1 4242 +4343 +5242880 /);
    expect(line("hl/a")).toMatch(/^-rw-r----- +3 1000 +1000 /);
    expect(line("setgid-dir/suid")).toMatch(/^-rwsr-xr-x /);
    expect(line("tmp")).toMatch(/^drwxrwxrwt /);
    expect(line("bin/sh")).toMatch(/^lrwxrwxrwx .* bin\/sh -> \/bin\/busybox-ish$/);
    expect(line("other/fifo")).toMatch(/^prw--w---- /);
  });
});
