// Whole cpio archives on import (issue 10): archives concatenated as the kernel reads an
// initramfs are read to their end (a later member replaces an earlier one; inode numbers are
// each archive's own), and what follows a trailer that is not another newc archive (an appended
// compressed archive, a crafted tail) is refused, never dropped. odc and old binary cpio are
// refused as input errors (exit 1), not usage errors. GNU cpio makes the archives and judges
// the export.
import { afterAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { minic, minicOk, tempDir } from "../helpers/cli.js";

const t = tempDir("minic-cpio-whole-");
afterAll(() => t.remove());
const store = join(t.path, "store");
const sh = (cmd: string, cwd = t.path) => execFileSync("sh", ["-c", cmd], { cwd, encoding: "utf8" });

/** A newc archive of `files` (name → content; "=NAME" makes a hard link to NAME) at `path`. */
function newc(path: string, files: Record<string, string>): void {
  const dir = join(t.path, `src-${Math.random().toString(36).slice(2)}`);
  mkdirSync(dir);
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    if (content.startsWith("=")) sh(`ln '${content.slice(1)}' '${name}'`, dir);
    else writeFileSync(join(dir, name), content);
  }
  sh(`find . -mindepth 1 | sort | cpio -o -H newc --quiet > '${path}'`, dir);
}

describe("whole cpio archives", () => {
  it("concatenated newc archives import whole: later members win, hard links stay within their archive", async () => {
    newc(join(t.path, "a.cpio"), { "etc/os": "first\n", "bin/a": "A\n", "bin/a2": "=bin/a" });
    newc(join(t.path, "b.cpio"), { "etc/os": "second\n", "lib/b": "B\n", "lib/b2": "=lib/b" });
    sh("cat a.cpio b.cpio > ab.cpio");
    await minicOk(["import", join(t.path, "ab.cpio"), "-t", "ab:1", "--store", store]);
    await minicOk(["export", "ab:1", "-o", join(t.path, "ab.cpio.bz2"), "--store", store]);
    const out = join(t.path, "out");
    mkdirSync(out);
    sh("bzip2 -dc ../ab.cpio.bz2 | cpio -idmu --quiet", out);
    const read = (p: string) => readFileSync(join(out, p), "utf8");
    expect([read("etc/os"), read("bin/a"), read("bin/a2"), read("lib/b"), read("lib/b2")]).toEqual(["second\n", "A\n", "A\n", "B\n", "B\n"]);
    expect(statSync(join(out, "bin/a")).ino).toBe(statSync(join(out, "bin/a2")).ino);
    expect(statSync(join(out, "lib/b")).ino).toBe(statSync(join(out, "lib/b2")).ino);
    expect(statSync(join(out, "bin/a")).ino).not.toBe(statSync(join(out, "lib/b")).ino);
  });

  it("a compressed archive after the trailer (an initrd with early microcode) is refused with one line; nothing is stored", async () => {
    newc(join(t.path, "ucode.cpio"), { "kernel/x86/microcode/GenuineIntel.bin": "ucode" });
    newc(join(t.path, "main.cpio"), { "init": "#!/bin/sh\n" });
    sh("bzip2 -c main.cpio > main.cpio.bz2 && cat ucode.cpio main.cpio.bz2 > initrd.img");
    const r = await minic(["import", join(t.path, "initrd.img"), "-t", "initrd:1", "--store", store]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^minic: cpio archive goes on after its trailer at byte \d+ with bzip2 data, not another newc archive \(hint: unpack the parts separately/);
    expect((await minicOk(["images", "--store", store])).stdout).not.toMatch(/initrd/);
  });

  it("odc and old binary cpio are refused as input, exit 1, with how to repack", async () => {
    const dir = join(t.path, "odc-src");
    mkdirSync(dir);
    writeFileSync(join(dir, "f"), "x");
    for (const format of ["odc", "bin"]) {
      sh(`echo f | cpio -o -H ${format} --quiet > ../${format}.cpio`, dir);
      const r = await minic(["import", join(t.path, `${format}.cpio`), "-t", `${format}:1`, "--store", store]);
      expect(r.exitCode, r.stderr).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`import source is an ${format === "odc" ? "odc" : "old binary"} cpio archive; minic reads newc \\(hint: repack it as newc`));
    }
  });
});
