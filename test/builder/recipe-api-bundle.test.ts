// The recipe API's one-file bundle (dist/recipe-api.js, scripts/bundle.mjs), which a recipe's
// worker imports as "minic" instead of dist/index.js and its modules: the same API, and the one
// recipes get.
import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT, minicOk, tempDir } from "../helpers/cli.js";

describe("the recipe API's bundle", () => {
  it("exports what dist/index.js exports, and imports nothing of dist/", async () => {
    const bundle = (await import(pathToFileURL(join(ROOT, "dist/recipe-api.js")).href)) as Record<string, unknown>;
    const modules = (await import(pathToFileURL(join(ROOT, "dist/index.js")).href)) as Record<string, unknown>;
    expect(Object.keys(bundle).sort()).toEqual(Object.keys(modules).sort());
    for (const [name, v] of Object.entries(modules)) expect(typeof bundle[name], name).toBe(typeof v);
    expect(readFileSync(join(ROOT, "dist/recipe-api.js"), "utf8")).not.toMatch(/from\s+["']\.\.?\//);
  });

  it("is what a built recipe imports as \"minic\"", async () => {
    const store = tempDir("minic-api-");
    try {
      await minicOk(["build", join(ROOT, "recipes/busybox.ts"), "--store", store.path, "-q"]);
      const dir = join(store.path, "cache/recipes");
      const compiled = readdirSync(dir).filter((f) => f.endsWith(".mjs")).map((f) => readFileSync(join(dir, f), "utf8"));
      expect(compiled.length).toBeGreaterThan(0);
      expect(compiled.some((src) => src.includes(`"${pathToFileURL(join(ROOT, "dist/recipe-api.js")).href}"`))).toBe(true);
      expect(compiled.some((src) => src.includes("/dist/index.js"))).toBe(false);
    } finally {
      store.remove();
    }
  });
});
