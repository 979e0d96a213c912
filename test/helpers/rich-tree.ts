// A tree with every kind of node a layer must carry: hard links across directories, symlinks
// (absolute, relative, dangling), a fifo, empty directories, long and deep names, UTF-8 names,
// names with spaces and newlines, setuid/setgid/sticky modes, owners other than root, empty
// files and a 5 MB file. Creation order can be reversed (different inodes and listing order).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, lchownSync, linkSync, lutimesSync, mkdirSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";

type Node =
  | { kind: "dir"; name: string; mode: number; uid?: number; gid?: number }
  | { kind: "file"; name: string; mode: number; data: Buffer | string; uid?: number; gid?: number }
  | { kind: "link"; name: string; to: string }
  | { kind: "symlink"; name: string; target: string; uid?: number; gid?: number }
  | { kind: "fifo"; name: string; mode: number };

/** 5 MB of deterministic, incompressible-ish bytes. */
export function bigData(size = 5 * 1024 * 1024): Buffer {
  const out = Buffer.alloc(size);
  let block = createHash("sha256").update("minic").digest();
  for (let off = 0; off < size; off += block.length) {
    block.copy(out, off);
    block = createHash("sha256").update(block).digest();
  }
  return out;
}

const LONG = "l".repeat(200);
const DEEP = Array.from({ length: 11 }, (_, i) => `${i}`.padEnd(95, "d")).join("/");

export function richNodes(big = bigData()): Node[] {
  return [
    { kind: "dir", name: "bin", mode: 0o755 },
    { kind: "file", name: "bin/busybox-ish", mode: 0o755, data: "#!/bin/sh\necho hi\n" },
    { kind: "symlink", name: "bin/sh", target: "/bin/busybox-ish" },
    { kind: "symlink", name: "bin/rel", target: "busybox-ish" },
    { kind: "symlink", name: "bin/dangling", target: "../nowhere/at/all" },
    { kind: "symlink", name: "bin/owned-link", target: "x", uid: 321, gid: 654 },
    { kind: "dir", name: "hl", mode: 0o755 },
    { kind: "dir", name: "hl/sub", mode: 0o700 },
    { kind: "dir", name: "other", mode: 0o755 },
    { kind: "file", name: "hl/a", mode: 0o640, data: "shared by three names\n", uid: 1000, gid: 1000 },
    { kind: "link", name: "hl/sub/b", to: "hl/a" },
    { kind: "link", name: "other/c", to: "hl/a" },
    { kind: "file", name: "hl/empty1", mode: 0o644, data: "" },
    { kind: "link", name: "other/empty2", to: "hl/empty1" },
    { kind: "fifo", name: "other/fifo", mode: 0o620 },
    { kind: "dir", name: "empty", mode: 0o755 },
    { kind: "dir", name: "empty/nested-empty", mode: 0o711 },
    { kind: "dir", name: "tmp", mode: 0o1777 },
    { kind: "dir", name: "setgid-dir", mode: 0o2775, uid: 0, gid: 50 },
    { kind: "file", name: "setgid-dir/suid", mode: 0o4755, data: "suid\n" },
    { kind: "file", name: "setgid-dir/sgid", mode: 0o2711, data: "sgid\n", gid: 50 },
    { kind: "file", name: "setgid-dir/all-bits", mode: 0o7777, data: "all\n" },
    { kind: "file", name: "setgid-dir/none", mode: 0o000, data: "none\n" },
    { kind: "dir", name: "names", mode: 0o755 },
    { kind: "file", name: `names/${LONG}`, mode: 0o644, data: "long\n" },
    { kind: "file", name: "names/with space", mode: 0o644, data: "space\n" },
    { kind: "file", name: "names/new\nline", mode: 0o644, data: "newline\n" },
    { kind: "file", name: "names/ünïcødé-日本語-😀", mode: 0o644, data: "utf8\n" },
    { kind: "file", name: "names/zero", mode: 0o644, data: "" },
    { kind: "file", name: "names/-dash", mode: 0o644, data: "dash\n" },
    { kind: "file", name: "names/TRAILER!!!", mode: 0o644, data: "not the end\n" },
    { kind: "dir", name: "deep", mode: 0o755 },
    ...DEEP.split("/").map((_, i, a) => ({ kind: "dir" as const, name: `deep/${a.slice(0, i + 1).join("/")}`, mode: 0o755 })),
    { kind: "file", name: `deep/${DEEP}/leaf`, mode: 0o644, data: "deep\n" },
    { kind: "file", name: "big", mode: 0o644, data: big, uid: 4242, gid: 4343 },
  ];
}

export interface RichTreeOptions {
  /** Create nodes in reverse order (directories still first). */
  reverse?: boolean;
  /** mtime for every node (seconds). Default 1_000_000_000 + a per-node offset. */
  mtime?: (i: number) => number;
}

/** Creates the rich tree in `dir` (existing, empty). Needs root for owners and modes. */
export function makeRichTree(dir: string, opts: RichTreeOptions = {}, nodes = richNodes()): void {
  const dirs = nodes.filter((n) => n.kind === "dir");
  let rest = nodes.filter((n) => n.kind !== "dir");
  // Hard links must follow their target: keep that order even when reversed.
  if (opts.reverse) rest = [...rest.filter((n) => n.kind !== "link").reverse(), ...rest.filter((n) => n.kind === "link").reverse()];
  for (const n of dirs) mkdirSync(join(dir, n.name));
  for (const n of rest) {
    const p = join(dir, n.name);
    if (n.kind === "file") writeFileSync(p, n.data);
    else if (n.kind === "link") linkSync(join(dir, n.to), p);
    else if (n.kind === "symlink") symlinkSync(n.target, p);
    else if (n.kind === "fifo") execFileSync("mkfifo", [p]);
  }
  const mtime = opts.mtime ?? ((i: number) => 1_000_000_000 + i * 1000);
  // Owners, then modes (chown clears setuid), then times, deepest first so dirs keep theirs.
  nodes.forEach((n, i) => {
    const p = join(dir, n.name);
    if (n.kind === "link") return;
    if ("uid" in n || "gid" in n) lchownSync(p, (n as { uid?: number }).uid ?? 0, (n as { gid?: number }).gid ?? 0);
    if (n.kind !== "symlink") chmodSync(p, n.mode);
    void i;
  });
  [...nodes.keys()].reverse().forEach((i) => {
    const n = nodes[i]!;
    const p = join(dir, n.name);
    if (n.kind === "symlink") lutimesSync(p, mtime(i), mtime(i));
    else utimesSync(p, mtime(i), mtime(i));
  });
}
