// Mistyped options get one line in minic's words, exit 2, and the command's usage as the hint.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { minic, minicOk, tempDir } from "../helpers/cli.js";

const t = tempDir("minic-option-errors-");
const store = join(t.path, "s");
beforeAll(async () => {
  mkdirSync(join(t.path, "tree"));
  writeFileSync(join(t.path, "tree", "a"), "a\n");
  await minicOk(["import", join(t.path, "tree"), "-t", "bb", "--store", store]);
});
afterAll(() => t.remove());

/** The one stderr line of a usage error, checked to be exit 2 with balanced quotes. */
async function usageError(args: string[]): Promise<string> {
  const r = await minic(["--store", store, ...args]);
  expect(r.exitCode).toBe(2);
  const lines = r.stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect((lines[0]!.match(/'/g) ?? []).length % 2).toBe(0);
  return lines[0]!;
}

describe("option errors", () => {
  it("an unknown option: its name, quoted once, and the usage", async () => {
    expect(await usageError(["build", "--bogus", "r.ts"])).toMatch(/^minic: unknown option '--bogus' \(hint: usage: minic build RECIPE\.ts .*\)$/);
    expect(await usageError(["images", "-x"])).toMatch(/^minic: unknown option '-x' \(hint: usage: minic images /);
    expect(await usageError(["run", "--frob=1", "bb", "--", "true"])).toMatch(/^minic: unknown option '--frob' \(hint: usage: minic run /);
  });

  it("a value missing, or given to an option that takes none", async () => {
    expect(await usageError(["build", "r.ts", "-t"])).toMatch(/^minic: option '--tag' needs a value \(hint: usage: minic build /);
    expect(await usageError(["images", "--json=yes"])).toMatch(/^minic: option '--json' takes no value \(hint: usage: minic images /);
  });

  it("a value that starts with '-' goes to the option's own check, which names the accepted forms", async () => {
    expect(await usageError(["run", "--memory", "-5M", "bb", "--", "true"])).toMatch(/^minic: invalid memory limit '-5M' \(hint: use a size like 64M/);
    expect(await usageError(["run", "-m", "-5M", "bb", "--", "true"])).toMatch(/^minic: invalid memory limit '-5M' /);
    expect(await usageError(["run", "--pids", "-1", "bb", "--", "true"])).toMatch(/^minic: invalid pids limit '-1' /);
    expect(await usageError(["run", "-e", "-X", "bb", "--", "true"])).toMatch(/^minic: invalid environment variable '-X' /);
    expect(await usageError(["build", "r.ts", "-t", "-x"])).toMatch(/^minic: -t: invalid image name '-x'/);
  });

  it("an option followed by another option (or by --) has no value", async () => {
    expect(await usageError(["run", "--memory", "--cpus", "1", "bb", "--", "true"])).toMatch(/^minic: option '--memory' needs a value \(hint: usage: minic run /);
    expect(await usageError(["run", "-w", "--", "bb", "true"])).toMatch(/^minic: option '--workdir' needs a value /);
    expect(await usageError(["build", "-t", "--no-cache", "r.ts"])).toMatch(/^minic: option '--tag' needs a value /);
  });

  it("--cpus above the host's CPU count is refused, with the count", async () => {
    const n = cpus().length;
    const line = await usageError(["run", "--cpus", String(n + 3), "bb", "--", "true"]);
    expect(line).toBe(`minic: --cpus ${n + 3}: this host has only ${n} CPU${n === 1 ? "" : "s"} (hint: give a number of CPUs from 0.01 to ${n}, e.g. ${n > 1 ? n - 1 : 0.5})`);
  });

  it("-t with a bad name is a usage error of that option, for every command that takes one", async () => {
    const tree = join(t.path, "tree");
    for (const args of [["build", "r.ts", "-t", "Bad Name"], ["import", tree, "-t", "Bad Name"], ["load", "x.tar", "-t", "Bad Name"], ["pull", "127.0.0.1:1/x", "-t", "Bad Name"]]) {
      expect(await usageError(args)).toMatch(/^minic: -t: invalid image name 'Bad Name' \(hint: use lowercase letters/);
    }
    expect(await usageError(["import", tree, "-t", "ok:-bad"])).toMatch(/^minic: -t: invalid tag in 'ok:-bad' \(hint: a tag is up to 128/);
  });
});
