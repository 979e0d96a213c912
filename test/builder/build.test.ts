// minic build end to end: the shipped recipes, the cache, reproducibility, GNU cpio compatibility.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, utimesSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { minic, minicOk, ROOT, tempDir } from "../helpers/cli.js";

const t = tempDir("minic-build-");
afterAll(() => t.remove());

/**
 * Resolves `path` inside the unpacked image at `root` the way the container sees it: every
 * symlink followed, absolute targets from `root`, `..` stopping at it. Returns the image path of
 * the final node; throws when a component is missing or links loop.
 */
function resolveInRoot(root: string, path: string): string {
  let todo = path.split("/").filter((c) => c !== "" && c !== ".");
  const cur: string[] = [];
  for (let links = 0; todo.length > 0; ) {
    const c = todo.shift()!;
    if (c === "..") {
      cur.pop();
      continue;
    }
    const st = lstatSync(join(root, ...cur, c));
    if (!st.isSymbolicLink()) {
      cur.push(c);
      continue;
    }
    if (++links > 40) throw new Error(`too many links resolving ${path}`);
    const target = readlinkSync(join(root, ...cur, c));
    if (target.startsWith("/")) cur.length = 0;
    todo = [...target.split("/").filter((x) => x !== "" && x !== "."), ...todo];
  }
  return `/${cur.join("/")}`;
}

function blobs(store: string): string[] {
  return readdirSync(join(store, "blobs/sha256")).sort();
}

describe("building the shipped recipes", () => {
  const s1 = join(t.path, "s1");
  const s2 = join(t.path, "s2");
  let first: string;

  beforeAll(async () => {
    first = (await minicOk(["build", join(ROOT, "recipes/hello.ts"), "--store", s1])).stdout;
  });

  it("builds the busybox base and the app as two images, the app stacked on the base", async () => {
    expect(first).toMatch(/^hello:latest sha256:[0-9a-f]{64}$/);
    const imgs = JSON.parse((await minicOk(["images", "--json", "--store", s1])).stdout) as { name: string; layers: number }[];
    expect(imgs.map((i) => `${i.name}:${i.layers}`)).toEqual(["busybox:1", "hello:2"]);
    const base = JSON.parse((await minicOk(["inspect", "busybox", "--json", "--store", s1])).stdout);
    const app = JSON.parse((await minicOk(["inspect", "hello", "--json", "--store", s1])).stdout);
    expect(app.layers[0].diffId).toBe(base.layers[0].diffId);
    expect(app.layers[1].createdBy).toBe("minic build hello");
    expect(app.layers[1].recipeFile).toBe(join(ROOT, "recipes/hello.ts"));
    expect(app.config.cmd[0]).toBe("/usr/sbin/httpd");
    expect(app.config.limits).toEqual({ memoryBytes: 64 * 1024 * 1024, pids: 64 });
  });

  it("a second build is a cache hit that writes nothing", async () => {
    const before = blobs(s1);
    const r = await minicOk(["build", join(ROOT, "recipes/hello.ts"), "--store", s1, "--explain"]);
    expect(r.stdout).toBe(first);
    expect(r.stderr).toMatch(/busybox: cache hit/);
    expect(r.stderr).toMatch(/hello: cache hit/);
    expect(blobs(s1)).toEqual(before);
  });

  it("two empty stores agree on every digest", async () => {
    const r = await minicOk(["build", join(ROOT, "recipes/hello.ts"), "--store", s2]);
    expect(r.stdout).toBe(first);
    expect(blobs(s2)).toEqual(blobs(s1));
  });

  it("--no-cache rebuilds and still gives the same bytes", async () => {
    const r = await minicOk(["build", join(ROOT, "recipes/hello.ts"), "--store", s2, "--no-cache", "--explain"]);
    expect(r.stderr).toMatch(/cache bypassed/);
    expect(r.stderr).toMatch(/hello: built layer/);
    expect(r.stdout).toBe(first);
  });

  it("every layer unpacks with GNU cpio and busybox cpio", async () => {
    const app = JSON.parse((await minicOk(["inspect", "hello", "--json", "--store", s1])).stdout);
    // -u: a later layer replaces files of an earlier one (cpio keeps existing files otherwise).
    for (const tool of [["cpio", "-idmu", "--quiet"], ["busybox", "cpio", "-idmu"]]) {
      const out = join(t.path, `unpack-${tool[0]}`);
      mkdirSync(out);
      for (const l of app.layers) {
        const blob = join(s1, "blobs/sha256", l.digest.slice(7));
        execFileSync("sh", ["-c", `bzip2 -dc '${blob}' | ${tool.join(" ")}`], { cwd: out });
      }
      expect(lstatSync(join(out, "bin/busybox")).size).toBe(lstatSync("/bin/busybox").size);
      expect(lstatSync(join(out, "bin/sh")).isSymbolicLink()).toBe(true);
      expect(readFileSync(join(out, "srv/www/index.html"), "utf8")).toMatch(/Hello from a minic container/);
      expect(readFileSync(join(out, "etc/passwd"), "utf8")).toMatch(/^www:x:1000:1000:/m);
      expect(lstatSync(join(out, "srv/www/index.html")).uid).toBe(1000);
      expect(lstatSync(join(out, "tmp")).mode & 0o7777).toBe(0o1777);
    }
  });

  it("the app's cmd[0] exists in the image: it resolves, through the image's own links, to busybox", async () => {
    const app = JSON.parse((await minicOk(["inspect", "hello", "--json", "--store", s1])).stdout);
    const out = join(t.path, "unpack-cmd");
    mkdirSync(out);
    for (const l of app.layers) execFileSync("sh", ["-c", `bzip2 -dc '${join(s1, "blobs/sha256", l.digest.slice(7))}' | cpio -idmu --quiet`], { cwd: out });
    const cmd0 = app.config.cmd[0] as string;
    expect(lstatSync(join(out, cmd0)).isSymbolicLink()).toBe(true);
    const real = resolveInRoot(out, cmd0);
    expect(real).toBe("/bin/busybox");
    const st = lstatSync(join(out, real));
    expect(st.isFile() && (st.mode & 0o111) !== 0).toBe(true);
    expect(st.size).toBe(lstatSync("/bin/busybox").size);
    // The applet busybox runs is the one the link is named after, and the host's busybox has it.
    expect(execFileSync("/bin/busybox", ["--list-full"], { encoding: "utf8" }).split("\n")).toContain(cmd0.slice(1));
  });

  it("the run step's changes are the app layer's content, nothing else", async () => {
    const app = JSON.parse((await minicOk(["inspect", "hello", "--json", "--store", s1])).stdout);
    const blob = join(s1, "blobs/sha256", app.layers[1].digest.slice(7));
    const names = execFileSync("sh", ["-c", `bzip2 -dc '${blob}' | cpio -it --quiet`], { encoding: "utf8" }).trim().split("\n");
    expect(names).toEqual(["etc", "etc/group", "etc/passwd", "srv", "srv/www", "srv/www/health", "srv/www/index.html"]);
  });
});

describe("the build cache key", () => {
  const dir = join(t.path, "cachecase");
  const store = join(t.path, "s-cache");

  beforeAll(() => {
    mkdirSync(join(dir, "files"), { recursive: true });
    writeFileSync(join(dir, "files/a.txt"), "one\n");
    writeFileSync(join(dir, "files/b.txt"), "two\n");
    writeFileSync(
      join(dir, "app.ts"),
      `import { copy, defineRecipe, file } from "minic";\nexport default defineRecipe({ name: "cachecase", steps: [copy("files/*.txt", "/data"), file("/x", "y")] });\n`,
    );
  });

  it("covers file content, not mtime, and --explain names the changed file", async () => {
    const a = await minicOk(["build", join(dir, "app.ts"), "--store", store]);
    utimesSync(join(dir, "files/a.txt"), new Date(), new Date(Date.now() + 5000));
    const b = await minicOk(["build", join(dir, "app.ts"), "--store", store, "--explain"]);
    expect(b.stderr).toMatch(/cachecase: cache hit/);
    expect(b.stdout).toBe(a.stdout);
    writeFileSync(join(dir, "files/b.txt"), "changed\n");
    const c = await minicOk(["build", join(dir, "app.ts"), "--store", store, "--explain"]);
    expect(c.stderr).toMatch(/cache miss: step 1 \(copy files\/\*\.txt -> \/data\) changed; b\.txt content changed/);
    expect(c.stdout).not.toBe(a.stdout);
    // A new matching file is noticed (the glob cache watches its directory), a non-matching one is not.
    writeFileSync(join(dir, "files/c.txt"), "three\n");
    const d = await minicOk(["build", join(dir, "app.ts"), "--store", store, "--explain"]);
    expect(d.stderr).toMatch(/cache miss: step 1 .* changed; c\.txt is new/);
    writeFileSync(join(dir, "files/ignored.bin"), "x");
    const e = await minicOk(["build", join(dir, "app.ts"), "--store", store, "--explain"]);
    expect(e.stderr).toMatch(/cachecase: cache hit/);
    expect(e.stdout).toBe(d.stdout);
  });

  it("--explain compares a miss with the recipe's last build also when that build was a cache hit (another recipe's layer, or its own earlier version)", async () => {
    const other = join(t.path, "lasthit");
    mkdirSync(other);
    const step = (v: string) => `import { defineRecipe, file } from "minic";\nexport default defineRecipe({ name: "NAME", steps: [file("/v", "${v}")] });\n`;
    writeFileSync(join(other, "x.ts"), step("1").replace("NAME", "lastx"));
    writeFileSync(join(other, "y.ts"), step("1").replace("NAME", "lasty"));
    const s = join(t.path, "s-lasthit");
    await minicOk(["build", join(other, "x.ts"), "--store", s]);
    // y's steps are x's: a hit on x's layer, y's first build.
    expect((await minicOk(["build", join(other, "y.ts"), "--store", s, "--explain"])).stderr).toMatch(/lasty: cache hit/);
    writeFileSync(join(other, "y.ts"), step("2").replace("NAME", "lasty"));
    const changed = await minicOk(["build", join(other, "y.ts"), "--store", s, "--explain"]);
    expect(changed.stderr).toMatch(/lasty: cache miss: step 1 \(file \/v\) changed/);
    expect(changed.stderr).not.toMatch(/no earlier build/);
    // Back to its first version (a hit), then a third: the miss is told against the first.
    writeFileSync(join(other, "y.ts"), step("1").replace("NAME", "lasty"));
    expect((await minicOk(["build", join(other, "y.ts"), "--store", s, "--explain"])).stderr).toMatch(/lasty: cache hit/);
    writeFileSync(join(other, "y.ts"), step("1").replace("NAME", "lasty").replace("steps: [", 'steps: [file("/w", "3"), '));
    const third = await minicOk(["build", join(other, "y.ts"), "--store", s, "--explain"]);
    expect(third.stderr).toMatch(/lasty: cache miss: .*step 1 \(file \/w\)/);
  });

  it("--explain says 'mode changed' when only the executable bit changed", async () => {
    const before = await minicOk(["build", join(dir, "app.ts"), "--store", store]);
    chmodSync(join(dir, "files/a.txt"), 0o755);
    const r = await minicOk(["build", join(dir, "app.ts"), "--store", store, "--explain"]);
    expect(r.stderr).toMatch(/cache miss: step 1 \(copy files\/\*\.txt -> \/data\) changed; a\.txt mode changed$/m);
    expect(r.stdout).not.toBe(before.stdout);
    chmodSync(join(dir, "files/a.txt"), 0o644);
    writeFileSync(join(dir, "files/a.txt"), "one again\n");
    const c = await minicOk(["build", join(dir, "app.ts"), "--store", store, "--explain"]);
    expect(c.stderr).toMatch(/changed; a\.txt content and mode changed$/m);
  });

  it("a recipe outside the project resolves \"minic\" and lands copies relative to the pattern base", async () => {
    const r = await minicOk(["inspect", "cachecase", "--json", "--store", store]);
    const blob = join(store, "blobs/sha256", JSON.parse(r.stdout).layers[0].digest.slice(7));
    const names = execFileSync("sh", ["-c", `bzip2 -dc '${blob}' | cpio -it --quiet`], { encoding: "utf8" }).trim().split("\n");
    expect(names).toEqual(["data", "data/a.txt", "data/b.txt", "data/c.txt", "x"]);
  });
});

describe("deletions", () => {
  it("a remove step whites out a base file, and the deletion survives stacking", async () => {
    const dir = join(t.path, "rm");
    const store = join(t.path, "s-rm");
    mkdirSync(dir);
    writeFileSync(
      join(dir, "app.ts"),
      `import { defineRecipe, remove } from "minic";\nimport busybox from ${JSON.stringify(join(ROOT, "recipes/busybox.ts"))};\nexport default defineRecipe({ name: "rmcase", base: busybox, steps: [remove("/etc/hostname"), remove("/usr/sbin")] });\n`,
    );
    await minicOk(["build", join(dir, "app.ts"), "--store", store]);
    const img = JSON.parse((await minicOk(["inspect", "rmcase", "--json", "--store", store])).stdout);
    const top = join(store, "blobs/sha256", img.layers[1].digest.slice(7));
    const names = execFileSync("sh", ["-c", `bzip2 -dc '${top}' | cpio -it --quiet`], { encoding: "utf8" }).trim().split("\n");
    expect(names).toEqual(["etc", "etc/.wh.hostname", "usr", "usr/.wh.sbin"]);
    // Flatten both layers with whiteouts applied, as the copy driver and export do.
    const { Store } = await import("../../src/store/store.js");
    const { layerMembers } = await import("../../src/store/layers.js");
    const { unpackMembers } = await import("../../src/archive/unpack.js");
    const st = await Store.open(store);
    const out = join(t.path, "rm-flat");
    mkdirSync(out);
    const manifest = (await st.getImage("rmcase")).manifest;
    for (const l of manifest.layers) await unpackMembers(layerMembers(st, l), out, { whiteouts: "apply", devices: false, setuid: true, owners: true });
    expect(existsSync(join(out, "etc/os-release"))).toBe(true);
    expect(existsSync(join(out, "etc/hostname"))).toBe(false);
    expect(existsSync(join(out, "usr/sbin"))).toBe(false);
    expect(existsSync(join(out, "usr/bin"))).toBe(true);
  });

  it("a run step that makes a file named .wh.NAME (what a layer says a deletion with) fails the build in one line; nothing is stored", async () => {
    const dir = join(t.path, "wh");
    const store = join(t.path, "s-wh");
    mkdirSync(dir);
    writeFileSync(join(dir, "app.ts"), `import { defineRecipe, run } from "minic";\nimport busybox from "minic/recipes/busybox.ts";\nexport default defineRecipe({ name: "wh", base: busybox, steps: [run("echo x > /tmp/.wh.notes")] });\n`);
    const r = await minic(["build", join(dir, "app.ts"), "--store", store]);
    expect([r.exitCode, r.stderr.trim().split("\n").at(-1)]).toEqual([1, "minic: recipe 'wh': its steps made /tmp/.wh.notes, and a name starting with '.wh.' is how a layer says a file is deleted (hint: name the file otherwise, or remove it in the step that makes it)"]);
    expect((await minicOk(["images", "--store", store])).stdout).not.toMatch(/^wh/m);
  });

  it("removing something the base does not have is an error", async () => {
    const dir = join(t.path, "rm2");
    const store = join(t.path, "s-rm2");
    mkdirSync(dir);
    writeFileSync(join(dir, "app.ts"), `import { defineRecipe, remove } from "minic";\nexport default defineRecipe({ name: "rm2", steps: [remove("/nope")] });\n`);
    const r = await minic(["build", join(dir, "app.ts"), "--store", store]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/cannot remove \/nope: it does not exist/);
  });
});

