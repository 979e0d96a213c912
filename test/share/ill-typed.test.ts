// Input whose digests all match but whose documents are ill-typed, or whose members no
// filesystem can hold: load refuses each with one line (exit 1, never 70 or a hang), the store
// is left as it was. Regressions of the fuzzing in issue 11 (`(c.Cmd ?? []) is not iterable`,
// `name.includes is not a function`, exit 13 on a directory member with a size, images load
// accepted and run could not unpack).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { minic, minicOk, tempDir } from "../helpers/cli.js";
import { imageLayout, ociConfig, rawTar, resealMinic, type RawMember } from "../helpers/image-archive.js";
import { storeListing } from "./peers.js";

const t = tempDir("minic-ill-typed-");
const store = join(t.path, "store");
afterAll(() => t.remove());

const layer = rawTar([{ name: "etc/", type: "5" }, { name: "etc/hostname", data: Buffer.from("x\n") }]);
let minicTar: Buffer;

beforeAll(async () => {
  const tree = join(t.path, "tree");
  mkdirSync(join(tree, "etc"), { recursive: true });
  writeFileSync(join(tree, "etc/hostname"), "x\n");
  await minicOk(["import", tree, "-t", "base:1", "--store", store]);
  await minicOk(["save", "base:1", "-o", join(t.path, "base.tar"), "--store", store]);
  minicTar = readFileSync(join(t.path, "base.tar"));
});

/** Loads `bytes`: one line matching `why`, exit 1, the store unchanged. */
async function refused(bytes: Buffer, why: RegExp): Promise<void> {
  const file = join(t.path, "in.tar");
  writeFileSync(file, bytes);
  const before = storeListing(store);
  const r = await minic(["load", file, "--store", store], { timeout: 30_000 });
  expect(r.stderr).toMatch(why);
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
  expect(r.stderr).not.toMatch(/TypeError|is not (iterable|a function)|Cannot read properties/);
  expect(r.exitCode).toBe(1);
  expect(storeListing(store)).toEqual(before);
}

describe("ill-typed documents with matching digests", () => {
  it("OCI config: Cmd, Env, Labels, history and diff_ids of the wrong type", async () => {
    const inner = (config: unknown) => ociConfig([layer], { config });
    await refused(imageLayout({ layers: [layer], config: inner({ Cmd: 5 }) }), /image config sha256:[0-9a-f]{12}… is malformed: config\.Cmd is the number 5, not an array/);
    await refused(imageLayout({ layers: [layer], config: inner({ Env: "PATH=/bin" }) }), /config\.Env is the string "PATH=\/bin", not an array/);
    await refused(imageLayout({ layers: [layer], config: inner({ Labels: ["a"] }) }), /config\.Labels is an array, not an object/);
    await refused(imageLayout({ layers: [layer], config: ociConfig([layer], { history: [{ created_by: 7 }] }) }), /history\[0\]\.created_by is the number 7/);
    await refused(imageLayout({ layers: [layer], config: ociConfig([layer], { rootfs: { type: "layers", diff_ids: "x" } }) }), /rootfs\.diff_ids is the string "x"/);
    await refused(imageLayout({ layers: [layer], config: "not an object" }), /image config .* is malformed: the document is the string "not an object", not an object/);
  });

  it("index.json and manifests: names, descriptors and layers of the wrong type", async () => {
    await refused(imageLayout({ layers: [layer], index: (m) => ({ schemaVersion: 2, manifests: [{ ...m, annotations: { "org.opencontainers.image.ref.name": 42 } }] }) }), /index\.json is malformed: manifests\[0\]\.annotations\.org\.opencontainers\.image\.ref\.name is the number 42/);
    await refused(imageLayout({ layers: [layer], index: () => ({ schemaVersion: 2, manifests: {} }) }), /index\.json is malformed: manifests is an object, not an array/);
    await refused(imageLayout({ layers: [layer], index: (m) => ({ schemaVersion: 2, manifests: [null, m] }) }), /manifests\[0\] is null, not an object/);
    await refused(imageLayout({ layers: [layer], manifest: (d) => ({ schemaVersion: 2, config: d.config, layers: d.layers[0] }) }), /image manifest .* is malformed: layers is an object, not an array/);
    await refused(imageLayout({ layers: [layer], manifest: (d) => ({ schemaVersion: 2, config: { ...d.config, size: "1" }, layers: d.layers }) }), /config\.size is the string "1"/);
  });

  it("an OCI artifact (a Helm chart) or a layer that is no tar is refused as what it is, by load as by pull", async () => {
    await refused(imageLayout({ layers: [layer], manifest: (d) => ({ schemaVersion: 2, config: { ...d.config, mediaType: "application/vnd.cncf.helm.config.v1+json" }, layers: d.layers }) }),
      /^minic: not a container image: its config is of type 'application\/vnd\.cncf\.helm\.config\.v1\+json' \(an OCI artifact\)/);
    // It was sniffed and loaded (exit 0) while pull refused the same image.
    await refused(imageLayout({ layers: [layer], manifest: (d) => ({ schemaVersion: 2, config: d.config, layers: [{ ...d.layers[0]!, mediaType: "application/vnd.example.weird" }] }) }),
      /^minic: layer type 'application\/vnd\.example\.weird' cannot be converted \(hint: minic converts tar, tar\+gzip and tar\+zstd layers\)$/);
  });

  it("docker manifest.json: RepoTags, Config and Layers of the wrong type", async () => {
    await refused(imageLayout({ layers: [layer], format: "docker", dockerManifest: (p) => [{ Config: p.config, RepoTags: [{ name: 1 }], Layers: p.layers }] }), /manifest\.json is malformed: \[0\]\.RepoTags\[0\] is an object, not a string/);
    await refused(imageLayout({ layers: [layer], format: "docker", dockerManifest: (p) => [{ Config: 1, Layers: p.layers }] }), /\[0\]\.Config is the number 1, not a string/);
    await refused(imageLayout({ layers: [layer], format: "docker", dockerManifest: (p) => ({ Config: p.config, Layers: p.layers }) }), /manifest\.json is malformed: the document is an object, not an array/);
  });

  it("minic tarballs: a config that is not an object, a run config and a manifest of the wrong types", async () => {
    await refused(resealMinic(minicTar, { config: () => "x" }), /minic image config .* is malformed: the document is the string "x", not an object/);
    await refused(resealMinic(minicTar, { config: (c) => ({ ...(c as object), config: { ...(c as { config: object }).config, cmd: "/bin/sh" } }) }), /config\.cmd is the string "\/bin\/sh", not an array/);
    await refused(resealMinic(minicTar, { manifest: (m) => ({ ...m, layers: [{ ...(m.layers as object[])[0], size: -1 }] }) }), /minic manifest .* is malformed: layers\[0\]\.size is the number -1/);
  });
});

describe("members no filesystem holds, and headers that lie", () => {
  const oci = (members: RawMember[]) => imageLayout({ layers: [rawTar(members)] });

  it("a 300-byte name component, a 4000-byte name, a 5000-byte symlink target are refused at load, not at run", async () => {
    await refused(oci([{ name: `${"n".repeat(300)}`, data: Buffer.from("x") }]), /refusing archive member 'n{300}': a component of its name has 300 bytes, more than a filesystem takes \(255\)/);
    const deep = Array.from({ length: 20 }, () => "d".repeat(200)).join("/");
    await refused(oci([{ name: deep, data: Buffer.from("x") }]), /its name has 4019 bytes, more than the 3072 minic unpacks/);
    await refused(oci([{ name: "l", type: "2", linkname: "t".repeat(5000) }]), /its symlink target is longer than 4095 bytes/);
  });

  it("a directory member with a size is one line (it hung load with exit 13 and left tmp/.stage-*)", async () => {
    const file = join(t.path, "dirsize.tar");
    const tar = Buffer.concat([rawTar([{ name: "somedir/", type: "5", size: 700 }]).subarray(0, 512), Buffer.alloc(1024, 0x78), minicTar]);
    writeFileSync(file, tar);
    const r = await minic(["load", file, "--store", store], { timeout: 30_000 });
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim()).toMatch(/^minic: cannot read tar: .* \(hint: the tarball is truncated or corrupt; nothing was stored\)$/);
    expect(storeListing(join(store, "tmp"))).toEqual([]);
    // inside a layer, a directory's size is ignored, as tar-stream and GNU tar ignore it: no hang
    writeFileSync(file, oci([{ name: "d/", type: "5", size: 700 }, { name: "d/f", data: Buffer.from("x") }]));
    expect((await minic(["load", file, "--store", store], { timeout: 30_000 })).exitCode).toBe(0);
  });
});
