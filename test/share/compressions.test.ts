// zstd and xz input (issue 10 item 5): import of a rootfs tar or cpio compressed with zstd or xz
// gives the same layer as the uncompressed archive (zstd and xz run through the exec seam; Node
// 20's zlib has neither); a damaged stream is one line naming the compression, nothing stored.
import { afterAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { minic, minicOk, tempDir } from "../helpers/cli.js";

const t = tempDir("minic-compressions-");
afterAll(() => t.remove());
const store = join(t.path, "store");
const sh = (cmd: string) => execFileSync("sh", ["-c", cmd], { cwd: t.path, encoding: "utf8" });

const layerOf = async (name: string) => JSON.parse((await minicOk(["inspect", name, "--json", "--store", store])).stdout).layers[0].diffId as string;

describe("zstd and xz input", () => {
  it("import of .tar.zst, .tar.xz, .cpio.zst and .cpio.xz gives the layer of the plain archive", async () => {
    mkdirSync(join(t.path, "tree", "etc"), { recursive: true });
    writeFileSync(join(t.path, "tree", "etc", "os-release"), "ID=test\n");
    sh("tar --numeric-owner -C tree -cf rootfs.tar . && (cd tree && find . | sort | cpio -o -H newc --quiet) > rootfs.cpio");
    for (const base of ["rootfs.tar", "rootfs.cpio"]) {
      sh(`zstd -q -19 -c ${base} > ${base}.zst && xz -c ${base} > ${base}.xz`);
      await minicOk(["import", join(t.path, base), "-t", "plain:1", "--store", store]);
      const want = await layerOf("plain:1");
      for (const ext of ["zst", "xz"]) {
        await minicOk(["import", join(t.path, `${base}.${ext}`), "-t", `c-${ext}:1`, "--store", store]);
        expect(await layerOf(`c-${ext}:1`), `${base}.${ext}`).toBe(want);
      }
    }
  });

  it("a truncated zstd stream is one line saying so, exit 1, nothing stored", async () => {
    const whole = readFileSync(join(t.path, "rootfs.tar.zst"));
    writeFileSync(join(t.path, "cut.tar.zst"), whole.subarray(0, Math.floor(whole.length / 2)));
    const r = await minic(["import", join(t.path, "cut.tar.zst"), "-t", "cut:1", "--store", store]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^minic: zstd failed \(exit 1\): .*\(hint: the data is not valid zstd, or is truncated\)$/m);
    expect((await minicOk(["images", "--store", store])).stdout).not.toMatch(/cut/);
  });

  it("lz4, lzip and lzop, which minic does not read, are named so (it was tar-stream's 'Maybe it needs to be gunzipped?')", async () => {
    for (const [name, magic] of [["lz4", "04224d18"], ["lzip", "4c5a4950"], ["lzop", "894c5a4f000d0a1a0a"]]) {
      writeFileSync(join(t.path, `x.${name}`), Buffer.concat([Buffer.from(magic!, "hex"), Buffer.alloc(600, 7)]));
      const r = await minic(["load", join(t.path, `x.${name}`), "--store", store]);
      expect([r.exitCode, r.stderr.trim()], name).toEqual([1, `minic: tarball is compressed with ${name}, which minic does not read (hint: decompress it first (${name} -dc FILE > FILE.tar) and give minic the plain tar)`]);
    }
  });
});
