// minic build: type-check and load a recipe, then build it and its bases into the store.
import { join, relative, resolve } from "node:path";
import { MinicError } from "../core/errors.js";
import { formatRef, parseRef } from "../core/reference.js";
import { buildRecipe, type BuildResult } from "../builder/build-image.js";
import { checkRecipeFile, loadRecipe } from "../builder/load-recipe.js";
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
    const store = await ctx.store();
    const progress = await makeProgress(ctx.tty, Boolean(values.quiet));
    try {
      const path = await checkRecipeFile(resolve(ctx.cwd, file), file);
      const typechecked = await typecheckRecipe(path, store.layout.cacheDir, ctx.cwd);
      const recipe = await loadRecipe(path, join(store.layout.cacheDir, "recipes"), ctx.cwd);
      const results = await buildRecipe(store, recipe, {
        noCache: Boolean(values["no-cache"]),
        explain: Boolean(values.explain),
        epoch: sourceDateEpoch(),
        tag,
        progress,
      });
      await typechecked();
      const top = results[results.length - 1]!;
      for (const r of results) if (!r.tag.tagged) ctx.err(keptNote(r, ctx.cwd));
      if (values.json) {
        ctx.out(JSON.stringify({ images: results.map((r) => ({ ref: formatRef(r.ref), tagged: r.tag.tagged, manifest: r.manifestDigest, layer: r.layer, cached: r.cached })) }, null, 2));
      } else {
        ctx.out(`${formatRef(top.ref)} ${top.manifestDigest}`);
      }
      return 0;
    } finally {
      progress.stop();
    }
  },
};

/** One line on a base image left untagged: whose image its name holds, and how to name it. */
function keptNote(r: BuildResult, cwd: string): string {
  const name = formatRef(r.ref);
  const file = relative(cwd, r.recipeFile);
  const holder = !r.tag.tagged && r.tag.holder ? `an image built from ${relative(cwd, r.tag.holder)}` : "an image not built from it (imported, loaded, pulled or tagged otherwise)";
  return `minic: note: ${name} is kept: it holds ${holder}; the base built from ${file} is not tagged `
    + `(hint: 'minic build ${file}' gives it the name; 'minic build ${file} -t NAME' another one)`;
}
