// minic build: type-check and load a recipe, then build it and its bases into the store.
import { join, resolve } from "node:path";
import { MinicError } from "../core/errors.js";
import { formatRef, parseRef } from "../core/reference.js";
import { buildRecipe } from "../builder/build-image.js";
import { checkRecipeFile, loadRecipe } from "../builder/load-recipe.js";
import { discardRecipeWorker, warmUpRecipeWorker } from "../builder/recipe-eval.js";
import { typecheckRecipe } from "../builder/typecheck.js";
import { sourceDateEpoch } from "../store/images.js";
import { makeProgress } from "../util/progress.js";
import type { Command } from "./command.js";

export const buildCommand: Command = {
  name: "build",
  summary: "build a TypeScript recipe (and its base recipes) into layers and an image",
  usage: "RECIPE.ts [-t NAME[:TAG]] [--no-cache] [--explain] [--json] [--quiet]",
  options: {
    tag: { type: "string", short: "t" },
    "no-cache": { type: "boolean" },
    explain: { type: "boolean" },
    json: { type: "boolean" },
    quiet: { type: "boolean", short: "q" },
  },
  async run(values, positionals, ctx) {
    if (positionals.length !== 1) throw new MinicError("EUSAGE", "build takes one recipe file", { hint: "minic build recipes/hello.ts" });
    const file = positionals[0]!;
    const tag = typeof values.tag === "string" ? parseRef(values.tag) : undefined;
    warmUpRecipeWorker(); // its start overlaps what comes before the recipe is loaded
    const store = await ctx.store();
    const progress = await makeProgress(ctx.tty, Boolean(values.quiet));
    try {
      const path = await checkRecipeFile(resolve(ctx.cwd, file));
      const typechecked = await typecheckRecipe(path, store.layout.cacheDir, ctx.cwd);
      const recipe = await loadRecipe(path, join(store.layout.cacheDir, "recipes"));
      const results = await buildRecipe(store, recipe, {
        noCache: Boolean(values["no-cache"]),
        explain: Boolean(values.explain),
        epoch: sourceDateEpoch(),
        tag,
        progress,
      });
      await typechecked();
      const top = results[results.length - 1]!;
      if (values.json) {
        ctx.out(JSON.stringify({ images: results.map((r) => ({ ref: formatRef(r.ref), manifest: r.manifestDigest, layer: r.layer, cached: r.cached })) }, null, 2));
      } else {
        ctx.out(`${formatRef(top.ref)} ${top.manifestDigest}`);
      }
      return 0;
    } finally {
      discardRecipeWorker();
      progress.stop();
    }
  },
};
