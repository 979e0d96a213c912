// Multi-stage builds (issue 9 item 4): copy(from(stage, path), to) copies paths of another
// recipe's image (built first, as part of the build) or of an image in the store into the layer,
// and nothing else of the stage. The step's cache key holds the stage's diff ids: a builder that
// makes other output builds the step again, an unchanged one is a cache hit. Owners, modes,
// symlinks and hard links are the stage's; symlinks are resolved inside the stage, never on the
// host. An unknown stage image, a path the stage lacks and a stage that fails are one line naming
// the recipe and step, with nothing of the failing recipe written.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { minicOk } from "../helpers/cli.js";
import { buildJson, freshDirs } from "../helpers/run-steps.js";
import { storeNames } from "../helpers/store-check.js";
import { runtimeSuite, stackedImage } from "../runtime/fixtures.js";

const { fx, run } = runtimeSuite(async (fx) => {
  // A lower layer with /data/{a,b,sub/c}, an upper one deleting b and making sub opaque (with d).
  await stackedImage(fx.store, fx.tree, "stk", [
    { "data": { dir: true }, "data/a": "A\n", "data/b": "B\n", "data/sub": { dir: true }, "data/sub/c": "C\n" },
    { "data": { dir: true }, "data/b": { whiteout: true }, "data/sub": { opaque: true }, "data/sub/d": "D\n" },
  ]);
});

const dir = freshDirs(() => fx.root, "s");

/** Writes `d/NAME.ts` with `source` after the import of "minic"'s API; returns its path. */
function recipe(d: string, name: string, source: string): string {
  const file = join(d, `${name}.ts`);
  writeFileSync(file, `import { arg, copy, defineRecipe, file, from, run } from "minic";\n${source}\n`);
  return file;
}

/** A builder stage on `bb` whose run step "compiles" /out/app (printing `msg`) beside an object file and sources. */
function builder(d: string, name = "builder", msg = `arg("MSG", "hello from app")`, noop = ""): string {
  return recipe(d, name, `export default defineRecipe({ name: "${name}", base: "bb", steps: [
  run(\`${noop}mkdir -p /src /out && echo 'main() {}' > /src/main.c && echo obj > /out/app.o && (echo '#!/bin/sh'; echo "echo \${${msg}}") > /out/app && busybox chmod 755 /out/app\`),
] });`);
}

const blobPath = (digest: string) => join(fx.store, "blobs", "sha256", digest.replace(/^sha256:/, ""));

/** The layer's entries as `cpio -tv` shows them: name → "perm nlink uid gid" (and " -> target" for links). */
function layerListing(digest: string): Record<string, string> {
  const out: Record<string, string> = {};
  const text = execFileSync("sh", ["-c", `bzip2 -dc '${blobPath(digest)}' | cpio -itv --quiet --numeric-uid-gid`], { encoding: "utf8" });
  for (const line of text.split("\n").filter(Boolean)) {
    const f = line.split(/\s+/);
    const rest = f.slice(8).join(" ");
    const [name, target] = rest.split(" -> ");
    // A directory's link count is its subdirectories': left out.
    out[name!] = `${f[0]}${f[0]!.startsWith("d") ? "" : ` ${f[1]}`} ${f[2]} ${f[3]}${target === undefined ? "" : ` -> ${target}`}`;
  }
  return out;
}

/** The bytes of `name` in the layer. */
const layerFile = (digest: string, name: string) => execFileSync("sh", ["-c", `bzip2 -dc '${blobPath(digest)}' | cpio -i --to-stdout --quiet '${name}'`], { encoding: "utf8" });

const manifestLayers = async (image: string) => (JSON.parse((await minicOk(["inspect", image, "--json", "--store", fx.store])).stdout) as { layers: { digest: string }[] }).layers.map((l) => l.digest);

/** minic: lines of a failed build's output. */
const errorLines = (out: string) => out.split("\n").filter((l) => l.startsWith("minic:"));

/** What a failed build must not have written for `name`: its image name and its last-build record. */
function nothingOf(name: string): void {
  expect(storeNames(fx.store).filter((n) => n.startsWith(`${name}:`))).toEqual([]);
  expect(existsSync(join(fx.store, "cache", "last", `${name}.json`))).toBe(false);
}

const blobs = () => readdirSync(join(fx.store, "blobs", "sha256")).sort();

describe("copy from a stage", () => {
  it("the final layer holds exactly what was copied and nothing of the builder", async () => {
    const d = dir();
    builder(d);
    const app = recipe(d, "app", `import builder from "./builder.ts";
export default defineRecipe({ name: "app", base: "bb", steps: [copy(from(builder, "/out/app"), "/usr/local/bin")], config: { cmd: ["/usr/local/bin/app"] } });`);
    const r = await buildJson(fx.store, app);
    expect(r.exitCode, r.out).toBe(0);
    const layer = r.top!.layer!.digest;
    expect(layerListing(layer)).toEqual({
      "usr": "drwxr-xr-x 0 0",
      "usr/local": "drwxr-xr-x 0 0",
      "usr/local/bin": "drwxr-xr-x 0 0",
      "usr/local/bin/app": "-rwxr-xr-x 1 0 0",
    });
    expect(layerFile(layer, "usr/local/bin/app")).toBe("#!/bin/sh\necho hello from app\n");
    // The builder was built in the same build and named; none of its layers is in the app's image.
    const builderLayers = await manifestLayers("builder");
    const appLayers = await manifestLayers("app");
    expect(appLayers).toHaveLength(2);
    expect(appLayers.filter((l) => builderLayers.slice(1).includes(l))).toEqual([]);
    expect((await run(["--net", "none", "app"])).stdout.trim()).toBe("hello from app");
  });

  it("a builder that makes other output builds the step again; an unchanged builder is a cache hit; --explain says what the step depends on", async () => {
    const d = dir();
    // Not the first test's builder (its layer would come from the cache); NOISE changes the step, not what it makes.
    builder(d, "cbuilder", `arg("MSG", "hello from capp")`, `: \${arg("NOISE", "")} && `);
    const app = recipe(d, "capp", `import builder from "./cbuilder.ts";
export default defineRecipe({ name: "capp", base: "bb", steps: [copy(from(builder, "/out/app"), "/bin2")] });`);
    const first = await buildJson(fx.store, app);
    expect(first.exitCode, first.out).toBe(0);
    const again = await buildJson(fx.store, app, ["--explain"]);
    expect(again.exitCode, again.out).toBe(0);
    expect(again.top!.cached).toBe(true);
    expect(again.out).toMatch(/capp: step 1 \(copy \/out\/app from stage cbuilder -> \/bin2\) depends on stage 'cbuilder': image sha256:[0-9a-f]{12}…, layers sha256:[0-9a-f]{12}…, sha256:[0-9a-f]{12}…/);
    const changed = await buildJson(fx.store, app, ["--explain", "--arg", "MSG=goodbye"]);
    expect(changed.exitCode, changed.out).toBe(0);
    expect(changed.top!.cached).toBe(false);
    expect(changed.out).toMatch(/cbuilder: cache miss: step 1 \(run /);
    expect(changed.out).toMatch(/capp: cache miss: step 1 \(copy \/out\/app from stage cbuilder -> \/bin2\) changed/);
    expect(layerFile(changed.top!.layer!.digest, "bin2/app")).toBe("#!/bin/sh\necho goodbye\n");
    // Another builder step that makes the same layer: the builder is built again, the copy is cached.
    const noise = await buildJson(fx.store, app, ["--explain", "--arg", "NOISE=x"]);
    expect(noise.exitCode, noise.out).toBe(0);
    expect(noise.out).toMatch(/cbuilder: cache miss: step 1 \(run : x && mkdir/);
    expect(noise.out).toMatch(/capp: cache hit/);
    expect(noise.top!.layer!.digest).toBe(first.top!.layer!.digest);
    // Back to the first output: both layers come from the cache.
    const back = await buildJson(fx.store, app);
    expect(back.top!.cached).toBe(true);
    expect(back.top!.layer!.digest).toBe(first.top!.layer!.digest);
  });

  it("from an image of the store, by name or digest: its merged tree (deletions and opaque directories applied), globs in a name", async () => {
    const d = dir();
    const digest = JSON.parse((await minicOk(["inspect", "stk", "--json", "--store", fx.store])).stdout).manifest as string;
    const r = await buildJson(fx.store, recipe(d, "fromimg", `export default defineRecipe({ name: "fromimg", steps: [
  copy(from("stk", "/data"), "/srv/data"),
  copy(from("${digest}", "/etc/*-release"), "/srv/etc"),
] });`));
    expect(r.exitCode, r.out).toBe(0);
    expect(Object.keys(layerListing(r.top!.layer!.digest)).sort()).toEqual(["srv", "srv/data", "srv/data/a", "srv/data/sub", "srv/data/sub/d", "srv/etc", "srv/etc/os-release"]);
    expect(layerFile(r.top!.layer!.digest, "srv/data/sub/d")).toBe("D\n");
  });

  it("keeps the stage's owners, modes, symlinks and hard links; the step's uid, gid and mode win where given", async () => {
    const d = dir();
    recipe(d, "obuilder", `export default defineRecipe({ name: "obuilder", base: "bb", steps: [
  run("mkdir -p /out/sub && echo tool > /out/tool && busybox chown 7:8 /out/tool && busybox chmod 4750 /out/tool && busybox ln /out/tool /out/sub/hard && busybox ln -s tool /out/lnk && busybox chown 3:4 /out/sub && busybox chmod 700 /out/sub"),
] });`);
    const r = await buildJson(fx.store, recipe(d, "oapp", `import b from "./obuilder.ts";
export default defineRecipe({ name: "oapp", base: "bb", steps: [
  copy(from(b, "/out"), "/opt"),
  copy(from(b, "/out/tool"), "/usr/bin", { uid: 0, gid: 0, mode: 0o755 }),
] });`));
    expect(r.exitCode, r.out).toBe(0);
    const l = layerListing(r.top!.layer!.digest);
    expect(l["opt/tool"]).toBe("-rwsr-x--- 2 7 8");
    expect(l["opt/sub/hard"]).toBe("-rwsr-x--- 2 7 8");
    expect(l["opt/sub"]).toBe("drwx------ 3 4");
    expect(l["opt/lnk"]).toBe("lrwxrwxrwx 1 0 0 -> tool");
    expect(l["usr/bin/tool"]).toBe("-rwxr-xr-x 1 0 0");
  });

  it("a symlink in the stage is resolved inside the stage, never on the host", async () => {
    const d = dir();
    recipe(d, "lbuilder", `export default defineRecipe({ name: "lbuilder", base: "bb", steps: [
  run("mkdir -p /out && busybox ln -s /etc/passwd /out/pw && busybox ln -s ../../../../etc/debian_version /out/dv"),
] });`);
    const ok = await buildJson(fx.store, recipe(d, "lapp", `import b from "./lbuilder.ts";
export default defineRecipe({ name: "lapp", steps: [copy(from(b, "/out/pw"), "/got"), copy(from(b, "/out"), "/links")] });`));
    expect(ok.exitCode, ok.out).toBe(0);
    const layer = ok.top!.layer!.digest;
    // The stage's /etc/passwd (the busybox tree's), not the host's.
    const stagePasswd = readFileSync(join(fx.tree, "etc/passwd"), "utf8");
    expect(layerFile(layer, "got/pw")).toBe(stagePasswd);
    expect(readFileSync("/etc/passwd", "utf8")).not.toBe(stagePasswd);
    // Inside a copied directory the links stay links.
    expect(layerListing(layer)["links/pw"]).toBe("lrwxrwxrwx 1 0 0 -> /etc/passwd");
    // The host has /etc/debian_version, the stage has not: the link is not followed out of the stage.
    expect(existsSync("/etc/debian_version")).toBe(true);
    const bad = await buildJson(fx.store, recipe(d, "lbad", `import b from "./lbuilder.ts";
export default defineRecipe({ name: "lbad", steps: [copy(from(b, "/out/dv"), "/got")] });`));
    expect(bad.exitCode).toBe(1);
    expect(errorLines(bad.out)).toEqual([expect.stringMatching(/^minic: recipe 'lbad' step 1: '\/out\/dv' is not in stage 'lbuilder' \(hint: /)]);
    nothingOf("lbad");
  });

  it("errors: an unknown stage image, a path absent in the stage, a stage that fails; one line naming the recipe and step, nothing written", async () => {
    const d = dir();
    builder(d, "ebuilder");
    await minicOk(["build", join(d, "ebuilder.ts"), "--store", fx.store]);
    const before = blobs();
    const unknown = await buildJson(fx.store, recipe(d, "eimg", `export default defineRecipe({ name: "eimg", base: "bb", steps: [file("/a", "a"), copy(from("nope:1", "/bin/app"), "/bin")] });`));
    expect(unknown.exitCode).toBe(1);
    expect(errorLines(unknown.out)).toEqual([
      "minic: recipe 'eimg' step 2: stage image 'nope:1' is not in the store (hint: build, load or pull it first (minic images lists the store), or give from() the recipe that builds it)",
    ]);
    nothingOf("eimg");
    const absent = await buildJson(fx.store, recipe(d, "epath", `import b from "./ebuilder.ts";
export default defineRecipe({ name: "epath", base: "bb", steps: [copy(from(b, "/out/nothing"), "/bin")] });`));
    expect(absent.exitCode).toBe(1);
    expect(errorLines(absent.out)).toEqual([expect.stringMatching(/^minic: recipe 'epath' step 1: '\/out\/nothing' is not in stage 'ebuilder' \(hint: check the path/)]);
    nothingOf("epath");
    const glob = await buildJson(fx.store, recipe(d, "eglob", `import b from "./ebuilder.ts";
export default defineRecipe({ name: "eglob", base: "bb", steps: [copy(from(b, "/out/*.so"), "/lib")] });`));
    expect(errorLines(glob.out)).toEqual([expect.stringMatching(/^minic: recipe 'eglob' step 1: '\/out\/\*\.so' matches nothing in stage 'ebuilder'/)]);
    nothingOf("eglob");
    expect(blobs()).toEqual(before);
    recipe(d, "failing", `export default defineRecipe({ name: "failing", base: "bb", steps: [run("echo compiling; exit 3")] });`);
    const failed = await buildJson(fx.store, recipe(d, "efail", `import b from "./failing.ts";
export default defineRecipe({ name: "efail", base: "bb", steps: [copy(from(b, "/out/app"), "/bin")] });`));
    expect(failed.exitCode).toBe(1);
    expect(errorLines(failed.out)).toEqual([expect.stringMatching(/^minic: recipe 'efail' step 1: stage 'failing': recipe 'failing' step 1: command exited with status 3: compiling \(hint: /)]);
    nothingOf("efail");
    nothingOf("failing");
    expect(blobs()).toEqual(before);
  });
});
