// gc and the build's own caches (compiled recipes, type-check records, glob records): records
// that can still be used stay, so a no-op build after gc is still a no-op; records of a changed
// or deleted recipe, and of a copied tree that changed, go.
import { afterAll, describe, expect, it } from "vitest";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { minicOk, tempDir } from "../helpers/cli.js";

const t = tempDir("minic-cache-gc-");
afterAll(() => t.remove());

const recipe = (n: number) => `import { copy, defineRecipe, file } from "minic";
export default defineRecipe({ name: "app", steps: [copy("www/*", "/srv/"), file("/n", "${n}\\n")] });
`;

describe("gc of the build caches", () => {
  it("keeps what can be used, removes what cannot", async () => {
    const dir = join(t.path, "proj");
    const store = join(t.path, "store");
    mkdirSync(join(dir, "www"), { recursive: true });
    writeFileSync(join(dir, "www", "index.html"), "hi\n");
    const r = join(dir, "app.ts");
    writeFileSync(r, recipe(1));
    await minicOk(["build", r, "--store", store]);
    const cache = join(store, "cache");
    const list = () => ({
      recipes: readdirSync(join(cache, "recipes")).sort(),
      typecheck: readdirSync(cache).filter((n) => n.startsWith("typecheck-")),
      globs: readdirSync(join(cache, "globs")),
    });
    const built = list();
    expect(built.recipes.filter((n) => n.endsWith(".json"))).toHaveLength(1);
    expect(built.recipes.filter((n) => n.endsWith(".mjs"))).toHaveLength(1);
    expect(built.typecheck).toHaveLength(1);
    expect(built.globs).toHaveLength(1);

    // Everything can still be used: gc keeps it, and the next build is a cache hit.
    expect(JSON.parse((await minicOk(["gc", "--json", "--store", store])).stdout).cacheRecords).toBe(0);
    expect(list()).toEqual(built);
    expect((await minicOk(["build", r, "--store", store, "--explain"])).stderr).toMatch(/cache hit/);

    // The recipe changes: its old compiled module and record can never be used again (nor can
    // the build record of the old layer, which lost its name and goes with it).
    writeFileSync(r, recipe(2));
    await minicOk(["build", r, "--store", store]);
    expect(list().recipes).toHaveLength(4);
    expect(JSON.parse((await minicOk(["gc", "--json", "--store", store])).stdout)).toMatchObject({ blobs: 3, cacheRecords: 2 });
    expect(list().recipes).toHaveLength(2);
    expect(list().recipes.filter((n) => built.recipes.includes(n))).toEqual([]);

    // The copied tree changes (its glob record is stale), then the recipe goes (its compiled
    // module and type-check record are stale).
    writeFileSync(join(dir, "www", "more.html"), "more\n");
    rmSync(r);
    expect(JSON.parse((await minicOk(["gc", "--json", "--store", store])).stdout).cacheRecords).toBe(3);
    expect(list()).toEqual({ recipes: [], typecheck: [], globs: [] });
  });
});
