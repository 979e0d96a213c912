// copy() streams: memory stays flat whatever a file's size, a file over the cpio limit fails with
// the archive's error, and a file that changes between hashing and copying fails the build.
import { afterAll, describe, expect, it } from "vitest";
import { execa } from "execa";
import { execFileSync } from "node:child_process";
import { mkdirSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, minic, minicOk, tempDir } from "../helpers/cli.js";
import { RootfsView } from "../../src/rootfs/rootfs-view.js";
import { hashFile } from "../../src/builder/copy-inputs.js";
import { copyInputFile } from "../../src/builder/materialize.js";

const t = tempDir("minic-large-copy-");
afterAll(() => t.remove());

const MB = 1024 * 1024;

/** Peak RSS in KiB of `minic args` (GNU time's %M), which must succeed. */
async function peakRssKiB(args: string[]): Promise<number> {
  const r = await execa("/usr/bin/time", ["-f", "%M", process.execPath, BIN, ...args], { reject: false, encoding: "utf8", stdin: "ignore" });
  if (r.exitCode !== 0) throw new Error(`minic ${args.join(" ")} exited ${r.exitCode}: ${r.stderr}`);
  return Number(String(r.stderr).trim().split("\n").at(-1));
}

function recipe(dir: string, name: string, steps: string): string {
  const path = join(dir, "app.ts");
  writeFileSync(path, `import { copy, defineRecipe } from "minic";\nexport default defineRecipe({ name: ${JSON.stringify(name)}, steps: [${steps}] });\n`);
  return path;
}

describe("copying large files", () => {
  it("a 600 MB file builds in well under 256 MB of RSS and the layer holds all of it", async () => {
    const dir = join(t.path, "big");
    mkdirSync(join(dir, "files"), { recursive: true });
    const big = join(dir, "files/big.bin");
    writeFileSync(big, "head\n");
    const app = recipe(dir, "bigcopy", `copy("files/big.bin", "/data")`);
    const store = join(t.path, "s-big");
    // The first build type-checks the recipe (TypeScript alone takes ~180 MB, whatever the
    // files); the second, with the recipe's check cached, measures copying and packing alone.
    await minicOk(["build", app, "--store", store]);
    truncateSync(big, 600 * MB); // sparse: 600 MB of (mostly) zeros, no disk used
    execFileSync("dd", ["if=/dev/urandom", `of=${big}`, "bs=1M", "count=1", "seek=300", "conv=notrunc", "status=none"]);
    const kib = await peakRssKiB(["build", app, "--store", store]);
    expect(kib).toBeGreaterThan(0);
    expect(kib).toBeLessThan(160 * 1024);
    process.stderr.write(`peak RSS of a rebuild copying 600 MB: ${Math.round(kib / 1024)} MiB\n`);

    const img = JSON.parse((await minicOk(["inspect", "bigcopy", "--json", "--store", store])).stdout);
    const blob = join(store, "blobs/sha256", img.layers[0].digest.slice(7));
    const listing = execFileSync("sh", ["-c", `bzip2 -dc '${blob}' | cpio -itv --quiet`], { encoding: "utf8", maxBuffer: 1 << 20 });
    const line = listing.split("\n").find((l) => l.endsWith(" data/big.bin"))!;
    expect(line.trim().split(/\s+/)[4]).toBe(String(600 * MB));
    // The copied bytes are the host's bytes (the random MiB in the middle included).
    const sum = (cmd: string) => execFileSync("sh", ["-c", cmd], { encoding: "utf8", maxBuffer: 1 << 20 }).split(" ")[0];
    expect(sum(`bzip2 -dc '${blob}' | cpio -i --to-stdout --quiet data/big.bin | sha256sum`)).toBe(sum(`sha256sum '${big}'`));
  });

  it("a file over the 4 GiB cpio limit fails at once with the archive's error and hint", async () => {
    const dir = join(t.path, "huge");
    mkdirSync(join(dir, "files"), { recursive: true });
    writeFileSync(join(dir, "files/huge.bin"), "");
    truncateSync(join(dir, "files/huge.bin"), 4 * 1024 * MB + 1);
    const app = recipe(dir, "hugecopy", `copy("files/huge.bin", "/data")`);
    const started = Date.now();
    const r = await minic(["build", app, "--store", join(t.path, "s-huge")]);
    expect(r.exitCode).toBe(1);
    const lines = r.stderr.trim().split("\n").filter((l) => l.startsWith("minic:"));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/step 1: cpio field filesize=4294967297 out of range for 'files\/huge\.bin' \(hint: newc cpio holds files up to 4 GiB\)/);
    expect(Date.now() - started).toBeLessThan(20_000); // refused before hashing 4 GiB
  });
});

describe("putFileFrom", () => {
  it("copies in chunks, keeps holes, replaces a symlink instead of following it, returns the digest", async () => {
    const upper = join(t.path, "upper");
    mkdirSync(upper);
    const victim = join(t.path, "victim");
    writeFileSync(victim, "host file\n");
    execFileSync("ln", ["-s", victim, join(upper, "f")]);
    const src = join(t.path, "src.bin");
    writeFileSync(src, "x");
    truncateSync(src, 8 * MB + 3);
    const view = await RootfsView.open(upper, []);
    const got = await view.putFileFrom("f", src, { mode: 0o640, uid: 0, gid: 0 });
    expect(got).toEqual({ ...hashFile(src, "test"), size: 8 * MB + 3 });
    expect(execFileSync("cat", [victim], { encoding: "utf8" })).toBe("host file\n");
    const [size, blocks, mode] = execFileSync("stat", ["-c", "%s %b %a %F", join(upper, "f")], { encoding: "utf8" }).trim().split(" ");
    expect(Number(size)).toBe(8 * MB + 3);
    expect(Number(blocks)).toBeLessThan(2048 * 2); // under 2 MiB allocated: the zeros stayed holes
    expect(mode).toBe("640");
  });

  it("refuses a source that is not a regular file", async () => {
    const upper = join(t.path, "upper2");
    mkdirSync(upper);
    const fifo = join(t.path, "fifo");
    execFileSync("mkfifo", [fifo]);
    const view = await RootfsView.open(upper, []);
    await expect(view.putFileFrom("f", fifo, { mode: 0o644, uid: 0, gid: 0 })).rejects.toThrow(/is no longer a regular file/);
  });
});

describe("a copy source changed after hashing", () => {
  it("fails the build with one line naming the file", async () => {
    const upper = join(t.path, "upper3");
    mkdirSync(upper);
    const src = join(t.path, "changing.txt");
    writeFileSync(src, "before\n");
    const input = { rel: "changing.txt", hostPath: src, kind: "file" as const, executable: false, ...hashFile(src, "test") };
    writeFileSync(src, "after!\n");
    const view = await RootfsView.open(upper, []);
    await expect(copyInputFile(view, "changing.txt", input, { mode: 0o644, uid: 0, gid: 0 }, "recipe 'x' step 2")).rejects.toThrow(
      /^recipe 'x' step 2: copy source '.*changing\.txt' changed during the build/,
    );
  });
});
