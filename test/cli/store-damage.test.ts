// Each kind of store damage issue 11 measured, done to a copy of a real store: build never exits 0
// over a damaged image (it writes or builds again what is missing or does not match its digest,
// or says what to do), one bad ref or manifest is reported while images and gc go on with the
// rest, damaged cache records and digests are dropped, not obeyed, and fsck finds it all.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sealRecord } from "../../src/core/sealed-record.js";
import { processStart, writeState } from "../../src/runtime/state.js";
import { minic, minicOk, ROOT, tempDir } from "../helpers/cli.js";

const t = tempDir("minic-damage-");
afterAll(() => t.remove());
const seed = join(t.path, "seed");
const recipe = join(t.path, "app", "app.ts");
let n = 0;

const sha = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const blob = (store: string, d: string) => join(store, "blobs/sha256", d.slice(7));
/** Flips one bit in the middle of a file, as a failing disk or a stray write would. */
const flip = (path: string) => {
  const b = readFileSync(path);
  b[b.length >> 1]! ^= 0x20;
  writeFileSync(path, b);
};

interface Image {
  manifest: string;
  config: string;
  layers: { digest: string; diffId: string }[];
}

function image(store: string, name: string): Image {
  const ref = readFileSync(join(store, "refs", encodeURIComponent(name), "latest"), "utf8").trim();
  const m = JSON.parse(readFileSync(blob(store, ref), "utf8"));
  return { manifest: ref, config: m.config.digest, layers: m.layers };
}

/**
 * A fresh copy of the seed store (built once: busybox, then app on it), without its unpacked
 * layers: a copy has new inodes and ctimes, which their seals would take for changes.
 */
function copyStore(): string {
  const s = join(t.path, `s${n++}`);
  execFileSync("cp", ["-a", seed, s]);
  for (const f of readdirSync(join(s, "unpacked"))) rmSync(join(s, "unpacked", f), { recursive: true });
  return s;
}

/** The image is whole: every blob it names holds what its digest says, save reads it all, fsck finds nothing (`fsck`). */
async function whole(store: string, name = "app", fsck = true): Promise<void> {
  const img = image(store, name);
  for (const d of [img.manifest, img.config, ...img.layers.map((l) => l.digest)]) expect(sha(readFileSync(blob(store, d)))).toBe(d);
  await minicOk(["save", name, "-o", join(t.path, "out.tar"), "--store", store]);
  if (!fsck) return;
  const r = await minic(["fsck", "--dry-run", "--json", "--store", store]);
  expect(JSON.parse(r.stdout).problems).toEqual([]);
  expect(r.exitCode).toBe(0);
}

const build = (store: string, ...args: string[]) => minic(["build", recipe, "--store", store, ...args]);

beforeAll(async () => {
  mkdirSync(join(t.path, "app", "data"), { recursive: true });
  writeFileSync(join(t.path, "app", "data", "page.html"), "<p>hello</p>\n");
  writeFileSync(recipe, [
    'import { copy, defineRecipe, file } from "minic";',
    `import busybox from ${JSON.stringify(join(ROOT, "recipes/busybox.ts"))};`,
    'export default defineRecipe({ name: "app", base: busybox, steps: [copy("data/**", "/srv"), file("/etc/app.conf", "x=1\\n")] });',
  ].join("\n"));
  await minicOk(["build", recipe, "--store", seed, "-q"]);
  // The copied file's digest is remembered only once it is 2 s old (racily clean otherwise).
  execFileSync("touch", ["-d", "-1 minute", join(t.path, "app", "data", "page.html")]);
  await minicOk(["build", recipe, "--store", seed, "-q", "--no-cache"]);
  await minicOk(["build", recipe, "--store", seed, "-q"]); // remembers the cached layers as verified
}, 120_000);

describe("build over a damaged image", () => {
  it("a flipped manifest or config blob is written again (also with --no-cache)", async () => {
    for (const which of ["manifest", "config"] as const) {
      for (const args of [[], ["--no-cache"]]) {
        const s = copyStore();
        const before = image(s, "app");
        flip(blob(s, before[which]));
        const r = await build(s, ...args);
        expect(r.exitCode, r.stderr).toBe(0);
        expect(image(s, "app")).toEqual(before);
        await whole(s);
      }
    }
  });

  it("a flipped cached layer blob is built again, and the build says so", async () => {
    const s = copyStore();
    const before = image(s, "app");
    flip(blob(s, before.layers[1]!.digest));
    const r = await build(s);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(/app: the cached layer sha256:[0-9a-f]{12}… is damaged \(its bytes do not match its digest\); building it again/);
    expect(image(s, "app")).toEqual(before);
    await whole(s);
  });

  it("a missing manifest, config or layer blob is written or built again", async () => {
    for (const which of ["manifest", "config", "layer"] as const) {
      const s = copyStore();
      const before = image(s, "app");
      rmSync(blob(s, which === "layer" ? before.layers[1]!.digest : before[which]));
      expect((await build(s)).exitCode).toBe(0);
      expect(image(s, "app")).toEqual(before);
      await whole(s);
    }
  });

  it("a damaged layer of a base image from the store is an error that says what to do", async () => {
    const s = copyStore();
    const dir = join(t.path, "on-store-base");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "r.ts"), 'import { defineRecipe, file } from "minic";\nexport default defineRecipe({ name: "top", base: "app:latest", steps: [file("/x", "x")] });\n');
    flip(blob(s, image(s, "app").layers[0]!.digest));
    const r = await minic(["build", join(dir, "r.ts"), "--store", s]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim()).toMatch(/^minic: recipe 'top': layer sha256:[0-9a-f]{12}… of base image 'app:latest' is damaged \(its bytes do not match its digest\) \(hint: load or pull the base image again, or build it from its recipe; 'minic fsck' lists what is damaged\)$/);
    expect(readdirSync(join(s, "refs"))).not.toContain("top");
  });
});

describe("one bad entry is reported and the rest goes on", () => {
  it("a deleted manifest: images lists the others, gc collects the rest; both exit 1 and point at fsck", async () => {
    const s = copyStore();
    const bb = image(s, "busybox");
    rmSync(blob(s, bb.manifest));
    const images = await minic(["images", "--store", s]);
    expect(images.exitCode).toBe(1);
    expect(images.stdout).toMatch(/^app:latest\s+[0-9a-f]{12}\s+2\s/m);
    expect(images.stdout).toMatch(/^busybox:latest\s+[0-9a-f]{12}\s+\?\s+\(damaged\)$/m);
    expect(images.stderr).toContain(`minic: image busybox:latest: blob ${bb.manifest} is missing from the store`);
    expect(images.stderr).toMatch(/run 'minic fsck'/);
    const gc = await minic(["gc", "--json", "--store", s]);
    expect(gc.exitCode).toBe(1);
    expect(JSON.parse(gc.stdout)).toMatchObject({ blobs: 1, damaged: [`image busybox:latest: blob ${bb.manifest} is missing from the store`] }); // its config
    await whole(s, "app", false); // busybox stays damaged until it is built again
  });

  it("a missing or flipped config: images lists the image as damaged and exits 1 (not as healthy)", async () => {
    const s = copyStore();
    const bb = image(s, "busybox");
    rmSync(blob(s, bb.config));
    const app = image(s, "app");
    flip(blob(s, app.config));
    const images = await minic(["images", "--store", s]);
    expect(images.exitCode).toBe(1);
    expect(images.stdout).toMatch(/^app:latest\s+[0-9a-f]{12}\s+\?\s+\(damaged\)$/m);
    expect(images.stdout).toMatch(/^busybox:latest\s+[0-9a-f]{12}\s+\?\s+\(damaged\)$/m);
    expect(images.stderr).toContain(`minic: image busybox:latest: blob ${bb.config} is missing from the store`);
    expect(images.stderr).toContain(`minic: image app:latest: blob ${app.config} is corrupt`);
  });

  it("a damaged name is an error that says so, never the same name under localhost/; rmi removes that name only", async () => {
    const s = copyStore();
    const app = image(s, "app");
    mkdirSync(join(s, "refs", "localhost%2Fapp"));
    writeFileSync(join(s, "refs", "localhost%2Fapp", "latest"), `${app.manifest}\n`);
    writeFileSync(join(s, "refs", "app", "latest"), "sha256:torn");
    for (const cmd of [["inspect", "app"], ["run", "app", "/bin/true"], ["save", "app", "-o", join(t.path, "d.tar")]]) {
      const r = await minic(["--store", s, ...cmd]);
      expect(r.exitCode, cmd.join(" ")).toBe(1);
      expect(r.stderr.trim().split("\n")[0]).toBe(`minic: the name app:latest is damaged: ${join(s, "refs", "app", "latest")} holds no manifest digest (hint: 'minic rmi app:latest' or 'minic fsck' removes it; then build, load or pull the image again)`);
    }
    const rmi = await minic(["rmi", "app", "--store", s]);
    expect(rmi.stdout.trim()).toBe("untagged app:latest");
    expect(rmi.exitCode).toBe(0);
    expect(readFileSync(join(s, "refs", "localhost%2Fapp", "latest"), "utf8").trim()).toBe(app.manifest);
    expect((await minic(["inspect", "app", "--store", s])).exitCode).toBe(0); // now localhost/app, as podman finds it
  });

  it("a stray refs/%ZZ/latest (not URI-encoded) is skipped by images, gc, inspect and rmi, and removed by fsck", async () => {
    const s = copyStore();
    mkdirSync(join(s, "refs", "%ZZ"));
    writeFileSync(join(s, "refs", "%ZZ", "latest"), `${image(s, "app").manifest}\n`);
    const images = await minic(["images", "--json", "--store", s]);
    expect(images.exitCode).toBe(1);
    expect(JSON.parse(images.stdout).map((r: { name: string }) => r.name)).toEqual(["app", "busybox"]);
    expect(images.stderr).toMatch(/^minic: refs\/%ZZ\/latest is not a reference \(its name is not URI-encoded\): skipped$/m);
    const gc = await minic(["gc", "--store", s]);
    expect(gc.exitCode).toBe(1);
    expect(gc.stdout).toMatch(/^removed 0 blob/);
    expect((await minic(["inspect", "app", "--store", s])).exitCode).toBe(0);
    const fsck = await minic(["fsck", "--store", s]);
    expect(fsck.stdout).toMatch(/^refs\/%ZZ\/latest: not a reference \(its name is not URI-encoded\) \(repaired\)$/m);
    expect(fsck.exitCode).toBe(0);
    expect((await minic(["images", "--store", s])).exitCode).toBe(0);
  });
});

describe("damaged build records are dropped, not obeyed", () => {
  it("a cache record pointing at another layer is dropped and the layer built again", async () => {
    const s = copyStore();
    const before = image(s, "app");
    const records = readdirSync(join(s, "cache")).filter((f) => /^[0-9a-f]{64}\.json$/.test(f)).map((f) => join(s, "cache", f));
    const app = records.find((p) => JSON.parse(readFileSync(p, "utf8")).recipe.name === "app")!;
    const rec = JSON.parse(readFileSync(app, "utf8"));
    rec.layer = before.layers[0]; // busybox's layer: the image had it twice, and its run failed with ELOOP
    writeFileSync(app, JSON.stringify(rec));
    const r = await build(s);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(/app: built layer/);
    expect(image(s, "app")).toEqual(before);
    await whole(s);
  });

  it("a poisoned cache/digests.json is dropped; one that passes its checksum is found out and hashed again", async () => {
    const poison = (s: string, reseal: boolean) => {
      const p = join(s, "cache", "digests.json");
      const rec = JSON.parse(readFileSync(p, "utf8"));
      for (const f of Object.values(rec.files) as { digest: string }[]) f.digest = `sha256:${"0".repeat(64)}`;
      writeFileSync(p, JSON.stringify(reseal ? sealRecord(rec) : rec));
    };
    for (const reseal of [false, true]) {
      const s = copyStore();
      const before = image(s, "app");
      poison(s, reseal);
      const r = await build(s);
      expect(r.exitCode, r.stderr).toBe(0);
      // Found out by the first recipe that copies a poisoned file (busybox copies the host's
      // busybox; once it has hashed again, the record it saves no longer holds the other entries).
      if (reseal) expect(r.stderr).toMatch(/(busybox|app): '[^']+' did not hold what its digest said; hashing the copy sources again/);
      expect(image(s, "app")).toEqual(before);
      const again = await build(s); // and not "changed during the build" forever
      expect(again.exitCode).toBe(0);
      expect(again.stderr).toMatch(/app: cached/);
      await whole(s);
    }
  });
});

describe("fsck", () => {
  it("finds every damage above, repairs what it can, and says what to do about the rest", async () => {
    const s = copyStore();
    const app = image(s, "app");
    flip(blob(s, app.layers[1]!.digest));
    rmSync(blob(s, image(s, "busybox").manifest));
    mkdirSync(join(s, "refs", "%ZZ"));
    writeFileSync(join(s, "refs", "%ZZ", "latest"), "x\n");
    writeFileSync(join(s, "cache", "digests.json"), "{}");
    writeFileSync(join(s, "blobs", "sha256", "stray"), "x");
    const dry = await minic(["fsck", "--dry-run", "--json", "--store", s]);
    expect(dry.exitCode).toBe(1);
    const found = JSON.parse(dry.stdout);
    expect(found.ok).toBe(false);
    const what = found.problems.map((p: { what: string; repaired: boolean }) => [p.what, p.repaired]);
    expect(what).toEqual(expect.arrayContaining([
      ["refs/%ZZ/latest", false], ["image busybox:latest", false], ["image app:latest", false],
      [`blobs/sha256/${app.layers[1]!.digest.slice(7)}`, false], ["blobs/sha256/stray", false], ["cache/digests.json", false],
    ]));
    const fixed = await minic(["fsck", "--store", s]);
    expect(fixed.exitCode).toBe(1); // the damaged images are left for a build to repair
    expect(fixed.stdout).toMatch(/^image app:latest: layer sha256:[0-9a-f]{12}…: .* \(to do: build, load or pull it again, or remove it with 'minic rmi app:latest'\)$/m);
    expect(fixed.stdout).toMatch(/^blobs\/sha256\/[0-9a-f]{64}: .* \(repaired\)$/m);
    expect((await build(s)).exitCode).toBe(0);
    const clean = await minic(["fsck", "--json", "--store", s]);
    expect(JSON.parse(clean.stdout)).toMatchObject({ ok: true, problems: [] });
    await whole(s);
  });

  it("the hint of a damaged image removes all its names; one only a running container uses says to stop it", async () => {
    const s = copyStore();
    const app = image(s, "app");
    writeFileSync(join(s, "refs", "app", "v2"), `${app.manifest}\n`);
    flip(blob(s, app.layers[1]!.digest));
    const named = await minic(["fsck", "--dry-run", "--store", s]);
    expect(named.exitCode).toBe(1);
    const line = named.stdout.split("\n").find((l) => l.startsWith("image app:latest, app:v2: "));
    expect(line).toMatch(/\(to do: build, load or pull it again, or remove it with 'minic rmi app:latest app:v2'\)$/);
    // The hint does what it says: both names go.
    await minicOk(["rmi", "app:latest", "app:v2", "--store", s]);
    expect((await minicOk(["images", "--store", s])).stdout).not.toMatch(/^app/m);
    // Unnamed now, but a running container uses it (a state whose supervisor is this process).
    const dir = join(s, "containers", "0123456789ab");
    mkdirSync(dir, { recursive: true });
    const minicStart = processStart(process.pid)!;
    writeState(dir, {
      id: "0123456789ab", name: "web", image: "app:latest", manifestDigest: app.manifest, command: ["/bin/sh"], driver: "overlay", runtime: "nspawn",
      net: "none", created: new Date().toISOString(), minicPid: process.pid, minicStart, cgroups: [], veths: [], ports: [],
    });
    const used = await minic(["fsck", "--dry-run", "--store", s]);
    expect(used.stdout).toMatch(new RegExp(`^image of a running container \\(${app.manifest.slice(0, 19)}…\\): layer .*\\(to do: stop the container that uses it \\('minic ps', 'minic rm -f NAME'\\), then build, load or pull the image again\\)$`, "m"));
    rmSync(dir, { recursive: true });
  });
});
