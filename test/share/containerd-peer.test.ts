// containerd 1.6 as a judge of minic's interchange, for real: a private daemon (containerd.ts),
// a loopback docker-registry. What `ctr image pull` fetches of a pushed index; what `ctr run`
// sees of a fidelity tree minic saved as OCI (podman asked the same), and what it unpacked of the
// tree's file capability and user.* xattrs (the host's getfattr and getcap on a view of the image's
// snapshot; podman's unpacked image likewise); a `ctr image export` loaded back by minic, xattrs too. A missing tool skips with the reason; MINIC_REQUIRE_PEERS=1 turns skips into failures.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { minicOk, tempDir } from "../helpers/cli.js";
import { findProgram } from "../../src/util/which.js";
import type { Entry } from "../../src/archive/entry.js";
import { layerMembers, putLayer, type LayerItem } from "../../src/store/layers.js";
import { Store } from "../../src/store/store.js";
import { hostMountsUnder } from "../helpers/run-steps.js";
import { baseLayer, stackImage, storeWithApp } from "./images.js";
import { startContainerd, type Containerd } from "./containerd.js";
import { guardVarLibContainers, peer, podmanEnv, startRegistry, type Registry } from "./peers.js";

const TOOLS = ["containerd", "ctr", "containerd-shim-runc-v2", "runc", "unshare", "docker-registry", "podman"];
const missing = TOOLS.filter((t) => !findProgram(t));
if (missing.length > 0 && process.env.MINIC_REQUIRE_PEERS) throw new Error(`peers missing: ${missing.join(", ")}`);
const maybe = missing.length > 0 || process.getuid?.() !== 0 ? describe.skip : describe;
if (missing.length > 0) console.warn(`skipping containerd tests: ${missing.join(", ")} not installed`);

const EPOCH = 1_700_000_000;
/** `setcap cap_net_raw+ep` as security.capability holds it (VFS_CAP_REVISION_2, permitted bit 13, effective). */
const CAP_NET_RAW = Buffer.from("0100000200200000000000000000000000000000", "hex");
/** A binary xattr value: NUL, 0xff, LF, CR, '=', backslash, space, NUL. */
const BIN = Buffer.from([0x00, 0xff, 0x0a, 0x0d, 0x3d, 0x5c, 0x20, 0x00]);
const LONG = `f/${"long-name-".repeat(15)}end`; // 152 bytes: beyond ustar's 100-byte name field

/** The fidelity tree: the modes, owners, kinds and xattrs a conversion is most likely to change. */
function fidelityItems(): LayerItem[] {
  const e = (name: string, kind: Entry["kind"], mode: number, uid: number, gid: number, extra: Partial<Entry> = {}): Entry => ({ name, kind, mode, uid, gid, mtime: EPOCH, size: 0, ...extra });
  const data = (entry: Entry, text: string): LayerItem => ({ entry: { ...entry, size: Buffer.byteLength(text) }, data: Buffer.from(text) });
  return [
    { entry: e("f", "dir", 0o755, 0, 0) },
    data(e("f/zero", "file", 0o000, 0, 0), "shadow\n"),
    data(e("f/suid", "file", 0o4755, 1000, 1000), "#!/bin/sh\n"),
    { entry: e("f/tmp", "dir", 0o1777, 300000, 300000) },
    data(e("f/secret", "file", 0o600, 70000000, 70000000), "key\n"),
    data(e("f/hard1", "file", 0o644, 1000, 300000, { linkKey: "h" }), "linked\n"),
    data(e("f/hard2", "file", 0o644, 1000, 300000, { linkKey: "h" }), "linked\n"),
    { entry: e("f/sym", "symlink", 0o777, 300000, 70000000, { linkname: "suid", size: 4 }) },
    { entry: e("f/fifo", "fifo", 0o640, 70000000, 0) },
    data(e(LONG, "file", 0o644, 0, 1000), "long\n"),
    { entry: e("f/empty", "dir", 0o700, 300000, 1000, { xattrs: [{ name: "user.dir", value: Buffer.from("d") }] }) },
    data(e("f/ping", "file", 0o755, 0, 0, { xattrs: [{ name: "security.capability", value: CAP_NET_RAW }] }), "ping\n"),
    data(e("f/xattrs", "file", 0o644, 1000, 1000, { xattrs: [{ name: "user.bin", value: BIN }, { name: "user.test", value: Buffer.from("value") }] }), "x\n"),
  ];
}

/** What stat prints inside a container for the tree: mode, owner, links, name (sorted). */
const STAT = ["sh", "-c", "stat -c '%a %u %g %h %n' /f /f/* | sort"];
/** The same lines from minic's own layer members. */
async function expectedStat(store: Store, ref: string): Promise<string> {
  const image = await store.getImage(ref);
  const rows: { e: Entry; nlink: number }[] = [];
  for await (const m of layerMembers(store, image.manifest.layers.at(-1)!)) {
    for await (const _ of m.data);
    rows.push({ e: m.entry, nlink: m.nlink });
  }
  const subdirs = (name: string) => rows.filter(({ e }) => e.kind === "dir" && e.name.startsWith(`${name}/`) && !e.name.slice(name.length + 1).includes("/")).length;
  return rows
    .filter(({ e }) => e.name === "f" || e.name.startsWith("f/"))
    .map(({ e, nlink }) => `${e.mode.toString(8)} ${e.uid} ${e.gid} ${e.kind === "dir" ? 2 + subdirs(e.name) : nlink} /${e.name}`)
    .sort()
    .join("\n");
}

/** name under f/ → xattr name → 0x-hex value, for the top layer's members under f/ that have xattrs. */
async function expectedXattrs(store: Store, ref: string): Promise<Record<string, Record<string, string>>> {
  const image = await store.getImage(ref);
  const out: Record<string, Record<string, string>> = {};
  for await (const m of layerMembers(store, image.manifest.layers.at(-1)!)) {
    for await (const _ of m.data);
    if (!m.entry.name.startsWith("f/") || !m.entry.xattrs?.length) continue;
    out[m.entry.name.slice(2)] = Object.fromEntries(m.entry.xattrs.map((x) => [x.name, `0x${x.value.toString("hex")}`]));
  }
  return out;
}

/** In a tree's f/: every xattr (getfattr -d -m - -e hex, never following links), then getcap's lines. */
const DUMP = `cd f && getfattr -R -P -h -d -m - -e hex . && echo '#caps' && getcap -r .`;

/** DUMP's output as { xattrs: name → xattr → hex, caps: getcap's lines sorted }. */
function parseDump(text: string): { xattrs: Record<string, Record<string, string>>; caps: string[] } {
  const [dump = "", caps = ""] = text.split("#caps\n");
  const xattrs: Record<string, Record<string, string>> = {};
  let cur: Record<string, string> | undefined;
  for (const line of dump.split("\n")) {
    if (line.startsWith("# file: ")) cur = xattrs[line.slice(8).replace(/^\.\//, "")] = {};
    else if (cur && line.includes("=")) cur[line.slice(0, line.indexOf("="))] = line.slice(line.indexOf("=") + 1);
  }
  return { xattrs, caps: caps.split("\n").filter(Boolean).sort() };
}

/** The chain id (image-spec config.md) of an image's top layer in containerd, from its own content store. */
async function topChainId(c: Containerd, name: string): Promise<string> {
  const digest = (await c.ctrOk(["image", "ls"])).split("\n").map((l) => l.split(/\s+/)).find((f) => f[0] === name)?.[2];
  if (!digest) throw new Error(`containerd has no image ${name}`);
  const manifest = JSON.parse(await c.ctrOk(["content", "get", digest])) as { config: { digest: string } };
  const config = JSON.parse(await c.ctrOk(["content", "get", manifest.config.digest])) as { rootfs: { diff_ids: string[] } };
  return config.rootfs.diff_ids.reduce((chain, d) => `sha256:${createHash("sha256").update(`${chain} ${d}`).digest("hex")}`);
}

let t: { path: string; remove(): void };
let store: string;
let registry: Registry | undefined;
let ctrd: Containerd | undefined;
let unguard: () => void;

maybe("containerd as a judge", () => {
  beforeAll(async () => {
    unguard = guardVarLibContainers();
    t = tempDir("minic-ctr-");
    store = join(t.path, "store");
    const { store: s } = await storeWithApp(store, t.path);
    const fidelity = await putLayer(s, fidelityItems(), EPOCH);
    await stackImage(s, "fidelity:1", [await baseLayer(s, join(t.path, "base")), fidelity], ["/bin/sh"]);
    registry = await startRegistry(join(t.path, "registry"));
    ctrd = await startContainerd(join(t.path, "containerd"));
  }, 120_000);
  afterAll(async () => {
    const dir = ctrd ? join(t.path, "containerd") : undefined;
    await ctrd?.stop();
    await registry?.stop();
    if (dir) expect(hostMountsUnder(dir)).toEqual([]);
    await peer(["podman", "rmi", "-a", "-f"], { env: podmanEnv(join(t.path, "podman")) }).catch(() => "");
    t?.remove();
    unguard?.();
  }, 120_000);

  it("ctr image pull of a pushed index fetches only the OCI variant, without a warning; minic pull still takes its own manifest", async () => {
    const ref = `${registry!.host}/minic/app:1`;
    await minicOk(["push", "app:1", ref, "--store", store]);
    const manifestAt = async (reference: string): Promise<unknown> => {
      const r = await fetch(`http://${registry!.host}/v2/minic/app/manifests/${reference}`, { headers: { accept: "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json" } });
      expect(r.status).toBe(200);
      return r.json();
    };
    const raw = (await manifestAt("1")) as { manifests: { digest: string; artifactType?: string; platform?: { os: string; architecture: string } }[] };
    const oci = raw.manifests.find((m) => m.platform?.os === "linux")!;
    const mini = raw.manifests.find((m) => m.artifactType === "application/vnd.minic.image.v1")!;
    const ociManifest = (await manifestAt(oci.digest)) as { config: { digest: string }; layers: { digest: string }[] };
    const minicManifest = (await manifestAt(mini.digest)) as { config: { digest: string }; layers: { digest: string }[] };

    const pull = await ctrd!.ctr(["image", "pull", "--plain-http", ref]);
    expect(pull.exitCode, pull.stderr).toBe(0);
    expect(`${pull.stdout}\n${pull.stderr}`).not.toMatch(/unknown type|level=warn/);
    const content = (await ctrd!.ctrOk(["content", "ls", "-q"])).split("\n").filter(Boolean).sort();
    const ociBlobs = [oci.digest, ociManifest.config.digest, ...ociManifest.layers.map((l) => l.digest)];
    const indexDigest = content.find((d) => !ociBlobs.includes(d));
    expect(content.filter((d) => d !== indexDigest).sort()).toEqual([...ociBlobs].sort());
    expect(content).toHaveLength(ociBlobs.length + 1); // + the index itself
    for (const d of [mini.digest, minicManifest.config.digest, ...minicManifest.layers.map((l) => l.digest)]) expect(content).not.toContain(d);
    expect(mini.platform).toEqual({ architecture: "unknown", os: "unknown" });
    const run = await ctrd!.run(ref, "pull-run");
    expect([run.exitCode, run.stdout.trim()]).toEqual([0, "hello from minic"]);

    const before = (await Store.open(store).then((s) => s.getImage("app:1"))).manifestDigest;
    const pulled = await minicOk(["pull", ref, "--store", join(t.path, "store-pulled")]);
    expect(pulled.stdout.trim()).toBe(`${ref} ${before}`);
    expect(pulled.stderr).toMatch(/a minic image/);
  }, 300_000);

  describe("a fidelity tree saved as OCI", () => {
    let tar: string;
    let expected: string;
    let xattrs: Record<string, Record<string, string>>;
    beforeAll(async () => {
      tar = join(t.path, "fidelity-oci.tar");
      await minicOk(["save", "fidelity:1", "--format", "oci", "-o", tar, "--store", store]);
      expected = await expectedStat(await Store.open(store), "fidelity:1");
      xattrs = await expectedXattrs(await Store.open(store), "fidelity:1");
      await ctrd!.ctrOk(["image", "import", "--base-name", "localhost/fidelity", tar]);
    }, 300_000);

    it("runs under containerd with every mode, owner and link count minic has", async () => {
      const names = (await ctrd!.ctrOk(["image", "ls", "-q"])).split("\n").filter((n) => n.includes("fidelity"));
      expect(names).toHaveLength(1);
      const r = await ctrd!.run(names[0]!, "fidelity-stat", STAT);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe(expected);
      expect(expected).toContain(`0 0 0 1 /f/zero`);
      expect(expected).toContain(`600 70000000 70000000 1 /f/secret`);
      const kinds = await ctrd!.run(names[0]!, "fidelity-kinds", ["sh", "-c", "stat -c '%F %i %N' /f/fifo /f/sym /f/hard1 /f/hard2"]);
      const [fifo, sym, h1, h2] = kinds.stdout.trim().split("\n");
      expect(fifo).toMatch(/^fifo /);
      expect(sym).toMatch(/^symbolic link .*-> 'suid'$/);
      expect(h1!.split(" ")[2]).toBe(h2!.split(" ")[2]); // one inode
    }, 300_000);

    it("containerd unpacks every capability and xattr minic has (getfattr and getcap on a view of its top snapshot)", async () => {
      expect(xattrs).toEqual({
        ping: { "security.capability": `0x${CAP_NET_RAW.toString("hex")}` },
        xattrs: { "user.bin": `0x${BIN.toString("hex")}`, "user.test": "0x76616c7565" },
        empty: { "user.dir": "0x64" },
      });
      const name = (await ctrd!.ctrOk(["image", "ls", "-q"])).split("\n").find((n) => n.includes("fidelity"))!;
      const seen = parseDump(await ctrd!.inView(await topChainId(ctrd!, name), DUMP));
      expect(seen.xattrs).toEqual(xattrs);
      expect(seen.caps).toEqual(["./ping cap_net_raw=ep"]);
    }, 300_000);

    it("podman sees the same", async () => {
      const env = podmanEnv(join(t.path, "podman"));
      await peer(["podman", "load", "-q", "-i", tar], { env });
      expect(await peer(["podman", "run", "--rm", "--network", "none", "localhost/fidelity:1", ...STAT], { env })).toBe(expected);
      // Its vfs storage "mounts" an image as the directory it unpacked it to.
      const root = (await peer(["podman", "image", "mount", "localhost/fidelity:1"], { env })).trim();
      try {
        const seen = parseDump(await peer(["sh", "-c", DUMP], { cwd: root }));
        expect(seen.xattrs).toEqual(xattrs);
        expect(seen.caps).toEqual(["./ping cap_net_raw=ep"]);
      } finally {
        await peer(["podman", "image", "unmount", "localhost/fidelity:1"], { env });
      }
    }, 300_000);

    it("a ctr image export loads back into minic with the same digests and xattrs", async () => {
      const name = (await ctrd!.ctrOk(["image", "ls", "-q"])).split("\n").find((n) => n.includes("fidelity"))!;
      const out = join(t.path, "ctr-export.tar");
      await ctrd!.ctrOk(["image", "export", out, name]);
      const s = await Store.open(store);
      const original = await s.getImage("fidelity:1");
      const back = join(t.path, "store-back");
      const r = await minicOk(["load", out, "-t", "back:1", "--store", back]);
      expect(r.stdout.trim()).toBe(`back:1 ${original.manifestDigest}`);
      const loaded = await (await Store.open(back)).getImage("back:1");
      expect(loaded.manifest.layers.map((l) => l.diffId)).toEqual(original.manifest.layers.map((l) => l.diffId));
      expect(await expectedXattrs(await Store.open(back), "back:1")).toEqual(xattrs);
    }, 300_000);
  });
});
