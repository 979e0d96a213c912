// Excludes (issue 9 item 5): `!` patterns in copy() and a .minicignore beside the recipe leave
// files out of the layer and out of the cache key (changing an excluded file is a cache hit); an
// exclude that leaves nothing, a copy of only excludes and a `!` line in .minicignore are one
// line each, exit 1, nothing stored. GNU cpio lists the layers.
import { afterAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { minic, minicOk, tempDir } from "../helpers/cli.js";

const t = tempDir("minic-excludes-");
afterAll(() => t.remove());

function project(name: string, copyArgs: string, ignore?: string): { dir: string; recipe: string; store: string } {
  const dir = join(t.path, name);
  for (const d of ["site/css", "site/node_modules/x", "site/logs"]) mkdirSync(join(dir, d), { recursive: true });
  const files: Record<string, string> = {
    "site/index.html": "<h1>hi</h1>\n", "site/css/a.css": "a{}\n", "site/.env": "SECRET=1\n",
    "site/node_modules/x/i.js": "x\n", "site/logs/run.log": "log\n", "site/debug.log": "d\n",
  };
  for (const [p, c] of Object.entries(files)) writeFileSync(join(dir, p), c);
  if (ignore !== undefined) writeFileSync(join(dir, ".minicignore"), ignore);
  const recipe = join(dir, "app.ts");
  writeFileSync(recipe, `import { copy, defineRecipe } from "minic";\nexport default defineRecipe({ name: "${name}", steps: [copy(${copyArgs}, "/srv")] });\n`);
  return { dir, recipe, store: join(dir, "store") };
}

async function layerNames(store: string, image: string): Promise<string[]> {
  const img = JSON.parse((await minicOk(["inspect", image, "--json", "--store", store])).stdout);
  const blob = join(store, "blobs/sha256", img.layers.at(-1).digest.slice(7));
  return execFileSync("sh", ["-c", `bzip2 -dc '${blob}' | cpio -it --quiet`], { encoding: "utf8" }).trim().split("\n").filter((n) => n !== "." && n !== "srv");
}

describe("excludes", () => {
  it("'!' patterns and .minicignore leave files out of the layer, and out of the cache key", async () => {
    const p = project("ex", `["site/**", "!site/.env", "!site/logs"]`, "# build junk\nnode_modules/\n*.log\n");
    await minicOk(["build", p.recipe, "--store", p.store]);
    expect((await layerNames(p.store, "ex")).sort()).toEqual(["srv/css", "srv/css/a.css", "srv/index.html"]);
    writeFileSync(join(p.dir, "site/.env"), "SECRET=2\n");
    writeFileSync(join(p.dir, "site/node_modules/x/i.js"), "changed\n");
    const again = await minicOk(["build", p.recipe, "--store", p.store]);
    expect(again.stderr).toMatch(/ex: cached/);
    writeFileSync(join(p.dir, "site/index.html"), "<h1>changed</h1>\n");
    expect((await minicOk(["build", p.recipe, "--store", p.store])).stderr).toMatch(/ex: built layer/);
  });

  it("an exclude that leaves nothing, only excludes, and a '!' line in .minicignore: one line each, exit 1", async () => {
    const cases: [string, string, string | undefined, RegExp][] = [
      ["all", `["site/*.log", "!site/debug.log"]`, undefined, /step 1: everything copy source 'site\/\*\.log' matches is excluded \(by a '!' pattern or \.minicignore\)/],
      ["only", `["!site/.env"]`, undefined, /step 1: copy has only '!' patterns/],
      ["neg", `["site/**"]`, "*.log\n!keep.log\n", /\.minicignore line 2: '!' \(re-include\) is not supported/],
    ];
    for (const [name, args, ignore, why] of cases) {
      const p = project(name, args, ignore);
      const r = await minic(["build", p.recipe, "--store", p.store]);
      expect(r.exitCode, name).toBe(1);
      expect(r.stderr.trim().split("\n").filter((l) => l.startsWith("minic:")), name).toHaveLength(1);
      expect(r.stderr, name).toMatch(why);
      expect((await minicOk(["images", "--store", p.store])).stdout, name).not.toMatch(new RegExp(`^${name}\\b`, "m"));
    }
  });
});
