// copy() keeps hard links, as `cp -a` does: names of one host inode that one copy step brings in
// are one file in the layer (newc: a shared inode number, the data on the last name), read back
// as links by GNU cpio. A link group only partly matched keeps the matched names linked; two
// copy steps copy independently. The layer stays canonical (the same bytes from any store), and
// the link structure is part of the cache key.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { linkSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { minicOk, tempDir } from "../helpers/cli.js";

const t = tempDir("minic-hardlinks-");
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

/** Extracts a layer with GNU cpio (not minic's reader). */
function unpack(blob: string, out: string): string {
  mkdirSync(out);
  execFileSync("sh", ["-c", `bzip2 -dc '${blob}' | cpio -idm --quiet`], { cwd: out });
  return out;
}

/** `name links inode` per path, as GNU stat prints them. */
function stat(root: string, paths: string[]): { links: number; ino: number }[] {
  return execFileSync("stat", ["-c", "%h %i", ...paths], { cwd: root, encoding: "utf8" }).trim().split("\n").map((l) => {
    const [h, i] = l.split(" ").map(Number);
    return { links: h!, ino: i! };
  });
}

/** d/: a, b and sub/c are one inode (3 links); x and y another; solo is alone. */
function sourceTree(dir: string): void {
  mkdirSync(join(dir, "d/sub"), { recursive: true });
  writeFileSync(join(dir, "d/a"), "linked\n");
  linkSync(join(dir, "d/a"), join(dir, "d/b"));
  linkSync(join(dir, "d/a"), join(dir, "d/sub/c"));
  writeFileSync(join(dir, "d/x"), "xy\n");
  linkSync(join(dir, "d/x"), join(dir, "d/y"));
  writeFileSync(join(dir, "d/solo"), "solo\n");
}

const STEPS = [`copy("d", "/app")`, `copy(["d/a", "d/b"], "/part")`, `copy("d/a", "/two")`, `copy("d/b", "/two")`].join(", ");

describe("copy() and hard links", () => {
  const dir = join(t.path, "src");
  let out: string;
  let blob: string;

  beforeAll(async () => {
    sourceTree(dir);
    const store = join(t.path, "s1");
    await minicOk(["build", recipe(dir, "links", STEPS), "--store", store]);
    blob = await topLayer(store, "links");
    out = unpack(blob, join(t.path, "out"));
  });

  it("names of one host inode copied by one step are one file in the layer (GNU cpio)", () => {
    const [a, b, c, x, y, solo] = stat(out, ["app/a", "app/b", "app/sub/c", "app/x", "app/y", "app/solo"]);
    expect([a!.links, b!.links, c!.links]).toEqual([3, 3, 3]);
    expect(new Set([a!.ino, b!.ino, c!.ino]).size).toBe(1);
    expect([x!.links, y!.links, x!.ino === y!.ino]).toEqual([2, 2, true]);
    expect(x!.ino).not.toBe(a!.ino);
    expect(solo!.links).toBe(1);
    for (const p of ["app/a", "app/b", "app/sub/c"]) expect(readFileSync(join(out, p), "utf8")).toBe("linked\n");
    expect(readFileSync(join(out, "app/y"), "utf8")).toBe("xy\n");
  });

  it("stores the data once, on the last name, with renumbered inodes", () => {
    const list = execFileSync("sh", ["-c", `bzip2 -dc '${blob}' | cpio -itv --quiet`], { encoding: "utf8" }).trim().split("\n");
    const size = (n: string) => list.find((l) => l.endsWith(` ${n}`))!.split(/\s+/)[4];
    expect(["app/a", "app/b", "app/sub/c"].map(size)).toEqual(["0", "0", "7"]);
    // newc inode field of each member, in archive order: 1, 2, … with links sharing one.
    const raw = execFileSync("sh", ["-c", `bzip2 -dc '${blob}'`], { maxBuffer: 1 << 20 }).toString("latin1");
    const inos = [...raw.matchAll(/070701([0-9A-F]{8})/g)].map((m) => parseInt(m[1]!, 16)).filter((i) => i > 0);
    expect(Math.max(...inos)).toBeLessThan(inos.length);
    expect(Math.min(...inos)).toBe(1);
  });

  it("a link group only partly matched keeps the matched names linked; two copy steps copy independently", () => {
    const [a, b] = stat(out, ["part/a", "part/b"]);
    expect([a!.links, b!.links, a!.ino === b!.ino]).toEqual([2, 2, true]);
    expect(() => statSync(join(out, "part/sub"))).toThrow();
    const [a2, b2] = stat(out, ["two/a", "two/b"]);
    expect([a2!.links, b2!.links, a2!.ino === b2!.ino]).toEqual([1, 1, false]);
  });

  it("is the same layer from another store and a source tree with other inode numbers", async () => {
    // The same tree made in another order (so other host inodes), elsewhere.
    const d2 = join(t.path, "src2");
    mkdirSync(join(d2, "d/sub"), { recursive: true });
    writeFileSync(join(d2, "d/solo"), "solo\n");
    writeFileSync(join(d2, "d/y"), "xy\n");
    linkSync(join(d2, "d/y"), join(d2, "d/x"));
    writeFileSync(join(d2, "d/sub/c"), "linked\n");
    linkSync(join(d2, "d/sub/c"), join(d2, "d/b"));
    linkSync(join(d2, "d/sub/c"), join(d2, "d/a"));
    const store = join(t.path, "s2");
    await minicOk(["build", recipe(d2, "links", STEPS), "--store", store]);
    const again = await topLayer(store, "links");
    expect(basename(again)).toBe(basename(blob));
    expect(stat(unpack(again, join(t.path, "out2")), ["app/a", "app/sub/c"]).map((x) => x.links)).toEqual([3, 3]);
  });

  it("turning a copy into a link (or back) misses the cache and changes the layer", async () => {
    const d2 = join(t.path, "key");
    mkdirSync(join(d2, "d"), { recursive: true });
    writeFileSync(join(d2, "d/a"), "same\n");
    writeFileSync(join(d2, "d/b"), "same\n");
    const store = join(t.path, "s-key");
    const app = recipe(d2, "linkkey", `copy("d", "/app")`);
    const build = () => minicOk(["build", app, "--store", store, "--explain"]);
    const copies = await build();
    rmSync(join(d2, "d/b"));
    linkSync(join(d2, "d/a"), join(d2, "d/b"));
    const linked = await build();
    expect(linked.stderr).toMatch(/cache miss: step 1 .* changed; b is now a hard link of a/);
    expect(linked.stdout).not.toBe(copies.stdout);
    expect((await build()).stderr).toMatch(/linkkey: cache hit/);
    rmSync(join(d2, "d/b"));
    writeFileSync(join(d2, "d/b"), "same\n");
    const again = await build();
    expect(again.stderr).toMatch(/cache hit|b is no longer a hard link of a/);
    expect(again.stdout).toBe(copies.stdout);
  });
});
