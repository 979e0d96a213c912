// A recipe is code, and code can loop: `while (true) {}` while the recipe loads (or while a base
// it imports loads) is stopped by SIGINT or SIGTERM (the recipe runs in a worker thread; the
// main thread ends it), exit 130/143, nothing stored. Issue 11: such a recipe ignored both; only
// SIGKILL stopped it.
import { afterAll, describe, expect, it } from "vitest";
import { execa } from "execa";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, minic, tempDir } from "../helpers/cli.js";

const t = tempDir("minic-recipe-loop-");
afterAll(() => t.remove());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Writes a recipe that marks `started` and then loops (itself, or in the base it imports). */
function loopingRecipe(name: string, inBase: boolean): { recipe: string; started: string } {
  const dir = join(t.path, name);
  mkdirSync(dir);
  const started = join(dir, "started");
  const loop = `import { writeFileSync } from "node:fs";\nwriteFileSync(${JSON.stringify(started)}, "");\nwhile (true) {}\n`;
  if (inBase) {
    writeFileSync(join(dir, "base.ts"), `import { defineRecipe, dir } from "minic";\n${loop}export default defineRecipe({ name: "base", steps: [dir("/a")] });\n`);
    writeFileSync(join(dir, "top.ts"), `import { defineRecipe, dir } from "minic";\nimport base from "./base.ts";\nexport default defineRecipe({ name: "top", base, steps: [dir("/b")] });\n`);
    return { recipe: join(dir, "top.ts"), started };
  }
  writeFileSync(join(dir, "top.ts"), `import { defineRecipe, dir } from "minic";\n${loop}export default defineRecipe({ name: "top", steps: [dir("/b")] });\n`);
  return { recipe: join(dir, "top.ts"), started };
}

describe("a recipe that never finishes loading", () => {
  for (const [sig, status] of [["SIGTERM", 143], ["SIGINT", 130]] as const) {
    for (const inBase of [false, true]) {
      it(`is stopped by ${sig}${inBase ? " (the loop in an imported base)" : ""}`, async () => {
        const { recipe, started } = loopingRecipe(`${sig}-${inBase}`, inBase);
        const store = join(t.path, `store-${sig}-${inBase}`);
        const child = execa(process.execPath, [BIN, "build", recipe, "--store", store], { reject: false, forceKillAfterDelay: false });
        try {
          for (const t0 = Date.now(); !existsSync(started); await sleep(50)) if (Date.now() - t0 > 30_000) throw new Error("the recipe never started");
          await sleep(300); // well inside the loop
          const t0 = Date.now();
          child.kill(sig);
          const r = await Promise.race([child, sleep(10_000).then(() => Promise.reject(new Error(`${sig} did not stop the build in 10 s`)))]);
          expect(Date.now() - t0).toBeLessThan(5_000);
          expect(r.exitCode).toBe(status);
          expect(r.stderr.trim()).toBe(`minic: interrupted by ${sig}`);
          expect(readdirSync(join(store, "refs"))).toEqual([]);
          expect(readdirSync(join(store, "tmp"))).toEqual([]);
        } finally {
          child.kill("SIGKILL"); // whatever happened above, it does not outlive the test
        }
      });
    }
  }

  it("a top-level await that never settles, and process.exit, are one line each", async () => {
    const dir = join(t.path, "await");
    mkdirSync(dir);
    writeFileSync(join(dir, "never.ts"), `import { defineRecipe } from "minic";\nawait new Promise(() => {});\nexport default defineRecipe({ name: "never" });\n`);
    writeFileSync(join(dir, "exits.ts"), `import { defineRecipe } from "minic";\nprocess.exit(3);\nexport default defineRecipe({ name: "exits" });\n`);
    const never = await minic(["build", join(dir, "never.ts"), "--store", join(t.path, "s-await")], { timeout: 30_000 });
    expect(never.exitCode).toBe(1);
    expect(never.stderr.trim()).toMatch(/^minic: .*never\.ts: the recipe never finished loading \(a top-level await that never settles, or process\.exit\) \(hint: fix the recipe and build again\)$/);
    const exits = await minic(["build", join(dir, "exits.ts"), "--store", join(t.path, "s-await")], { timeout: 30_000 });
    expect(exits.exitCode).toBe(1);
    expect(exits.stderr.trim()).toMatch(/^minic: .*exits\.ts: .*ended its thread \(exit status 3\).*\(hint: a recipe must not call process\.exit\)$/);
  });
});
