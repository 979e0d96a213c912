// export as tar (-o NAME.tar, --format tar|tar.gz): the same merged tree as the rootfs.cpio.bz2,
// judged by GNU tar and cpio (the two trees they unpack are the same) and by podman import.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chmodSync, chownSync, linkSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { minic, minicOk, tempDir } from "../helpers/cli.js";
import { findProgram } from "../../src/util/which.js";
import { guardVarLibContainers, peer, podmanEnv } from "./peers.js";

const t = tempDir("minic-export-tar-");
const S = ["--store", join(t.path, "s")];
let unguard = () => {};
afterAll(() => {
  unguard();
  t.remove();
});

beforeAll(async () => {
  const tree = join(t.path, "tree");
  mkdirSync(join(tree, "d"), { recursive: true });
  writeFileSync(join(tree, "d", "old"), "old\n");
  writeFileSync(join(tree, "d", "keep"), "keep\n");
  linkSync(join(tree, "d", "keep"), join(tree, "d", "keep-link"));
  symlinkSync("d/keep", join(tree, "ln"));
  writeFileSync(join(tree, "owned"), "owned\n");
  chownSync(join(tree, "owned"), 1234, 5678);
  chmodSync(join(tree, "owned"), 0o640);
  await minicOk(["import", tree, "-t", "exbase", ...S]);
  const recipe = join(t.path, "ex.ts");
  writeFileSync(recipe, `import { defineRecipe, file, remove } from "minic";\nexport default defineRecipe({ name: "ex", base: "exbase", steps: [remove("/d/old"), file("/d/new", "new\\n")] });\n`);
  await minicOk(["build", recipe, ...S]);
});

/** `find` of a tree: name, type, mode, owner, size (not of a directory), link target and link count, sorted. */
async function listing(dir: string): Promise<string[]> {
  const { stdout } = await execa("find", [".", "-mindepth", "1", "-printf", "%p %y %m %U:%G %s %l %n\\n"], { cwd: dir });
  return stdout.split("\n").map((l) => {
    const [p, y, m, o, size, ...rest] = l.split(" ");
    return [p, y, m, o, y === "d" ? "-" : size, ...rest].join(" ");
  }).sort();
}

describe("minic export as tar", () => {
  it("-o NAME.tar and --format tar.gz write the tree cpio -idm makes from the rootfs.cpio.bz2 (deletions applied, hard links kept)", async () => {
    await minicOk(["export", "ex", "-o", join(t.path, "ex.cpio.bz2"), ...S]);
    const r = await minicOk(["export", "ex", "-o", join(t.path, "ex.tar"), ...S]);
    expect(r.stderr.trim()).toMatch(/ as tar$/);
    await minicOk(["export", "ex", "--format", "tar.gz", "-o", join(t.path, "ex.out"), ...S]);
    for (const d of ["from-cpio", "from-tar", "from-tgz"]) mkdirSync(join(t.path, d));
    await execa("sh", ["-c", `bzip2 -dc '${join(t.path, "ex.cpio.bz2")}' | cpio -idm --quiet`], { cwd: join(t.path, "from-cpio") });
    await execa("tar", ["-xpf", join(t.path, "ex.tar"), "--numeric-owner", "-C", join(t.path, "from-tar")]);
    await execa("tar", ["-xzpf", join(t.path, "ex.out"), "--numeric-owner", "-C", join(t.path, "from-tgz")]);
    const want = await listing(join(t.path, "from-cpio"));
    expect(want.some((l) => l.startsWith("./d/old "))).toBe(false);
    expect(want).toContainEqual(expect.stringMatching(/^\.\/owned f 640 1234:5678 /));
    expect(want).toContain("./d/keep-link f 644 0:0 5  2");
    expect(want).toContain("./ln l 777 0:0 6 d/keep 1");
    expect(await listing(join(t.path, "from-tar"))).toEqual(want);
    expect(await listing(join(t.path, "from-tgz"))).toEqual(want);
  });

  it.skipIf(!findProgram("podman"))("podman imports the tar and sees the same files", async () => {
    unguard = guardVarLibContainers();
    const env = podmanEnv(join(t.path, "podman"));
    await peer(["podman", "import", join(t.path, "ex.tar"), "localhost/ex-exported:1"], { env });
    const out = await peer(["podman", "image", "inspect", "--format", "{{len .RootFS.Layers}}", "localhost/ex-exported:1"], { env });
    expect(out.trim()).toBe("1");
    await peer(["podman", "rmi", "-a", "-f"], { env }).catch(() => "");
  });

  it("refuses a format it does not write, and a tar name with a compression it does not write, in one line, writing nothing", async () => {
    const r = await minic(["export", "ex", "--format", "zip", "-o", join(t.path, "x.zip"), ...S]);
    expect([r.exitCode, r.stderr.trim()]).toEqual([2, "minic: export --format 'zip' is not a format export writes (hint: cpio (rootfs.cpio.bz2, the default), tar or tar.gz)"]);
    for (const name of ["x.tar.bz2", "x.tar.zst", "x.tbz2"]) {
      const c = await minic(["export", "ex", "-o", join(t.path, name), ...S]);
      expect([c.exitCode, c.stderr.split(" (hint")[0]]).toEqual([2, `minic: export writes no '${name.slice(1)}' file`]);
    }
    expect(readdirSync(t.path).filter((n) => n.startsWith("x.") || n.includes("minic-out"))).toEqual([]);
  });

  // Last: it damages the image's layer.
  it("a layer that fails to read ends the tar export with one line, at once (it hung: the decompressor waited on its input)", async () => {
    const img = JSON.parse((await minicOk(["inspect", "ex", "--json", ...S])).stdout) as { layers: { digest: string }[] };
    const blob = join(t.path, "s", "blobs", "sha256", img.layers.at(-1)!.digest.slice(7));
    chmodSync(blob, 0o644);
    writeFileSync(blob, Buffer.concat([readFileSync(blob).subarray(0, 40), Buffer.alloc(64, 0x55)]));
    const r = await minic(["export", "ex", "-o", join(t.path, "bad.tar"), ...S], { timeout: 30_000 });
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^minic: .*\(hint: /);
    expect(readdirSync(t.path).filter((n) => n.startsWith("bad") || n.includes("minic-out"))).toEqual([]);
  });
});
