// The member policy as data: each hazard is one case, checked without touching the disk.
import { describe, expect, it } from "vitest";
import type { Entry, EntryKind } from "../../src/archive/entry.js";
import { admitMember, IMPORT_POLICY, LAYER_POLICY } from "../../src/share/member-policy.js";
import { parseRegistryRef, registryScheme } from "../../src/share/registry-ref.js";
import { chooseManifest, unwrapMinicManifest, wrapMinicManifest } from "../../src/share/registry-image.js";
import { fromOciConfig, toOciConfig } from "../../src/share/oci-config.js";
import { mergeRunConfig } from "../../src/core/recipe-canonical.js";
import { parseSignal } from "../../src/runtime/run-spec.js";
import { canonicalJson } from "../../src/core/digest.js";
import type { ImageConfig, Manifest } from "../../src/core/image.js";

const file = (name: string, extra: Partial<Entry> = {}): Entry => ({ name, kind: "file", mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 0, ...extra });
const tree = (o: Record<string, EntryKind>) => new Map(Object.entries(o));

describe("admitMember", () => {
  it("refuses names that climb out and makes absolute names relative", () => {
    expect(() => admitMember(tree({}), { rawName: "../etc/passwd", entry: file("../etc/passwd") }, IMPORT_POLICY)).toThrow(/climbs out/);
    expect(() => admitMember(tree({}), { rawName: "a/../../x", entry: file("a/../../x") }, IMPORT_POLICY)).toThrow(/climbs out/);
    // (uid_t)-1 owns no file: chown(2) leaves the owner as it is, so the unpacked tree was root's
    // while export said 4294967295. Taken as root, as every extractor running as root makes it.
    const owner = (uid: number, gid: number) => { const a = admitMember(tree({}), { rawName: "f", entry: file("f", { uid, gid }) }, LAYER_POLICY); return a.action === "add" ? [a.entry.uid, a.entry.gid] : a.action; };
    expect(owner(2 ** 32 - 1, 5)).toEqual([0, 5]);
    expect(owner(7, 2 ** 32 - 1)).toEqual([7, 0]);
    expect(owner(2 ** 32 - 2, 2 ** 32 - 2)).toEqual([2 ** 32 - 2, 2 ** 32 - 2]);
    // A NUL byte is what is wrong with such a name (it was said to climb out).
    expect(() => admitMember(tree({}), { rawName: "a\0b", entry: file("a\0b") }, IMPORT_POLICY)).toThrow(/its name holds a NUL byte, which no file name can/);
    const a = admitMember(tree({}), { rawName: "/etc/passwd", entry: file("/etc/passwd") }, IMPORT_POLICY);
    expect(a.action === "add" && a.entry.name).toBe("etc/passwd");
  });

  it("refuses a member below a symlink or a file of the same archive", () => {
    expect(() => admitMember(tree({ evil: "symlink" }), { rawName: "evil/x", entry: file("evil/x") }, LAYER_POLICY)).toThrow(/symlink/);
    expect(() => admitMember(tree({ a: "dir", "a/b": "symlink" }), { rawName: "a/b/c/d", entry: file("a/b/c/d") }, LAYER_POLICY)).toThrow(/symlink/);
    expect(() => admitMember(tree({ f: "file" }), { rawName: "f/x", entry: file("f/x") }, LAYER_POLICY)).toThrow(/not a directory/);
  });

  it("admits a hard link only to an earlier file or symlink of the same archive", () => {
    expect(() => admitMember(tree({}), { rawName: "x", entry: file("x"), hardlinkTo: "/etc/shadow" }, LAYER_POLICY)).toThrow(/not an earlier file/);
    expect(() => admitMember(tree({}), { rawName: "x", entry: file("x"), hardlinkTo: "../../etc/shadow" }, LAYER_POLICY)).toThrow(/not an earlier file/);
    expect(() => admitMember(tree({ d: "dir" }), { rawName: "x", entry: file("x"), hardlinkTo: "d" }, LAYER_POLICY)).toThrow("refusing archive member 'x': it is a hard link to 'd', which is a directory of it (hard links are to files only)");
    expect(admitMember(tree({ a: "file" }), { rawName: "x", entry: file("x"), hardlinkTo: "a" }, LAYER_POLICY)).toMatchObject({ action: "link", target: "a" });
  });

  it("drops, refuses or keeps device nodes as the policy says", () => {
    const dev: Entry = { ...file("dev/sda"), kind: "blockdev", rdevMajor: 8, rdevMinor: 0 };
    expect(admitMember(tree({}), { rawName: dev.name, entry: dev }, IMPORT_POLICY)).toEqual({ action: "skip", notes: ["dropped-device"] });
    expect(() => admitMember(tree({}), { rawName: dev.name, entry: dev }, { ...LAYER_POLICY, devices: "refuse" })).toThrow(/device/);
    expect(admitMember(tree({}), { rawName: dev.name, entry: dev }, { ...LAYER_POLICY, devices: "keep" }).action).toBe("add");
  });

  it("a hard link to a device node the policy dropped goes with it (it was refused as 'not an earlier file')", () => {
    const dev: Entry = { ...file("dev/null"), kind: "chardev", rdevMajor: 1, rdevMinor: 3 };
    expect(admitMember(tree({}), { rawName: "dev/null2", entry: file("dev/null2"), hardlinkTo: "dev/null" }, LAYER_POLICY, new Set(["dev/null"]))).toEqual({ action: "skip", notes: ["dropped-device"] });
    // Never a way around the checks: a name admitted since, or one never dropped, is judged as before.
    expect(admitMember(tree({ "dev/null": "file" }), { rawName: "x", entry: file("x"), hardlinkTo: "dev/null" }, LAYER_POLICY, new Set(["dev/null"]))).toMatchObject({ action: "link" });
    expect(() => admitMember(tree({}), { rawName: "x", entry: file("x"), hardlinkTo: "dev/zero" }, LAYER_POLICY, new Set(["dev/null"]))).toThrow(/not an earlier file/);
    expect(admitMember(tree({}), { rawName: dev.name, entry: dev }, LAYER_POLICY)).toEqual({ action: "skip", notes: ["dropped-device"] });
  });

  it("skips aufs's metadata at a layer's root, as Docker does; refuses it in a minic layer and any .wh..wh. marker below the root", () => {
    for (const name of [".wh..wh.aufs", ".wh..wh.plnk", ".wh..wh.plnk/123.456", ".wh..wh.orph", "/.wh..wh.orph/x"]) {
      expect(admitMember(tree({}), { rawName: name, entry: file(name) }, LAYER_POLICY)).toEqual({ action: "skip", notes: ["skipped-aufs-meta"] });
    }
    for (const name of [".wh..wh.aufs", ".wh..wh.plnk", ".wh..wh.orph"]) {
      expect(() => admitMember(tree({}), { rawName: name, entry: file(name) }, { ...LAYER_POLICY, aufsMeta: "refuse" })).toThrow(/unknown whiteout marker/);
    }
    expect(() => admitMember(tree({ a: "dir" }), { rawName: "a/.wh..wh.aufs", entry: file("a/.wh..wh.aufs") }, LAYER_POLICY)).toThrow(/unknown whiteout marker/);
    // The opaque marker is no aufs metadata: below the root it is kept; at the root it hides nothing, and is skipped.
    expect(admitMember(tree({ a: "dir" }), { rawName: "a/.wh..wh..opq", entry: file("a/.wh..wh..opq") }, LAYER_POLICY).action).toBe("add");
    expect(admitMember(tree({}), { rawName: "./.wh..wh..opq", entry: file(".wh..wh..opq") }, LAYER_POLICY)).toEqual({ action: "skip", notes: ["skipped-root-opaque"] });
  });

  it("clears setuid/setgid on imports unless asked, keeps them in layers", () => {
    const su = file("bin/su", { mode: 0o4755 });
    const a = admitMember(tree({}), { rawName: su.name, entry: su }, IMPORT_POLICY);
    expect(a.action === "add" && a.entry.mode).toBe(0o755);
    expect(a.notes).toEqual(["cleared-setuid"]);
    const b = admitMember(tree({}), { rawName: su.name, entry: su }, LAYER_POLICY);
    expect(b.action === "add" && b.entry.mode).toBe(0o4755);
    const c = admitMember(tree({}), { rawName: su.name, entry: { ...su, uid: 5 } }, { ...IMPORT_POLICY, owners: "root" });
    expect(c.action === "add" && c.entry.uid).toBe(0);
  });

  it("refuses bare and malformed whiteouts, normalises good ones", () => {
    expect(() => admitMember(tree({}), { rawName: "a/.wh.", entry: file("a/.wh.") }, LAYER_POLICY)).toThrow(/bare/);
    expect(() => admitMember(tree({}), { rawName: ".wh..", entry: file(".wh..") }, LAYER_POLICY)).toThrow(/'\.'/);
    expect(() => admitMember(tree({ a: "dir" }), { rawName: "a/.wh..wh.plnk", entry: file("a/.wh..wh.plnk") }, LAYER_POLICY)).toThrow(/unknown whiteout/);
    const w = admitMember(tree({}), { rawName: "etc/.wh.motd", entry: file("etc/.wh.motd", { mode: 0o644, uid: 3 }) }, LAYER_POLICY);
    expect(w.action === "add" && w.entry).toMatchObject({ mode: 0, uid: 0, size: 0 });
  });

  it("refuses a root member named TRAILER!!! but not a nested one", () => {
    expect(() => admitMember(tree({}), { rawName: "TRAILER!!!", entry: file("TRAILER!!!") }, IMPORT_POLICY)).toThrow(/end marker/);
    expect(admitMember(tree({}), { rawName: "etc/TRAILER!!!", entry: file("etc/TRAILER!!!") }, IMPORT_POLICY).action).toBe("add");
  });
});

describe("registry references", () => {
  it("parses host, repository, tag and digest; requires a host", () => {
    expect(parseRegistryRef("127.0.0.1:5000/apps/web:1")).toEqual({ host: "127.0.0.1:5000", repository: "apps/web", reference: "1" });
    expect(parseRegistryRef("localhost/web")).toMatchObject({ host: "localhost", repository: "web", reference: "latest" });
    const d = `sha256:${"a".repeat(64)}`;
    expect(parseRegistryRef(`reg.example.com/web@${d}`)).toMatchObject({ reference: d, digest: d });
    expect(() => parseRegistryRef("web:1")).toThrow(/no registry host/);
    expect(() => parseRegistryRef("library/web")).toThrow(/not a registry host/);
    expect(() => parseRegistryRef("localhost/Web")).toThrow(/repository/);
  });

  it("uses http only for loopback hosts or with --insecure", () => {
    expect(registryScheme("127.0.0.1:5000", false)).toBe("http");
    expect(registryScheme("localhost:5000", false)).toBe("http");
    expect(registryScheme("[::1]:5000", false)).toBe("http");
    expect(registryScheme("reg.example.com", false)).toBe("https");
    expect(registryScheme("10.0.0.1:5000", false)).toBe("https");
    expect(registryScheme("10.0.0.1:5000", true)).toBe("http");
  });
});

describe("minic image in a registry manifest", () => {
  const d = (c: string) => `sha256:${c.repeat(64)}` as const;
  const manifest: Manifest = {
    schemaVersion: 1, mediaType: "application/vnd.minic.manifest.v1+json",
    config: { mediaType: "application/vnd.minic.config.v1+json", digest: d("c"), size: 10 },
    layers: [{ mediaType: "application/vnd.minic.layer.v1.cpio+bzip2", digest: d("1"), size: 5, diffId: d("2") }],
  };
  it("round-trips byte for byte and refuses a mismatched annotation", () => {
    const json = canonicalJson(manifest);
    const w = wrapMinicManifest(manifest, json);
    expect(unwrapMinicManifest(w).json).toBe(json);
    const lying = { ...w, layers: [{ ...w.layers[0]!, digest: d("9") }] };
    expect(() => unwrapMinicManifest(lying)).toThrow(/does not match/);
  });

  it("prefers the minic entry of an index, else the host platform", async () => {
    const oci = { mediaType: "x", digest: d("a"), size: 1, platform: { architecture: "amd64", os: "linux" } };
    const arm = { ...oci, digest: d("b"), platform: { architecture: "arm64", os: "linux", variant: "v8" } };
    const mini = { mediaType: "x", digest: d("c"), size: 1, artifactType: "application/vnd.minic.image.v1" };
    const none = () => Promise.reject(new Error("no manifest should be read"));
    expect(await chooseManifest({ schemaVersion: 2, manifests: [oci, mini] }, none, "amd64")).toEqual({ descriptor: mini, what: "minic image" });
    expect(await chooseManifest({ schemaVersion: 2, manifests: [arm, oci] }, none, "amd64")).toEqual({ descriptor: oci, what: "linux/amd64" });
    await expect(chooseManifest({ schemaVersion: 2, manifests: [arm] }, none, "amd64")).rejects.toThrow(/no image for linux\/amd64 among 1 manifest\(s\) \(platforms: linux\/arm64\/v8\)/);
  });

  it("finds a minic image whose index entry lost its artifactType by its manifest (artifactType, else config.mediaType)", async () => {
    const oci = { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: d("a"), size: 1, platform: { architecture: "amd64", os: "linux" } };
    const bare = { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: d("c"), size: 1 };
    const manifest = (configType: string, artifactType?: string) => async () => ({
      schemaVersion: 2, mediaType: bare.mediaType, config: { mediaType: configType, digest: d("e"), size: 1 }, layers: [], ...(artifactType ? { artifactType } : {}),
    });
    const index = { schemaVersion: 2, manifests: [oci, bare] };
    expect((await chooseManifest(index, manifest("application/vnd.oci.image.config.v1+json", "application/vnd.minic.image.v1"), "amd64")).descriptor).toBe(bare);
    expect((await chooseManifest(index, manifest("application/vnd.minic.config.v1+json"), "amd64")).descriptor).toBe(bare);
    expect((await chooseManifest(index, manifest("application/vnd.oci.image.config.v1+json"), "amd64")).descriptor).toBe(oci);
  });

  it("finds the unknown/unknown minic entry of a pushed index after a copy dropped its artifactType, and reads no other entry", async () => {
    const oci = { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: d("a"), size: 1, platform: { architecture: "amd64", os: "linux" } };
    const mini = { mediaType: oci.mediaType, digest: d("c"), size: 1, platform: { architecture: "unknown", os: "unknown" } };
    const read: string[] = [];
    const manifest = (configType: string) => async (e: { digest: string }) => {
      read.push(e.digest);
      return { schemaVersion: 2 as const, mediaType: oci.mediaType, config: { mediaType: configType, digest: d("e"), size: 1 }, layers: [] };
    };
    const index = { schemaVersion: 2 as const, manifests: [oci, mini] };
    expect(await chooseManifest(index, manifest("application/vnd.minic.config.v1+json"), "amd64")).toEqual({ descriptor: mini, what: "minic image" });
    expect(read).toEqual([d("c")]);
    // an unknown/unknown entry that is not minic's (BuildKit's attestation manifests) is passed over
    expect((await chooseManifest(index, manifest("application/vnd.oci.image.config.v1+json"), "amd64")).descriptor).toBe(oci);
  });
});

describe("OCI config mapping", () => {
  it("keeps run settings through OCI, hostname and limits as io.minic labels", () => {
    const cfg: ImageConfig = {
      schemaVersion: 1, architecture: "amd64", os: "linux", created: "2024-01-02T03:04:05.000Z",
      config: { cmd: ["/bin/httpd", "-f"], entrypoint: [], env: ["A=1", "PATH=/bin"], workdir: "/srv", user: "100", hostname: "web", limits: { memoryBytes: 67108864, pids: 32 }, labels: { app: "x" } },
      rootfs: { type: "layers", diffIds: [] }, history: [{ createdBy: "hello" }],
    };
    const oci = toOciConfig(cfg, [`sha256:${"1".repeat(64)}`]);
    expect(oci.config?.Labels).toMatchObject({ app: "x", "io.minic.hostname": "web" });
    const back = fromOciConfig(oci, 1);
    expect(back.run).toEqual(cfg.config);
    expect(back.history).toEqual([{ createdBy: "hello" }]);
    expect(back.created).toBe(1704164645);
  });
  it("keeps the ports, volumes, health check, shell, ONBUILD and stop signal of a loaded image for save and push, and adds no command or env", () => {
    const extras = {
      ExposedPorts: { "8080/tcp": {}, "53/udp": {} }, Volumes: { "/data": {} }, StopSignal: "SIGQUIT",
      Healthcheck: { Test: ["CMD", "true"], Interval: 5_000_000_000 }, Shell: ["/bin/bash", "-c"], OnBuild: ["RUN make"],
    };
    const mapped = fromOciConfig({ os: "linux", architecture: "amd64", config: { ...extras, Labels: null } }, 0);
    expect(mapped.run).toMatchObject({ cmd: [], entrypoint: [], env: [], oci: extras });
    const cfg: ImageConfig = { schemaVersion: 1, architecture: "amd64", os: "linux", created: "2024-01-02T03:04:05.000Z", config: mapped.run, rootfs: { type: "layers", diffIds: [] }, history: [] };
    const oci = toOciConfig(cfg, []);
    expect(oci.config).toMatchObject(extras);
    expect(oci.config).not.toHaveProperty("Cmd");
    expect(oci.config?.Env).toEqual([]);
    // Empty or null ones are no settings; a minic image without any has no oci member at all.
    expect(fromOciConfig({ os: "linux", architecture: "amd64", config: { ExposedPorts: null, Volumes: {}, Shell: [], StopSignal: "" } }, 0).run).not.toHaveProperty("oci");
    // An image built on it keeps all but ONBUILD (whose triggers are for that build, which minic does not run).
    const child = mergeRunConfig(mapped.run, { cmd: ["/app"] }, (l) => l as never);
    const { OnBuild: _, ...inherited } = extras;
    expect(child.oci).toEqual(inherited);
  });

  it("keeps a docker config's Hostname (buildah writes its build container's id) for save, and does not make it the container's host name", () => {
    const mapped = fromOciConfig({ os: "linux", architecture: "amd64", config: { Hostname: "3f2a9c0d1e2b", Cmd: ["/bin/sh"] } }, 0);
    expect(mapped.run.hostname).toBe("");
    expect(mapped.run.oci).toEqual({ Hostname: "3f2a9c0d1e2b" });
    const cfg: ImageConfig = { schemaVersion: 1, architecture: "amd64", os: "linux", created: "2024-01-02T03:04:05.000Z", config: mapped.run, rootfs: { type: "layers", diffIds: [] }, history: [] };
    expect(toOciConfig(cfg, []).config).toMatchObject({ Hostname: "3f2a9c0d1e2b" });
    expect(toOciConfig(cfg, []).config?.Labels).toBeUndefined();
    // minic's own host name travels as its label and wins.
    expect(fromOciConfig({ os: "linux", architecture: "amd64", config: { Hostname: "x", Labels: { "io.minic.hostname": "web" } } }, 0).run.hostname).toBe("web");
    // An image built on it does not take it.
    expect(mergeRunConfig(mapped.run, { cmd: ["/app"] }, (l) => l as never)).not.toHaveProperty("oci");
  });

  it("reads stop signals as Docker names them; SIGKILL, SIGSTOP and unknown ones are none", () => {
    expect(["SIGQUIT", "QUIT", "quit", "3", "SIGUSR1", "10"].map(parseSignal)).toEqual(["SIGQUIT", "SIGQUIT", "SIGQUIT", "SIGQUIT", "SIGUSR1", "SIGUSR1"]);
    expect(["SIGKILL", "9", "STOP", "SIGBOGUS", "", "99", "SIGRTMIN+3"].map(parseSignal)).toEqual([undefined, undefined, undefined, undefined, undefined, undefined, undefined]);
  });

  it("drops env entries that name no value (nspawn would fill them in from the host), last definition of a name wins", () => {
    const back = fromOciConfig({ os: "linux", architecture: "amd64", config: { Env: ["PATH=/bin", "AWS_SECRET_ACCESS_KEY", "A=1", "A=2", "=x"] } }, 0);
    expect(back.run.env).toEqual(["A=2", "PATH=/bin"]);
  });
});
