// minic and the OCI tools, for real: skopeo, umoci, podman and docker-registry (Debian's).
// A missing tool skips its tests with the reason; MINIC_REQUIRE_PEERS=1 turns skips into failures.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync, appendFileSync } from "node:fs";
import { join } from "node:path";
import { minic, minicOk, tempDir } from "../helpers/cli.js";
import { makeBusyboxTree } from "../helpers/busybox-tree.js";
import { findProgram } from "../../src/util/which.js";
import { Store } from "../../src/store/store.js";
import { layerMembers } from "../../src/store/layers.js";
import { putImage } from "../../src/store/images.js";
import { putLayer } from "../../src/store/layers.js";
import { parseRef } from "../../src/core/reference.js";
import { storeWithApp } from "./images.js";
import { guardVarLibContainers, peer, podmanEnv, startRegistry, storeListing, type Registry } from "./peers.js";

const TOOLS = ["skopeo", "umoci", "podman", "runc", "docker-registry"];
const missing = TOOLS.filter((t) => !findProgram(t));
if (missing.length > 0 && process.env.MINIC_REQUIRE_PEERS) throw new Error(`peers missing: ${missing.join(", ")}`);
const maybe = missing.length > 0 || process.getuid?.() !== 0 ? describe.skip : describe;
if (missing.length > 0) console.warn(`skipping OCI peer tests: ${missing.join(", ")} not installed`);

let t: { path: string; remove(): void };
let store: string;
let digest: string;
let env: NodeJS.ProcessEnv;
let unguard: () => void;
let registry: Registry | undefined;

maybe("OCI interop with real peers", () => {
  beforeAll(async () => {
    unguard = guardVarLibContainers();
    t = tempDir("minic-oci-");
    store = join(t.path, "store");
    digest = (await storeWithApp(store, t.path)).digest;
    env = podmanEnv(join(t.path, "podman"));
    registry = await startRegistry(join(t.path, "registry"));
  });
  afterAll(async () => {
    await registry?.stop();
    await peer(["podman", "rmi", "-a", "-f"], { env }).catch(() => "");
    t?.remove();
    unguard?.();
  });

  describe("save --format oci", () => {
    let tar: string;
    beforeAll(async () => {
      tar = join(t.path, "app-oci.tar");
      await minicOk(["save", "app:1", "--format", "oci", "-o", tar, "--store", store]);
    });

    it("is read by skopeo inspect as an OCI archive and as a docker-archive", async () => {
      const oci = JSON.parse(await peer(["skopeo", "inspect", `oci-archive:${tar}`]));
      expect(oci.Layers).toHaveLength(2);
      expect(oci.Labels).toMatchObject({ "io.minic.hostname": "app" });
      const docker = JSON.parse(await peer(["skopeo", "inspect", `docker-archive:${tar}`]));
      expect(docker.Layers).toHaveLength(2);
    });

    it("is copied by skopeo into an OCI layout directory, which minic loads as podman load -i DIR does (a symlinked blob refused)", async () => {
      const layout = join(t.path, "layout-dir");
      await peer(["skopeo", "copy", "-q", `oci-archive:${tar}`, `oci:${layout}:app`]);
      const fromTar = join(t.path, "store-from-tar");
      const fromDir = join(t.path, "store-from-dir");
      const a = await minicOk(["load", tar, "--store", fromTar]);
      const b = await minicOk(["load", layout, "-t", "localhost/app:1", "--store", fromDir]);
      expect(b.stdout.split(" ")[1]).toBe(a.stdout.split(" ")[1]);
      const blobs = join(layout, "blobs/sha256");
      const one = readdirSync(blobs).find((n) => statSync(join(blobs, n)).size < 4096)!;
      renameSync(join(blobs, one), join(t.path, "moved-blob"));
      symlinkSync(join(t.path, "moved-blob"), join(blobs, one));
      const before = storeListing(fromDir);
      const r = await minic(["load", layout, "--store", fromDir]);
      expect([r.exitCode, r.stderr.trim()]).toEqual([1, expect.stringMatching(/^minic: '.*\/blobs\/sha256\/[0-9a-f]{64}' in the OCI layout is a symlink \(hint: .*cp -rL/)]);
      expect(storeListing(fromDir)).toEqual(before);
    });

    it("is copied by skopeo and unpacked by umoci with the app layer's deletions applied", async () => {
      const layout = join(t.path, "layout");
      await peer(["skopeo", "copy", "-q", `oci-archive:${tar}`, `oci:${layout}:app`]);
      const bundle = join(t.path, "bundle");
      await peer(["umoci", "unpack", "--image", `${layout}:app`, bundle]);
      expect(readFileSync(join(bundle, "rootfs/srv/www/index.html"), "utf8")).toBe("hello from minic\n");
      expect(existsSync(join(bundle, "rootfs/etc/os-release"))).toBe(false);
      expect(existsSync(join(bundle, "rootfs/bin/busybox"))).toBe(true);
    });

    it("is loaded and run by podman", async () => {
      const out = await peer(["podman", "load", "-i", tar], { env });
      expect(out).toMatch(/localhost\/app:1/);
      const run = await peer(["podman", "run", "--rm", "--network", "none", "localhost/app:1"], { env });
      expect(run).toBe("hello from minic");
    });

    it("comes back from podman save (docker-archive) with the original digest", async () => {
      const back = join(t.path, "podman-save.tar");
      await peer(["podman", "save", "-o", back, "localhost/app:1"], { env });
      const r = await minicOk(["load", back, "-t", "back:1", "--store", join(t.path, "store-back")]);
      expect(r.stdout.trim()).toBe(`back:1 ${digest}`);
      // without -t: the name podman gave it, whole, as podman load would name it
      const named = await minicOk(["load", back, "--store", join(t.path, "store-back")]);
      expect(named.stdout.trim()).toBe(`localhost/app:1 ${digest}`);
    });
  });

  it("loads an image made by umoci + skopeo and uses it as a base", async () => {
    const tree = join(t.path, "umoci-tree");
    mkdirSync(tree);
    makeBusyboxTree(tree);
    const layout = join(t.path, "umoci-layout");
    await peer(["umoci", "init", "--layout", layout]);
    await peer(["umoci", "new", "--image", `${layout}:base`]);
    await peer(["umoci", "insert", "--image", `${layout}:base`, tree, "/"]);
    writeFileSync(join(t.path, "note.txt"), "made by umoci\n");
    await peer(["umoci", "insert", "--image", `${layout}:base`, join(t.path, "note.txt"), "/etc/note.txt"]);
    await peer(["umoci", "config", "--image", `${layout}:base`, "--config.cmd", "/bin/sh", "--architecture", "amd64", "--os", "linux"]);
    const archive = join(t.path, "umoci.tar");
    await peer(["skopeo", "copy", "-q", `oci:${layout}:base`, `oci-archive:${archive}:base`]);
    const s = join(t.path, "store-umoci");
    await minicOk(["load", archive, "-t", "fromumoci:1", "--store", s]);
    // a minic image stacked on it (what a recipe with base "fromumoci:1" does)
    const st = await Store.open(s);
    const base = await st.getImage("fromumoci:1");
    const top = await putLayer(st, [{ entry: { name: "app.txt", kind: "file", mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 3 }, data: Buffer.from("hi\n") }], 0);
    const d = await putImage(st, [...base.manifest.layers, top], base.config.config, [...base.config.history, { createdBy: "app" }], 0);
    await st.setRef(parseRef("onumoci:1"), d);
    const names: string[] = [];
    for (const l of (await st.getImage("onumoci:1")).manifest.layers) for await (const m of layerMembers(st, l)) { names.push(m.entry.name); for await (const _ of m.data); }
    expect(names).toEqual(expect.arrayContaining(["bin/busybox", "etc/note.txt", "app.txt"]));
    const out = join(t.path, "onumoci.cpio.bz2");
    await minicOk(["export", "onumoci:1", "-o", out, "--store", s]);
    // and through a real recipe whose base is the loaded image
    const recipe = join(t.path, "on-umoci.ts");
    writeFileSync(recipe, `import { defineRecipe, file } from "minic";\nexport default defineRecipe({ name: "recipe-on-umoci", base: "fromumoci:1", steps: [file("/app/hello.txt", "hi\\n")] });\n`);
    await minicOk(["build", recipe, "--store", s]);
    const built = await st.getImage("recipe-on-umoci");
    expect(built.manifest.layers.slice(0, base.manifest.layers.length)).toEqual(base.manifest.layers);
  });

  describe("registry", () => {
    it("moves an image between stores with identical digests, skipping blobs already pushed", async () => {
      const ref = `${registry!.host}/minic/app:1`;
      const first = await minicOk(["push", "app:1", ref, "--store", store]);
      expect(first.stderr).toMatch(/6 blob\(s\) uploaded, 0 already there/);
      const again = await minicOk(["push", "app:1", ref, "--store", store]);
      expect(again.stderr).toMatch(/0 blob\(s\) uploaded, \d+ already there/);
      const pulled = await minicOk(["pull", ref, "--store", join(t.path, "store-pulled")]);
      expect(pulled.stdout.trim()).toBe(`${ref} ${digest}`); // the whole reference, as podman names it
      expect(pulled.stderr).toMatch(/a minic image/);
    });

    it("after skopeo copy --all (which drops the index entries' artifactType) pull still finds the minic image", async () => {
      const ref = `${registry!.host}/minic/app:1`;
      const copied = `${registry!.host}/mirror/app:1`;
      await peer(["skopeo", "copy", "-q", "--all", "--src-tls-verify=false", "--dest-tls-verify=false", `docker://${ref}`, `docker://${copied}`]);
      const index = JSON.parse(await peer(["skopeo", "inspect", "--raw", "--tls-verify=false", `docker://${copied}`]));
      expect(index.manifests.some((m: { artifactType?: string }) => m.artifactType)).toBe(false); // what skopeo 1.9 does
      const pulled = await minicOk(["pull", copied, "--store", join(t.path, "store-mirror")]);
      expect(pulled.stderr).toMatch(/pulled a minic image \(minic image of an index\)/);
      expect(pulled.stdout.trim()).toBe(`${copied} ${digest}`);
    });

    it("is pullable and runnable by podman, and inspectable by skopeo", async () => {
      const ref = `${registry!.host}/minic/app:1`;
      const inspect = JSON.parse(await peer(["skopeo", "inspect", "--tls-verify=false", `docker://${ref}`]));
      expect(inspect.Layers).toHaveLength(2);
      await peer(["podman", "pull", "-q", "--tls-verify=false", ref], { env });
      expect(await peer(["podman", "run", "--rm", "--network", "none", ref], { env })).toBe("hello from minic");
    });

    it("pulls what skopeo pushed (OCI tar+gzip layers, converted)", async () => {
      const tar = join(t.path, "for-skopeo.tar");
      await minicOk(["save", "app:1", "--format", "oci", "-o", tar, "--store", store]);
      const ref = `${registry!.host}/skopeo/app:2`;
      await peer(["skopeo", "copy", "-q", "--dest-tls-verify=false", `oci-archive:${tar}`, `docker://${ref}`]);
      const r = await minicOk(["pull", ref, "-t", "viaskopeo:2", "--store", join(t.path, "store-skopeo")]);
      expect(r.stderr).toMatch(/layers converted/);
      expect(r.stdout.trim()).toBe(`viaskopeo:2 ${digest}`); // conversion is lossless for minic's own images
    });

    it("pulls what podman pushed (docker v2 manifest)", async () => {
      const ref = `${registry!.host}/podman/app:3`;
      await peer(["podman", "push", "-q", "--tls-verify=false", "--format", "v2s2", "localhost/app:1", ref], { env });
      const r = await minicOk(["pull", ref, "--store", join(t.path, "store-podman")]);
      expect(r.stdout.trim()).toBe(`${ref} ${digest}`);
    });

    it("pulls an image with zstd layers (recompressed by skopeo), with the digests of its gzip twin", async () => {
      const tar = join(t.path, "for-zstd.tar");
      await minicOk(["save", "app:1", "--format", "oci", "-o", tar, "--store", store]);
      const dir = join(t.path, "zstd-dir");
      const ref = `${registry!.host}/skopeo/app:zstd`;
      await peer(["skopeo", "copy", "-q", "--dest-compress", "--dest-compress-format", "zstd", `oci-archive:${tar}`, `dir:${dir}`]);
      await peer(["skopeo", "copy", "-q", "--dest-tls-verify=false", `dir:${dir}`, `docker://${ref}`]);
      const manifest = JSON.parse(await peer(["skopeo", "inspect", "--raw", "--tls-verify=false", `docker://${ref}`]));
      expect(manifest.layers.map((l: { mediaType: string }) => l.mediaType)).toEqual(Array(2).fill("application/vnd.oci.image.layer.v1.tar+zstd"));
      const r = await minicOk(["pull", ref, "--store", join(t.path, "store-zstd")]);
      expect(r.stderr).toMatch(/layers converted/);
      expect(r.stdout.trim()).toBe(`${ref} ${digest}`);
    });

    it("push --compression zstd: tar+zstd layers that podman pulls and runs and minic pulls back to the same digests", async () => {
      const ref = `${registry!.host}/minic/app:zstd`;
      await minicOk(["push", "app:1", ref, "--format", "oci", "--compression", "zstd", "--store", store]);
      const manifest = JSON.parse(await peer(["skopeo", "inspect", "--raw", "--tls-verify=false", `docker://${ref}`]));
      expect(manifest.layers.map((l: { mediaType: string }) => l.mediaType)).toEqual(Array(2).fill("application/vnd.oci.image.layer.v1.tar+zstd"));
      await peer(["podman", "pull", "-q", "--tls-verify=false", ref], { env });
      expect(await peer(["podman", "run", "--rm", "--network", "none", ref], { env })).toBe("hello from minic");
      const r = await minicOk(["pull", ref, "--store", join(t.path, "store-zstd-push")]);
      expect(r.stdout.trim()).toBe(`${ref} ${digest}`);
      const bad = await minic(["push", "app:1", ref, "--compression", "lz4", "--store", store]);
      expect([bad.exitCode, bad.stderr.trim()]).toEqual([2, "minic: unknown --compression 'lz4' (hint: use gzip (default) or zstd: how the OCI variant's layers are compressed)"]);
    });

    it("logs in where the registry wants it: --creds, or the auth file skopeo login wrote; podman pulls with it too", async () => {
      const login = { user: "minic", password: "pa:ss word" };
      const secured = await startRegistry(join(t.path, "registry-login"), login);
      try {
        const ref = `${secured.host}/private/app:1`;
        const anon = await minic(["push", "app:1", ref, "--store", store]);
        expect(anon.exitCode).toBe(1);
        expect(anon.stderr.trim()).toMatch(/^minic: registry 127\.0\.0\.1:\d+ wants a login \(hint: give --creds USER:PASSWORD, or log in with podman, skopeo or docker login/);
        const wrong = await minic(["push", "app:1", ref, "--store", store, "--creds", "minic:nope"]);
        expect(wrong.exitCode).toBe(1);
        expect(wrong.stderr).toMatch(/HTTP 401.*refused the login from --creds/);
        await minicOk(["push", "app:1", ref, "--store", store, "--creds", `${login.user}:${login.password}`]);
        // skopeo login writes the auth file podman and skopeo share; minic reads it.
        const authfile = join(t.path, "auth.json");
        await peer(["skopeo", "login", "--tls-verify=false", "--authfile", authfile, "-u", login.user, "-p", login.password, secured.host]);
        const pulled = await minicOk(["pull", ref, "--store", join(t.path, "store-login"), "--authfile", authfile]);
        expect(pulled.stdout.trim()).toBe(`${ref} ${digest}`);
        const viaEnv = await minicOk(["pull", ref, "-t", "viaenv:1", "--store", join(t.path, "store-login")], { env: { ...process.env, REGISTRY_AUTH_FILE: authfile } });
        expect(viaEnv.stdout.trim()).toBe(`viaenv:1 ${digest}`);
        await peer(["podman", "pull", "-q", "--tls-verify=false", "--authfile", authfile, ref], { env });
        expect(await peer(["podman", "run", "--rm", "--network", "none", ref], { env })).toBe("hello from minic");
      } finally {
        await secured.stop();
      }
    });

    it("refuses a blob the registry serves tampered, leaving the store as it was", async () => {
      const ref = `${registry!.host}/tamper/app:1`;
      await minicOk(["push", "app:1", ref, "--format", "oci", "--store", store]);
      const blobsDir = join(registry!.dataDir, "docker/registry/v2/blobs/sha256");
      const tar = join(t.path, "probe.tar");
      await minicOk(["save", "app:1", "--format", "oci", "-o", tar, "--store", store]);
      const manifest = JSON.parse(await peer(["skopeo", "inspect", "--raw", `oci-archive:${tar}`]));
      const layer = manifest.layers[1].digest.slice(7) as string;
      appendFileSync(join(blobsDir, layer.slice(0, 2), layer, "data"), "tampered");
      const target = join(t.path, "store-tamper");
      await minicOk(["import", join(t.path, "umoci-tree"), "-t", "existing", "--store", target]);
      const before = storeListing(target);
      const r = await minic(["pull", ref, "--store", target]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/does not match its digest|bytes, not|is longer than the \d+ bytes its descriptor says/);
      expect(storeListing(target)).toEqual(before);
      rmSync(join(blobsDir, layer.slice(0, 2), layer), { recursive: true, force: true });
    });
  });
});
