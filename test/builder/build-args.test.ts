// Build arguments (issue 9 item 7): arg("NAME", "default") in a recipe reads minic build
// --arg NAME=VALUE; the steps it makes are the cache key (a new value builds again, --explain
// names the changed step, the same value is a cache hit); an argument no recipe asks for, a
// malformed --arg and a missing one without a default are one line each.
import { afterAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { minic, minicOk, tempDir } from "../helpers/cli.js";

const t = tempDir("minic-build-args-");
afterAll(() => t.remove());
const store = join(t.path, "store");

function recipe(call: string): string {
  const p = join(t.path, "args.ts");
  writeFileSync(p, `import { arg, defineRecipe, file } from "minic";\nexport default defineRecipe({ name: "args", steps: [file("/greeting", \`\${${call}}\\n\`)] });\n`);
  return p;
}

async function greeting(): Promise<string> {
  const img = JSON.parse((await minicOk(["inspect", "args", "--json", "--store", store])).stdout);
  const blob = join(store, "blobs/sha256", img.layers.at(-1).digest.slice(7));
  return execFileSync("sh", ["-c", `bzip2 -dc '${blob}' | cpio -i --to-stdout --quiet greeting`], { encoding: "utf8" });
}

describe("build arguments", () => {
  it("--arg gives arg() its value, else the default; the value is in the cache key through the steps", async () => {
    const r = recipe(`arg("GREETING", "hello")`);
    await minicOk(["build", r, "--store", store]);
    expect(await greeting()).toBe("hello\n");
    const hi = await minicOk(["build", r, "--arg", "GREETING=hi there", "--explain", "--store", store]);
    expect(hi.stderr).toMatch(/args: cache miss: step 1 \(file \/greeting\) changed/);
    expect(await greeting()).toBe("hi there\n");
    expect((await minicOk(["build", r, "--arg", "GREETING=hi there", "--store", store])).stderr).toMatch(/args: cached/);
    expect((await minicOk(["build", r, "--store", store])).stderr).toMatch(/args: cached/); // the default's layer, from the cache
  });

  it("an argument no recipe asks for, a malformed --arg and a missing one: one line each", async () => {
    const r = recipe(`arg("GREETING", "hello")`);
    const unused = await minic(["build", r, "--arg", "GREETNG=x", "--store", store]);
    expect([unused.exitCode, unused.stderr.trim()]).toEqual([2, `minic: --arg GREETNG: the recipe (and its bases) never ask for it (hint: check the name; recipes read arguments with arg("NAME", "default"))`]);
    const bad = await minic(["build", r, "--arg", "1X=y", "--store", store]);
    expect([bad.exitCode, bad.stderr.trim().split("\n").length]).toEqual([2, 1]);
    expect(bad.stderr).toMatch(/--arg '1X=y' is not NAME=VALUE/);
    const missing = await minic(["build", recipe(`arg("GREETING")`), "--store", store]);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toMatch(/args\.ts:2:\d+: build argument 'GREETING' is not set and has no default \(hint: minic build RECIPE --arg GREETING=VALUE/);
  });
});
