// Layers in the store: verified reads (blob digest and diff id), unpacking once, stacking in
// apply mode without ever following a rootfs symlink onto the host.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { Store } from "../../src/store/store.js";
import { layerMembers, putLayer, unpackedLayer, verifyLayer, type LayerItem } from "../../src/store/layers.js";
import { unpackMembers, type UnpackOptions } from "../../src/archive/unpack.js";
import type { Entry } from "../../src/archive/entry.js";
import type { LayerDescriptor } from "../../src/core/image.js";
import { tempDir } from "../helpers/cli.js";

let t: { path: string; remove(): void };
let store: Store;

beforeEach(async () => {
  t = tempDir("minic-layers-");
  store = await Store.open(join(t.path, "store"));
});
afterEach(() => t.remove());

const E = (name: string, kind: Entry["kind"], extra: Partial<Entry> = {}): Entry => ({ name, kind, mode: kind === "dir" ? 0o755 : 0o644, uid: 0, gid: 0, mtime: 0, size: 0, ...extra });
const dir = (name: string): LayerItem => ({ entry: E(name, "dir") });
const file = (name: string, data: string, mode = 0o644): LayerItem => ({ entry: E(name, "file", { size: Buffer.byteLength(data), mode }), data: Buffer.from(data) });
const symlink = (name: string, target: string): LayerItem => ({ entry: E(name, "symlink", { mode: 0o777, linkname: target }) });
const wh = (name: string): LayerItem => ({ entry: E(name, "file", { mode: 0 }), data: Buffer.alloc(0) });
const hashFile = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");
const APPLY: UnpackOptions = { whiteouts: "apply", devices: false, setuid: true, owners: true };

async function drain(l: LayerDescriptor): Promise<void> {
  for await (const m of layerMembers(store, l)) for await (const _ of m.data);
}

describe("never follow a rootfs symlink onto the host", () => {
  it("stacking a layer that writes bin/sh over bin/sh -> /bin/busybox replaces the link; the host file is untouched", async () => {
    const hostBusybox = "/bin/busybox";
    const before = { hash: hashFile(hostBusybox), st: statSync(hostBusybox) };
    const hostEtc = readdirSync("/etc").sort();

    const base = await putLayer(store, [dir("bin"), symlink("bin/sh", hostBusybox), symlink("bin/ls", "/bin/busybox"), symlink("etc", "/etc"), dir("usr")], 0);
    const top = await putLayer(store, [dir("bin"), file("bin/sh", "#!pwned\n", 0o755), dir("etc"), file("etc/passwd", "root::0:0::/:/bin/sh\n"), file("usr/x", "x")], 0);

    // Each layer unpacked once into the store (overlay form), as the runtime will use them.
    const u1 = await unpackedLayer(store, base);
    expect(readlinkSync(join(u1, "bin/sh"))).toBe(hostBusybox);
    expect(await unpackedLayer(store, base)).toBe(u1); // reused
    const u2 = await unpackedLayer(store, top);
    expect(readFileSync(join(u2, "bin/sh"), "utf8")).toBe("#!pwned\n");

    // Flattened in apply mode, as a build view or an export would.
    const flat = join(t.path, "flat");
    mkdirSync(flat);
    await unpackMembers(layerMembers(store, base), flat, APPLY);
    await unpackMembers(layerMembers(store, top), flat, APPLY);
    expect(lstatSync(join(flat, "bin/sh")).isFile()).toBe(true);
    expect(readFileSync(join(flat, "bin/sh"), "utf8")).toBe("#!pwned\n");
    expect(readlinkSync(join(flat, "bin/ls"))).toBe("/bin/busybox");
    expect(lstatSync(join(flat, "etc")).isDirectory()).toBe(true); // the lower symlink became a directory
    expect(readFileSync(join(flat, "etc/passwd"), "utf8")).toBe("root::0:0::/:/bin/sh\n");

    const after = statSync(hostBusybox);
    expect(hashFile(hostBusybox)).toBe(before.hash);
    expect([after.mode, after.uid, after.gid, after.size, after.mtimeMs, after.ino]).toEqual([before.st.mode, before.st.uid, before.st.gid, before.st.size, before.st.mtimeMs, before.st.ino]);
    expect(readFileSync("/etc/passwd", "utf8")).not.toContain("root::0:0::/:/bin/sh");
    expect(readdirSync("/etc").sort()).toEqual(hostEtc);
  });

  it("a stacked layer's whiteout of bin/sh removes the link only", async () => {
    const before = hashFile("/bin/busybox");
    const base = await putLayer(store, [dir("bin"), symlink("bin/sh", "/bin/busybox")], 0);
    const top = await putLayer(store, [dir("bin"), wh("bin/.wh.sh")], 0);
    const flat = join(t.path, "flat");
    mkdirSync(flat);
    await unpackMembers(layerMembers(store, base), flat, APPLY);
    await unpackMembers(layerMembers(store, top), flat, APPLY);
    expect(existsSync(join(flat, "bin/sh"))).toBe(false);
    expect(existsSync("/bin/busybox")).toBe(true);
    expect(hashFile("/bin/busybox")).toBe(before);
    const u = await unpackedLayer(store, top);
    const st = lstatSync(join(u, "bin/sh"));
    expect(st.isCharacterDevice() && st.rdev === 0).toBe(true); // overlay whiteout
  });
});

describe("opaque markers", () => {
  it("an opaque dir hides the base's contents; an opaque layer root is ignored, as overlayfs does", async () => {
    const base = await putLayer(store, [dir("etc"), file("etc/passwd", "p\n"), file("keep", "k\n")], 0);
    const top = await putLayer(store, [dir("etc"), wh("etc/.wh..wh..opq"), file("etc/hosts", "h\n"), wh(".wh..wh..opq"), file("new", "n\n")], 0);
    const flat = join(t.path, "flat");
    mkdirSync(flat);
    await unpackMembers(layerMembers(store, base), flat, APPLY);
    await unpackMembers(layerMembers(store, top), flat, APPLY);
    expect(readdirSync(flat).sort()).toEqual(["etc", "keep", "new"]);
    expect(readdirSync(join(flat, "etc"))).toEqual(["hosts"]);
    // Overlay form: the opaque dir gets its xattr and is recorded beside the layer; the root is not.
    const u = await unpackedLayer(store, top);
    expect(JSON.parse(readFileSync(`${u}.opaque`, "utf8"))).toEqual(["etc"]);
  });
});

describe("verified layer reads", () => {
  async function sample(): Promise<LayerDescriptor> {
    return putLayer(store, [dir("d"), file("d/a", "a".repeat(100000)), file("d/b", "b\n")], 0);
  }

  it("a good layer reads and verifies", async () => {
    const l = await sample();
    await verifyLayer(store, l);
    const names: string[] = [];
    for await (const m of layerMembers(store, l)) names.push(m.entry.name);
    expect(names).toEqual(["d", "d/a", "d/b"]);
  });

  it("a blob tampered on disk is refused (EDIGEST, or EARCHIVE when bzip2 notices first)", async () => {
    const l = await sample();
    const p = store.layout.blob(l.digest);
    const b = readFileSync(p);
    b[Math.floor(b.length / 2)] ^= 0x55;
    writeFileSync(p, b);
    const err = await drain(l).catch((e) => e);
    expect(["EDIGEST", "EARCHIVE"]).toContain(err?.code);
  });

  it("a blob replaced by another valid layer is refused by the blob digest (EDIGEST)", async () => {
    const l = await sample();
    const other = await putLayer(store, [file("x", "other")], 0);
    writeFileSync(store.layout.blob(l.digest), readFileSync(store.layout.blob(other.digest)));
    await expect(drain(l)).rejects.toMatchObject({ code: "EDIGEST" });
  });

  it("a descriptor whose diff id does not match the content is refused (EDIGEST)", async () => {
    const l = await sample();
    const other = await putLayer(store, [file("x", "other")], 0);
    const err = await drain({ ...l, diffId: other.diffId }).catch((e) => e);
    expect(err).toMatchObject({ code: "EDIGEST" });
    expect(err.message).toMatch(/diff id/);
  });

  for (const tool of ["lbzip2", "pbzip2", "bzip2", "js"]) {
    it(`a truncated bzip2 blob is EARCHIVE or EDIGEST (MINIC_BZIP2=${tool}), and unpackedLayer leaves nothing`, async () => {
      const saved = process.env.MINIC_BZIP2;
      try {
        const l = await sample();
        process.env.MINIC_BZIP2 = tool;
        const full = readFileSync(store.layout.blob(l.digest));
        for (const keep of [full.length - 50, Math.floor(full.length / 2), 20]) {
          const cut = await store.putBlob(full.subarray(0, keep)); // its own digest is right
          const bad = { ...l, digest: cut.digest, size: cut.size };
          const err = await drain(bad).catch((e) => e);
          expect(["EARCHIVE", "EDIGEST"], `kept ${keep}: ${err}`).toContain(err?.code);
          await expect(unpackedLayer(store, bad)).rejects.toHaveProperty("code");
          expect(existsSync(store.layout.unpacked(l.diffId))).toBe(false);
          expect(readdirSync(store.layout.tmpDir)).toEqual([]);
        }
      } finally {
        if (saved === undefined) delete process.env.MINIC_BZIP2;
        else process.env.MINIC_BZIP2 = saved;
      }
    });
  }

  it("putLayer fails cleanly (no blob, no temp) when a file changes size while packing", async () => {
    const src = join(t.path, "f");
    writeFileSync(src, "12345");
    const before = readdirSync(store.layout.blobsDir);
    const items: LayerItem[] = [{ entry: E("f", "file", { size: 10 }), data: src }];
    await expect(putLayer(store, items, 0)).rejects.toMatchObject({ code: "EARCHIVE" });
    expect(readdirSync(store.layout.blobsDir)).toEqual(before);
    expect(readdirSync(store.layout.tmpDir)).toEqual([]);
  });
});
