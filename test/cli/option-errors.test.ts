// Mistyped options get one line in minic's words, exit 2, and the command's usage as the hint.
import { afterAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { minic, tempDir } from "../helpers/cli.js";

const t = tempDir("minic-option-errors-");
const store = join(t.path, "s");
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
    expect(await usageError(["run", "bb", "--frob=1", "--", "true"])).toMatch(/^minic: unknown option '--frob' \(hint: usage: minic run /);
  });

  it("a value missing, or given to an option that takes none", async () => {
    expect(await usageError(["build", "r.ts", "-t"])).toMatch(/^minic: option '--tag' needs a value \(hint: usage: minic build /);
    expect(await usageError(["images", "--json=yes"])).toMatch(/^minic: option '--json' takes no value \(hint: usage: minic images /);
  });
});
