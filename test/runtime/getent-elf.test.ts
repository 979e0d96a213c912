// The ELF getent stand-in is run for real on this host (x86-64): it prints the passwd and
// initgroups answers for exactly those databases, fails for any other, and needs nothing but
// the kernel (it runs with an empty environment, as systemd-nspawn runs getent).
import { afterAll, describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../helpers/cli.js";
import { getentElf, hasGetentElf, MAX_ANSWER } from "../../src/runtime/getent-elf.js";

const answers = { passwd: "app:x:1500:1600::/home/app:/sbin/nologin\n", initgroups: "app 1600\n" };

describe.runIf(process.arch === "x64")("getent ELF stand-in (x86-64)", () => {
  const t = tempDir("minic-getent-");
  afterAll(() => t.remove());
  const exe = (a = answers) => {
    const p = join(t.path, `getent-${a.passwd.length}-${a.initgroups.length}`);
    writeFileSync(p, getentElf("x64", a)!, { mode: 0o755 });
    return p;
  };
  const run = (p: string, args: string[]) => spawnSync(p, args, { env: {}, encoding: "utf8" });

  it("prints the passwd and initgroups answers, exit 0, with an empty environment", () => {
    const p = exe();
    expect(run(p, ["passwd", "app"])).toMatchObject({ status: 0, stdout: answers.passwd, stderr: "" });
    expect(run(p, ["initgroups", "app"])).toMatchObject({ status: 0, stdout: answers.initgroups });
  });

  it("fails (exit 1, no output) for another database, a prefix of one, or no argument", () => {
    const p = exe();
    for (const args of [["hosts", "x"], ["pass", "app"], ["passwdx", "app"], ["initgroup"], []]) {
      expect(run(p, args), args.join(" ")).toMatchObject({ status: 1, stdout: "" });
    }
  });

  it("places answers of any length correctly, up to MAX_ANSWER bytes", () => {
    for (const [pl, il] of [[10, 3000], [4000, 5], [MAX_ANSWER, MAX_ANSWER]]) {
      const a = { passwd: "p".repeat(pl - 1) + "\n", initgroups: "i".repeat(il - 1) + "\n" };
      const p = exe(a);
      expect(run(p, ["passwd", "k"]).stdout).toBe(a.passwd);
      expect(run(p, ["initgroups", "k"]).stdout).toBe(a.initgroups);
    }
  });

  it("is a static executable the host's tools recognise", () => {
    expect(execFileSync("file", ["-b", exe()], { encoding: "utf8" })).toMatch(/^ELF 64-bit LSB executable, x86-64.*statically linked/);
  });
});

describe("getentElf", () => {
  it("has machine code for x86-64 only; none elsewhere", () => {
    expect(hasGetentElf("x64")).toBe(true);
    expect(hasGetentElf("arm64")).toBe(false);
    expect(getentElf("arm64", answers)).toBeUndefined();
  });

  it("refuses an answer that is not one line or is too long", () => {
    expect(() => getentElf("x64", { ...answers, passwd: "a\nb\n" })).toThrow(RangeError);
    expect(() => getentElf("x64", { ...answers, initgroups: "no newline" })).toThrow(RangeError);
    expect(() => getentElf("x64", { ...answers, passwd: "x".repeat(MAX_ANSWER) + "\n" })).toThrow(RangeError);
  });
});
