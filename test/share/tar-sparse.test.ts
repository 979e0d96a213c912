// Sparse files in a tar (GNU tar -S, bsdtar's default for a file with holes) are expanded to
// what `tar -xf` makes of them, by import and by load: the member's data holds only the file's
// segments, and taking it as the file (old GNU form) or the pax form's placeholder name
// (GNUSparseFile.0/NAME) as a file stored wrong content with exit 0. Forms minic cannot read,
// and tar types it does not know, are refused in one line; nothing is stored.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expandSparse, expandSparse10, parseSparseMapRecord } from "../../src/archive/tar-sparse.js";
import { oneLine } from "../../src/core/errors.js";
import { minic, minicOk, tempDir } from "../helpers/cli.js";
import { imageLayout, rawTar } from "../helpers/image-archive.js";

const t = tempDir("minic-tar-sparse-");
afterAll(() => t.remove());
const src = join(t.path, "src");
const sh = (cmd: string) => execFileSync("sh", ["-c", cmd], { cwd: src, encoding: "utf8" });
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

async function collect(g: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of g) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}
async function* chunks(...bs: Buffer[]): AsyncGenerator<Buffer> {
  for (const b of bs) yield b;
}
const failure = (p: Promise<unknown>) => p.then(() => "no error", (e: unknown) => oneLine(e));

describe("sparse maps (pure)", () => {
  it("places each segment at its offset, zeros in the holes and up to the real size, whatever the chunking", async () => {
    const map = [{ offset: 2, size: 3 }, { offset: 7, size: 0 }, { offset: 8, size: 2 }];
    const want = Buffer.from("\0\0abc\0\0\0de\0\0");
    expect(await collect(expandSparse(chunks(Buffer.from("abcde")), map, 12, "f"))).toEqual(want);
    expect(await collect(expandSparse(chunks(Buffer.from("a"), Buffer.from("bcd"), Buffer.from("e")), map, 12, "f"))).toEqual(want);
    // Format 1.0: the map, padded to 512 bytes, starts the data.
    const head = Buffer.alloc(512);
    head.write("3\n2\n3\n7\n0\n8\n2\n");
    expect(await collect(expandSparse10(chunks(head.subarray(0, 5), Buffer.concat([head.subarray(5), Buffer.from("ab")]), Buffer.from("cde")), 12, "f"))).toEqual(want);
    expect(parseSparseMapRecord("2,3,8,2", "f")).toEqual([{ offset: 2, size: 3 }, { offset: 8, size: 2 }]);
  });

  it("a map that does not fit its data or its size is EARCHIVE, one line", async () => {
    const hint = "(hint: the tarball is corrupt; nothing was stored)";
    expect(await failure(collect(expandSparse(chunks(Buffer.from("abcdef")), [{ offset: 0, size: 5 }], 9, "f")))).toBe(`tar member 'f' is a sparse file with more data than its map's segments ${hint}`);
    expect(await failure(collect(expandSparse(chunks(Buffer.from("ab")), [{ offset: 0, size: 5 }], 9, "f")))).toBe(`tar member 'f' is a sparse file with less data than its map's segments ${hint}`);
    expect(await failure(collect(expandSparse(chunks(), [{ offset: 4, size: 2 }, { offset: 3, size: 1 }], 9, "f")))).toBe(`tar member 'f' is a sparse file with segments out of order or overlapping (at 3) ${hint}`);
    expect(await failure(collect(expandSparse(chunks(), [{ offset: 8, size: 2 }], 9, "f")))).toBe(`tar member 'f' is a sparse file with a segment (8+2) past its size 9 ${hint}`);
    expect(() => parseSparseMapRecord("1,2,3", "f")).toThrow(/a map of 3 numbers/);
    expect(() => parseSparseMapRecord("1,x", "f")).toThrow(/'x' in its map, not a number/);
    expect(await failure(collect(expandSparse10(chunks(Buffer.from("2\n0\n")), 9, "f")))).toBe(`tar member 'f' is a sparse file with a map cut short ${hint}`);
  });
});

describe("sparse files through import and load", () => {
  let digests: Record<string, string>;
  beforeAll(() => {
    mkdirSync(src);
    // few: 3 segments (fits the old GNU header's 4 pairs); many: 7 (needs extension blocks).
    sh("truncate -s 10M few && printf head | dd of=few conv=notrunc 2>/dev/null && printf mid | dd of=few bs=1 seek=5000000 conv=notrunc 2>/dev/null && echo tail >> few");
    sh("truncate -s 20M many && for i in 1 2 3 4 5 6 7; do printf seg$i | dd of=many bs=1 seek=$((i * 2000000)) conv=notrunc 2>/dev/null; done");
    writeFileSync(join(src, "after"), "a member after the sparse ones\n");
    digests = Object.fromEntries(["few", "many", "after"].map((n) => [n, sha(readFileSync(join(src, n)))]));
    sh("tar --format=gnu -S -cf ../gnu.tar few many after");
    sh("tar --format=posix -S -cf ../posix.tar few many after");
    sh("tar --format=posix --sparse-version=0.1 -S -cf ../pax01.tar few many after");
    sh("tar --format=posix --sparse-version=0.0 -S -cf ../pax00.tar few");
    sh("bsdtar -cf ../bsd.tar few many after");
    // The archives really are sparse ones: old GNU S members, pax GNU.sparse records.
    expect(sh("tar -tvf ../gnu.tar")).toMatch(/few/);
    expect(readFileSync(join(t.path, "gnu.tar")).subarray(156, 157).toString()).toBe("S");
    expect(readFileSync(join(t.path, "bsd.tar")).toString("latin1")).toContain("GNU.sparse.major=1");
  });

  /** sha256 of each file of `ref`'s exported tree, as GNU cpio extracts it. */
  function exported(store: string, ref: string): Record<string, string> {
    const dir = join(t.path, `x-${ref.replace(/[^a-z0-9]/g, "-")}`);
    mkdirSync(dir);
    execFileSync("sh", ["-c", `"$0" export --store "$1" "$2" -o - | bzip2 -dc | cpio -idm --quiet`, join(process.cwd(), "bin/minic"), store, ref], { cwd: dir });
    return Object.fromEntries(["few", "many", "after"].filter((n) => execFileSync("sh", ["-c", `[ -f ${n} ] && echo y || true`], { cwd: dir, encoding: "utf8" }).trim()).map((n) => [n, sha(readFileSync(join(dir, n)))]));
  }

  it("import of GNU tar's old and pax forms and bsdtar's makes the files tar -xf makes, one layer for all", async () => {
    const store = join(t.path, "s-import");
    const layers = new Set<string>();
    for (const f of ["gnu", "posix", "pax01", "bsd"]) {
      await minicOk(["import", join(t.path, `${f}.tar`), "-t", `sp/${f}:1`, "--store", store]);
      expect(exported(store, `sp/${f}:1`)).toEqual(digests);
      layers.add(JSON.parse((await minicOk(["inspect", `sp/${f}:1`, "--json", "--store", store])).stdout).layers[0].diffId);
    }
    expect(layers.size).toBe(1);
  });

  it("load of a docker-archive whose layer has sparse members expands them too", async () => {
    const store = join(t.path, "s-load");
    const archive = join(t.path, "sparse-image.tar");
    writeFileSync(archive, imageLayout({ layers: [readFileSync(join(t.path, "gnu.tar"))], format: "docker", ref: "localhost/sparse:1" }));
    await minicOk(["load", archive, "--store", store]);
    expect(exported(store, "localhost/sparse:1")).toEqual(digests);
  });

  it("pax format 0.0 and an unknown tar type are refused in one line; nothing is stored", async () => {
    const store = join(t.path, "s-refused");
    const r = await minic(["import", join(t.path, "pax00.tar"), "-t", "sp/old:1", "--store", store]);
    expect([r.exitCode, r.stderr.trim()]).toEqual([1, "minic: tar member 'few' is a sparse file in pax format 0.0, which minic cannot read (hint: repack it with bsdtar, or GNU tar --format=posix (sparse format 1.0))"]);
    // A type tar-stream has no name for (here GNU's dump directory, D) was taken for a file.
    writeFileSync(join(t.path, "dumpdir.tar"), rawTar([{ name: "d", type: "D", data: Buffer.from("Yx\0\0") }, { name: "after", data: Buffer.from("x\n") }]));
    const v = await minic(["import", join(t.path, "dumpdir.tar"), "-t", "sp/dump:1", "--store", store]);
    expect([v.exitCode, v.stderr.trim()]).toEqual([1, `minic: tar member 'd' has unsupported type 'typeflag "D"' (hint: minic reads regular files, directories, links, devices and fifos)`]);
    expect((await minicOk(["images", "--store", store])).stdout.trim().split("\n")).toHaveLength(1);
  });

  it("a sparse member bigger than a layer holds (a 100 GiB hole in a few KiB of tar) is refused at its header, nothing written", async () => {
    const dir = join(t.path, "bomb");
    mkdirSync(dir);
    execFileSync("sh", ["-c", "truncate -s 100G huge && printf x >> huge && tar --format=posix -S -cf ../bomb.tar huge && rm huge"], { cwd: dir });
    const store = join(t.path, "s-bomb");
    const started = Date.now();
    for (const cmd of [["import", join(t.path, "bomb.tar"), "-t", "sp/bomb:1"]]) {
      const r = await minic([...cmd, "--store", store]);
      expect([r.exitCode, r.stderr.trim()]).toEqual([1, "minic: tar member 'huge' is a sparse file of 107374182401 bytes, more than a layer holds (4 GiB - 1) (hint: newc cpio holds files up to 4 GiB; nothing was stored)"]);
    }
    const archive = join(t.path, "bomb-image.tar");
    writeFileSync(archive, imageLayout({ layers: [readFileSync(join(t.path, "bomb.tar"))], format: "docker", ref: "localhost/bomb:1" }));
    const l = await minic(["load", archive, "--store", store]);
    expect([l.exitCode, l.stderr.trim()]).toEqual([1, expect.stringMatching(/tar member 'huge' is a sparse file of 107374182401 bytes, more than a layer holds/)]);
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});
