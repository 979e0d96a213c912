// copy() copies like `cp -a`: symlinks as symlinks (never followed), empty directories kept, a
// pattern naming a directory brings its contents; fifos, sockets and devices are refused.
// Symlinks and directories are part of the cache key.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { lstatSync, mkdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { minic, minicOk, tempDir } from "../helpers/cli.js";

const t = tempDir("minic-copy-");
afterAll(() => t.remove());

function recipe(dir: string, name: string, steps: string): string {
  const path = join(dir, "app.ts");
  writeFileSync(path, `import { copy, defineRecipe } from "minic";\nexport default defineRecipe({ name: ${JSON.stringify(name)}, steps: [${steps}] });\n`);
  return path;
}

async function topLayer(store: string, name: string): Promise<string> {
  const img = JSON.parse((await minicOk(["inspect", name, "--json", "--store", store])).stdout);
  return join(store, "blobs/sha256", img.layers.at(-1).digest.slice(7));
}

function names(blob: string): string[] {
  return execFileSync("sh", ["-c", `bzip2 -dc '${blob}' | cpio -it --quiet`], { encoding: "utf8" }).trim().split("\n");
}

function unpack(blob: string, out: string): string {
  mkdirSync(out);
  execFileSync("sh", ["-c", `bzip2 -dc '${blob}' | cpio -idm --quiet`], { cwd: out });
  return out;
}

/** d/: a file, a link to it, a link to a directory, a link out to a host file, an empty dir, a subdir. */
function sourceTree(dir: string): void {
  mkdirSync(join(dir, "d/sub"), { recursive: true });
  mkdirSync(join(dir, "d/empty"));
  writeFileSync(join(dir, "d/a"), "a\n");
  writeFileSync(join(dir, "d/sub/b"), "b\n");
  symlinkSync("a", join(dir, "d/link"));
  symlinkSync("sub", join(dir, "d/dlink"));
  symlinkSync("/etc/hostname", join(dir, "d/out"));
}

describe("what copy() brings in", () => {
  const dir = join(t.path, "tree");
  const store = join(t.path, "s-tree");
  let out: string;

  beforeAll(async () => {
    sourceTree(dir);
    const app = recipe(
      dir,
      "copytree",
      [`copy("d/link", "/e")`, `copy("d", "/f")`, `copy("d/", "/f2")`, `copy("d/*", "/g")`, `copy("d/**", "/h", { uid: 7, gid: 8 })`, `copy("d/empty", "/k")`].join(", "),
    );
    await minicOk(["build", app, "--store", store]);
    out = unpack(await topLayer(store, "copytree"), join(t.path, "tree-out"));
  });

  it("a pattern naming a symlink copies the link, not what it points to", () => {
    expect(readlinkSync(join(out, "e/link"))).toBe("a");
  });

  it("a pattern naming a directory copies its contents, recursively, under `to`", () => {
    for (const to of ["f", "f2", "g", "h"]) {
      expect(readFileSync(join(out, to, "a"), "utf8")).toBe("a\n");
      expect(readFileSync(join(out, to, "sub/b"), "utf8")).toBe("b\n");
      expect(readlinkSync(join(out, to, "link"))).toBe("a");
      expect(readlinkSync(join(out, to, "dlink"))).toBe("sub");
      // The link to a host file is copied as a link: the host file's content never enters the layer.
      expect(readlinkSync(join(out, to, "out"))).toBe("/etc/hostname");
      const e = lstatSync(join(out, to, "empty"));
      expect(e.isDirectory()).toBe(true);
      expect(e.mode & 0o7777).toBe(0o755);
    }
  });

  it("empty directories are kept with the step's owner", () => {
    const e = lstatSync(join(out, "h/empty"));
    expect([e.uid, e.gid]).toEqual([7, 8]);
    expect(lstatSync(join(out, "h/link")).uid).toBe(7);
    expect(lstatSync(join(out, "f/empty")).uid).toBe(0);
    // A pattern naming an empty directory makes `to`, empty.
    expect(lstatSync(join(out, "k")).isDirectory()).toBe(true);
  });

  it("nothing else lands in the layer", async () => {
    const all = names(await topLayer(store, "copytree"));
    expect(all.filter((n) => n.startsWith("f/"))).toEqual(["f/a", "f/dlink", "f/empty", "f/link", "f/out", "f/sub", "f/sub/b"]);
    expect(all.filter((n) => n.startsWith("e"))).toEqual(["e", "e/link"]);
  });

  it("'.' copies the recipe's directory", async () => {
    const d2 = join(t.path, "dot");
    mkdirSync(join(d2, "x"), { recursive: true });
    writeFileSync(join(d2, "x/y"), "y\n");
    const app = recipe(d2, "copydot", `copy(".", "/app")`);
    const s = join(t.path, "s-dot");
    await minicOk(["build", app, "--store", s]);
    expect(names(await topLayer(s, "copydot"))).toEqual(["app", "app/app.ts", "app/x", "app/x/y"]);
  });
});

describe("nodes copy() refuses", () => {
  const dir = join(t.path, "special");
  beforeAll(() => {
    mkdirSync(join(dir, "d"), { recursive: true });
    writeFileSync(join(dir, "d/ok"), "ok\n");
    execFileSync("mkfifo", [join(dir, "d/fifo")]);
    mkdirSync(join(dir, "s"));
    execFileSync("python3", ["-c", `import socket; socket.socket(socket.AF_UNIX).bind(${JSON.stringify(join(dir, "s/sock"))})`]);
    mkdirSync(join(dir, "c"));
    execFileSync("mknod", [join(dir, "c/null"), "c", "1", "3"]);
  });

  const cases: [string, string, RegExp][] = [
    ["fifo named", `copy("d/fifo", "/x")`, /step 1: copy source 'd\/fifo' is a fifo, which copy\(\) does not take/],
    ["fifo inside a directory", `copy("d", "/x")`, /step 1: copy source 'd\/fifo' is a fifo/],
    ["fifo matched by a glob", `copy("d/*", "/x")`, /step 1: copy source 'd\/fifo' is a fifo/],
    ["socket", `copy("s/**", "/x")`, /step 1: copy source 's\/sock' is a socket/],
    ["device", `copy("c", "/x")`, /step 1: copy source 'c\/null' is a character device/],
  ];
  for (const [what, step, message] of cases) {
    it(`${what}: one line, exit 1`, async () => {
      const r = await minic(["build", recipe(dir, "special", step), "--store", join(t.path, "s-special")]);
      expect(r.exitCode).toBe(1);
      const lines = r.stderr.trim().split("\n").filter((l) => l.startsWith("minic:"));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(message);
      expect(lines[0]).toMatch(/\(hint: /);
    });
  }
});

describe("symlinks and directories are part of the cache key", () => {
  const dir = join(t.path, "key");
  const store = join(t.path, "s-key");
  const build = (app: string) => minicOk(["build", app, "--store", store, "--explain"]);

  it("adding, retargeting or removing a symlink or an empty directory misses the cache", async () => {
    sourceTree(dir);
    const app = recipe(dir, "copykey", `copy("d/**", "/h")`);
    const first = await build(app);
    expect((await build(app)).stderr).toMatch(/copykey: cache hit/);

    symlinkSync("a", join(dir, "d/sub/newlink"));
    const r1 = await build(app);
    expect(r1.stderr).toMatch(/cache miss: step 1 .* changed; sub\/newlink is new/);
    expect(r1.stdout).not.toBe(first.stdout);

    rmSync(join(dir, "d/sub/newlink"));
    symlinkSync("sub/b", join(dir, "d/sub/newlink"));
    expect((await build(app)).stderr).toMatch(/cache miss: step 1 .* changed; sub\/newlink target changed/);

    mkdirSync(join(dir, "d/sub/newdir"));
    expect((await build(app)).stderr).toMatch(/cache miss: .*sub\/newdir is new/);
    rmSync(join(dir, "d/empty"), { recursive: true });
    expect((await build(app)).stderr).toMatch(/cache miss: .*empty was removed/);
  });

  it("a change deep inside a directory matched by a glob is seen (the glob cache only watches d/)", async () => {
    const d2 = join(t.path, "deep");
    sourceTree(d2);
    const app = recipe(d2, "copydeep", `copy("d/*", "/g")`);
    await build(app);
    expect((await build(app)).stderr).toMatch(/copydeep: cache hit/);
    mkdirSync(join(d2, "d/sub/x/y"), { recursive: true });
    expect((await build(app)).stderr).toMatch(/cache miss: .*sub\/x is new; sub\/x\/y is new/);
    symlinkSync("../../a", join(d2, "d/sub/x/y/l"));
    expect((await build(app)).stderr).toMatch(/cache miss: .*sub\/x\/y\/l is new/);
    const out = unpack(await topLayer(store, "copydeep"), join(t.path, "deep-out"));
    expect(readlinkSync(join(out, "g/sub/x/y/l"))).toBe("../../a");
  });
});
