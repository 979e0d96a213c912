// Extended attributes end to end (issue 10 item 2), for real as root: a tree with a file
// capability (setcap cap_net_raw+ep), user.* xattrs with text and binary values (NUL, 0xff, LF,
// CR, '=', '\'), a name getfattr has to quote, and a hard link to the capable file goes through
// import (a directory, GNU tar --format=posix --xattrs, bsdtar), unpack, run (getcap and getfattr
// inside the container), save/load (minic and OCI), export, build (a copy of host files, a run
// step's setcap; its ACL is left out with a note), push and pull, and the peers read minic's output: GNU tar --xattrs and bsdtar
// extract the OCI layer with the same xattrs, GNU cpio and bsdcpio extract a minic layer without
// error (and `setfattr --restore=.minic-xattrs` gives them the attributes), podman sees the
// capability. Namespaces minic does not carry are dropped with a note; too big is refused.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { copyFileSync, linkSync, lstatSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LAUNCHER, minic, minicOk, tempDir } from "../helpers/cli.js";
import { makeBusyboxTree } from "../helpers/busybox-tree.js";
import { withHostLock } from "../runtime/fixtures.js";
import { findProgram } from "../../src/util/which.js";
import { guardVarLibContainers, peer, podmanEnv, startRegistry, storeListing, type Registry } from "./peers.js";

const root = process.getuid?.() === 0;
const maybe = root ? describe : describe.skip;

const t = tempDir("minic-xattrs-");
const tree = join(t.path, "tree");
const store = join(t.path, "store");
const BIN = Buffer.from([0x00, 0xff, 0x0a, 0x0d, 0x3d, 0x5c, 0x20, 0x00]);
const WEIRD = "etc/we ird=\\name";
const CAP = "usr/bin/capfile";
/** A POSIX ACL (user::rw-, user:1000:r--, group::r--, mask::r--, other::r--) as system.posix_acl_access holds it. */
const ACL = "0x0200000001000600ffffffff02000400e803000004000400ffffffff10000400ffffffff20000400ffffffff";

const sh = (cmd: string, cwd = t.path) => execFileSync("sh", ["-c", cmd], { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

/** Undoes getfattr's \ooo quoting. */
function unquote(s: string): string {
  return Buffer.from(s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))), "latin1").toString("utf8");
}

/** rel path → xattr name → hex value, for every xattr under `dir` (getfattr -e hex), `skip` left out. */
function xattrsOf(dir: string, skip: string[] = []): Record<string, Record<string, string>> {
  const text = sh(`getfattr -R -P -h -d -m - -e hex --absolute-names . 2>/dev/null || true`, dir);
  const out: Record<string, Record<string, string>> = {};
  let cur: Record<string, string> | undefined;
  for (const line of text.split("\n")) {
    if (line.startsWith("# file: ")) {
      const rel = unquote(line.slice(8)).replace(/^\.\//, "");
      cur = skip.includes(rel) ? undefined : (out[rel] = {});
    } else if (cur && line.includes("=")) {
      const eq = line.lastIndexOf("=");
      cur[unquote(line.slice(0, eq))] = line.slice(eq + 1);
    }
  }
  return out;
}

/** What the tree's xattrs must look like wherever it lands. */
let expected: Record<string, Record<string, string>>;

/** Where a store keeps a layer unpacked. */
function unpackedDir(storeDir: string, diffId: string): string {
  return join(storeDir, "unpacked", diffId.replace(/^sha256:/, ""));
}

/** The manifest digest of a stored image. */
function manifestOf(storeDir: string, image: string): string {
  return JSON.parse(execFileSync(LAUNCHER, ["inspect", image, "--json", "--store", storeDir], { encoding: "utf8" })).manifest;
}

/** The top layer of a stored image: its blob path and diff id. */
function layerOf(storeDir: string, image: string): { blob: string; diffId: string } {
  const inspect = JSON.parse(execFileSync(LAUNCHER, ["inspect", image, "--json", "--store", storeDir], { encoding: "utf8" }));
  const layers = inspect.layers as { digest: string; diffId: string }[];
  const l = layers.at(-1)!;
  return { blob: join(storeDir, "blobs", "sha256", l.digest.slice(7)), diffId: l.diffId };
}

/** getcap and getfattr run inside a container of `image`. */
async function inside(storeDir: string, image: string): Promise<string> {
  const r = await withHostLock(() => minicOk(["run", "--store", storeDir, image, "/bin/sh", "-c", `getcap /${CAP} /${CAP}-link; getfattr -d -m user. -e hex /etc/xfile '/${WEIRD}' 2>/dev/null`]));
  return r.stdout;
}

function expectInside(out: string): void {
  expect(out).toMatch(new RegExp(`^/${CAP} cap_net_raw=ep$`, "m"));
  expect(out).toMatch(new RegExp(`^/${CAP}-link cap_net_raw=ep$`, "m"));
  expect(out).toContain(`user.test=0x76616c7565\n`);
  expect(out).toContain(`user.bin=0x${BIN.toString("hex")}\n`);
  expect(out).toMatch(/^user\.a\\075b=0x6869$/m);
}

beforeAll(() => {
  if (!root) return;
  mkdirSync(tree);
  makeBusyboxTree(tree);
  mkdirSync(join(tree, "lib/x86_64-linux-gnu"), { recursive: true });
  mkdirSync(join(tree, "lib64"), { recursive: true });
  for (const [from, to] of [["/usr/sbin/getcap", "usr/sbin/getcap"], ["/usr/sbin/setcap", "usr/sbin/setcap"], ["/usr/bin/getfattr", "usr/bin/getfattr"], ["/usr/bin/setfattr", "usr/bin/setfattr"],
    ["/lib/x86_64-linux-gnu/libcap.so.2", "lib/x86_64-linux-gnu/libcap.so.2"], ["/lib/x86_64-linux-gnu/libc.so.6", "lib/x86_64-linux-gnu/libc.so.6"], ["/lib64/ld-linux-x86-64.so.2", "lib64/ld-linux-x86-64.so.2"]]) {
    copyFileSync(from!, join(tree, to!));
  }
  copyFileSync("/bin/true", join(tree, CAP));
  sh(`chmod 755 usr/sbin/getcap usr/sbin/setcap usr/bin/getfattr usr/bin/setfattr ${CAP} && setcap cap_net_raw+ep ${CAP}`, tree);
  linkSync(join(tree, CAP), join(tree, `${CAP}-link`));
  writeFileSync(join(tree, "etc/xfile"), "x\n");
  writeFileSync(join(tree, WEIRD), "w\n");
  sh(`setfattr -n user.test -v value etc/xfile && setfattr -n user.bin -v 0x${BIN.toString("hex")} etc/xfile && setfattr -n 'user.a=b' -v hi '${WEIRD}'`, tree);
  expected = xattrsOf(tree);
});
afterAll(() => t.remove());

maybe("extended attributes through minic and its peers", () => {
  let dirDiffId: string;

  it("the fidelity tree has what the tests look for", () => {
    expect(Object.keys(expected).sort()).toEqual([WEIRD, CAP, `${CAP}-link`, "etc/xfile"].sort());
    expect(expected[CAP]!["security.capability"]).toMatch(/^0x01000002002000000/);
  });

  it("import of a directory: the unpacked layer has them, and a container sees them (getcap, getfattr)", async () => {
    await minicOk(["import", tree, "-t", "x:dir", "--store", store]);
    const l = layerOf(store, "x:dir");
    dirDiffId = l.diffId;
    expect(xattrsOf(unpackedDir(store, l.diffId))).toEqual(expected);
    expectInside(await inside(store, "x:dir"));
  });

  it("the layer: GNU cpio and bsdcpio extract it without error; its .minic-xattrs restores them with setfattr", () => {
    const { blob } = layerOf(store, "x:dir");
    for (const tool of ["cpio", "bsdcpio"]) {
      const out = join(t.path, `by-${tool}`);
      mkdirSync(out);
      const r = execFileSync("sh", ["-c", `bzip2 -dc '${blob}' | ${tool} -idmu 2>&1; echo "exit $?"`], { cwd: out, encoding: "utf8" });
      expect(r.trim().split("\n").filter((l) => !/^\d+ blocks$/.test(l))).toEqual(["exit 0"]);
      expect(readFileSync(join(out, "etc/xfile"), "utf8")).toBe("x\n");
      expect(readFileSync(join(out, CAP)).equals(readFileSync(join(tree, CAP)))).toBe(true);
      expect(xattrsOf(out)).toEqual({}); // the peers ignore the attributes…
      sh(`setfattr -h --restore=.minic-xattrs`, out);
      expect(xattrsOf(out)).toEqual(expected); // …and the table gives them back
    }
  });

  it("GNU tar --format=posix --xattrs and bsdtar archives import to the very same layer", async () => {
    sh(`tar --format=posix --xattrs --xattrs-include='*' --numeric-owner -cf ../gnu.tar .`, tree);
    sh(`bsdtar --format=pax -cf ../bsd.tar .`, tree);
    for (const [file, name] of [["gnu.tar", "x:gnu"], ["bsd.tar", "x:bsd"]] as const) {
      const r = await minicOk(["import", join(t.path, file), "-t", name, "--store", store]);
      expect(r.stderr).not.toMatch(/extended attributes/);
      expect(layerOf(store, name).diffId).toBe(dirDiffId);
    }
    expectInside(await inside(store, "x:gnu"));
  });

  it("save --format oci: GNU tar --xattrs and bsdtar extract the layer with the same attributes", async () => {
    const oci = join(t.path, "oci");
    mkdirSync(oci);
    await minicOk(["save", "x:dir", "--format", "oci", "-o", join(t.path, "x-oci.tar"), "--store", store]);
    sh(`tar -xf ../x-oci.tar`, oci);
    const index = JSON.parse(readFileSync(join(oci, "index.json"), "utf8"));
    const manifest = JSON.parse(readFileSync(join(oci, "blobs", "sha256", index.manifests[0].digest.slice(7)), "utf8"));
    const layer = join(oci, "blobs", "sha256", manifest.layers[0].digest.slice(7));
    const gnu = join(t.path, "oci-gnu");
    mkdirSync(gnu);
    sh(`tar --xattrs --xattrs-include='*' -xzpf '${layer}'`, gnu);
    expect(xattrsOf(gnu)).toEqual(expected);
    // A '=' in an xattr name is written '%3D' in the pax keyword, as GNU tar writes and reads
    // it; libarchive (like Go's archive/tar) does not decode SCHILY keywords, so bsdtar gets that
    // one name as written (it does the same to its own archives' SCHILY records).
    const bsd = join(t.path, "oci-bsd");
    mkdirSync(bsd);
    sh(`bsdtar -xpzf '${layer}'`, bsd);
    expect(xattrsOf(bsd)).toEqual({ ...expected, [WEIRD]: { "user.a%3Db": expected[WEIRD]!["user.a=b"]! } });
  });

  it("save and load (minic and OCI archives) keep them; the OCI round trip gives the same image", async () => {
    const saved = join(t.path, "x-minic.tar");
    await minicOk(["save", "x:dir", "-o", saved, "--store", store]);
    const s2 = join(t.path, "store-load");
    await minicOk(["load", saved, "--store", s2]);
    expect(xattrsOf(unpackedDir(s2, dirDiffId))).toEqual(expected);
    expectInside(await inside(s2, "x:dir"));
    const s3 = join(t.path, "store-load-oci");
    await minicOk(["load", join(t.path, "x-oci.tar"), "--store", s3]);
    expect(manifestOf(s3, "localhost/x:dir")).toBe(manifestOf(store, "x:dir"));
    expect(xattrsOf(unpackedDir(s3, dirDiffId))).toEqual(expected);
  });

  it("export: GNU cpio extracts the flattened image, .minic-xattrs restores them, and it imports to the same layer", async () => {
    await minicOk(["export", "x:gnu", "-o", join(t.path, "x.cpio.bz2"), "--store", store]);
    const out = join(t.path, "from-export");
    mkdirSync(out);
    sh(`bzip2 -dc ../x.cpio.bz2 | cpio -idmu --quiet && setfattr -h --restore=.minic-xattrs`, out);
    expect(xattrsOf(out)).toEqual(expected);
    await minicOk(["import", join(t.path, "x.cpio.bz2"), "-t", "x:export", "--store", store]);
    expect(layerOf(store, "x:export").diffId).toBe(dirDiffId);
  });

  it("build: a copy keeps its host files' attributes and a run step's setcap survives into the container", async () => {
    const rec = join(t.path, "recipe");
    mkdirSync(join(rec, "in"), { recursive: true });
    copyFileSync("/bin/true", join(rec, "in/tool"));
    writeFileSync(join(rec, "in/conf"), "c\n");
    sh(`setcap cap_net_admin+ep in/tool && setfattr -n user.test -v 0x${BIN.toString("hex")} in/conf`, rec);
    writeFileSync(join(rec, "app.ts"), `import { defineRecipe, run, copy } from "minic";
export default defineRecipe({ name: "xapp", base: "x:dir", steps: [
  copy("in/*", "/opt"),
  run(["/bin/sh", "-c", "cp /${CAP} /usr/bin/pinger && setcap cap_net_raw,cap_sys_time+ep /usr/bin/pinger && echo a > /opt/acl && setfattr -n system.posix_acl_access -v ${ACL} /opt/acl"]),
] });
`);
    const built = await minicOk(["build", join(rec, "app.ts"), "--store", store]);
    // The run step's ACL (system.*) is not carried: said, not silent.
    expect(built.stderr + built.stdout).toMatch(/left out extended attributes of 1 file\(s\) that minic layers do not carry/);
    const r = await withHostLock(() => minicOk(["run", "--store", store, "xapp", "/bin/sh", "-c", "getcap /usr/bin/pinger /opt/tool; getfattr -d -m user. -e hex /opt/conf 2>/dev/null"]));
    expect(r.stdout).toMatch(/^\/usr\/bin\/pinger cap_net_raw,cap_sys_time=ep$/m);
    expect(r.stdout).toMatch(/^\/opt\/tool cap_net_admin=ep$/m);
    expect(r.stdout).toContain(`user.test=0x${BIN.toString("hex")}\n`);
    expectInside(await inside(store, "xapp")); // the base's, through the build's layer
  });

  it("namespaces minic does not carry are dropped with a note, user.* kept; a value over the limit is refused with one line", async () => {
    const x = join(t.path, "xtree");
    mkdirSync(x);
    writeFileSync(join(x, "f"), "f\n");
    sh(`setfattr -n trusted.minic -v 1 f && setfattr -n user.kept -v 1 f`, x);
    const r = await minicOk(["import", x, "-t", "x:trusted", "--store", store]);
    expect(r.stderr).toMatch(/dropped extended attributes of 1 member\(s\) that minic layers do not carry \(.*trusted\.\*, .*; kept: security\.capability and user\.\* of files and directories\)/);
    expect(xattrsOf(unpackedDir(store, layerOf(store, "x:trusted").diffId))).toEqual({ f: { "user.kept": "0x31" } });

    // user.* on a symlink: no Linux filesystem holds it (setfattr failed with EPERM, and the
    // message named the staging dir and blamed the filesystem): dropped with the note.
    writeFileSync(join(t.path, "lnk.tar"), await tarWithPax("lnk", { "SCHILY.xattr.user.k": Buffer.from("v") }, "symlink"));
    const l = await minicOk(["import", join(t.path, "lnk.tar"), "-t", "x:lnk", "--store", store]);
    expect(l.stderr).toMatch(/dropped extended attributes of 1 member\(s\) .*any on a symlink, fifo or device node/);
    expect(lstatSync(join(unpackedDir(store, layerOf(store, "x:lnk").diffId), "lnk")).isSymbolicLink()).toBe(true);

    const big = await tarWithPax("big", { "SCHILY.xattr.user.big": Buffer.alloc(65537, 0x61) });
    writeFileSync(join(t.path, "big.tar"), big);
    const before = storeListing(store);
    const refused = await minic(["import", join(t.path, "big.tar"), "-t", "x:big", "--store", store]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr.trim().split("\n")).toHaveLength(1);
    expect(refused.stderr).toMatch(/extended attribute 'user\.big' of 'big' has a 65537-byte value, over the 65536 bytes minic carries \(hint: /);
    expect(storeListing(store)).toEqual(before);
  });

  const havePeers = ["docker-registry", "podman", "runc"].every((p) => findProgram(p));
  (havePeers ? it : it.skip)("push and pull keep them; podman runs the pushed image and sees the capability", async () => {
    const unguard = guardVarLibContainers();
    let registry: Registry | undefined;
    const env = podmanEnv(join(t.path, "podman"));
    try {
      registry = await startRegistry(join(t.path, "registry"));
      const ref = `${registry.host}/x/caps:1`;
      await minicOk(["push", "x:dir", ref, "--store", store]);
      const s4 = join(t.path, "store-pull");
      await minicOk(["pull", ref, "-t", "x:pulled", "--store", s4]);
      expect(xattrsOf(unpackedDir(s4, dirDiffId))).toEqual(expected);
      expectInside(await inside(s4, "x:pulled"));
      await peer(["podman", "pull", "-q", "--tls-verify=false", ref], { env });
      const out = await peer(["podman", "run", "--rm", "--network", "none", ref, "/bin/sh", "-c", `getcap /${CAP}; getfattr -d -m user. -e hex /etc/xfile 2>/dev/null`], { env });
      expect(out).toMatch(new RegExp(`^/${CAP} cap_net_raw=ep$`, "m"));
      expect(out).toContain(`user.bin=0x${BIN.toString("hex")}`);
    } finally {
      await peer(["podman", "rmi", "-a", "-f"], { env }).catch(() => "");
      await registry?.stop();
      unguard();
    }
  }, 180_000);
});

/** A tar with one file `name` whose pax header has `records` (values as raw bytes). */
async function tarWithPax(name: string, records: Record<string, Buffer>, type: "file" | "symlink" = "file"): Promise<Buffer> {
  const { paxRecord, tarHeader, padding, TAR_END } = await import("../../src/archive/tar-header.js");
  const body = Buffer.concat(Object.entries(records).map(([k, v]) => paxRecord(k, v)));
  const x = tarHeader({ name: "PaxHeader", type: "file", mode: 0o644, uid: 0, gid: 0, mtime: 0, size: body.length });
  x[156] = "x".charCodeAt(0);
  let sum = 0;
  x.fill(0x20, 148, 156);
  for (const b of x) sum += b;
  x.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8, "latin1");
  if (type === "symlink") return Buffer.concat([x, body, Buffer.alloc(padding(body.length)), tarHeader({ name, type, mode: 0o777, uid: 0, gid: 0, mtime: 0, size: 0, linkname: "f" }), TAR_END]);
  const file = tarHeader({ name, type: "file", mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 2 });
  return Buffer.concat([x, body, Buffer.alloc(padding(body.length)), file, Buffer.from("f\n"), Buffer.alloc(padding(2)), TAR_END]);
}
