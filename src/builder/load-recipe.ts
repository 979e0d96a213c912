// Loads a TypeScript recipe file (no compile step for the user) and returns its Recipe value.
import { stat } from "node:fs/promises";
import { resolve as resolvePath } from "node:path";
import { MinicError } from "../core/errors.js";
import { isRecipe, type Recipe } from "../core/recipe.js";
import { compileRecipe, recipeSources } from "./compile-recipe.js";
import { evaluateRecipe } from "./recipe-eval.js";

/**
 * Compiles `file` (types stripped by esbuild, cached by content) and imports it in a worker
 * thread (recipe-eval.ts: SIGINT and SIGTERM stop a recipe that never ends); returns its default
 * export, checked to be a recipe (as are its bases, recursively). Throws ERECIPE with file:line
 * for syntax errors and load-time failures, EINTERRUPTED when stopped by a signal.
 */
export async function loadRecipe(file: string, cacheDir: string): Promise<Recipe> {
  const path = await checkRecipeFile(file);
  const url = await compileRecipe(path, cacheDir, new URL("../index.js", import.meta.url).href);
  let r: unknown;
  try {
    r = await evaluateRecipe(url, recipeSources());
  } catch (e) {
    if (e instanceof MinicError && e.code === "EINTERRUPTED") throw e;
    throw loadError(file, e);
  }
  if (!isRecipe(r)) {
    throw new MinicError("ERECIPE", `${file}: the default export is not a recipe`, { hint: "end the file with: export default defineRecipe({ ... })" });
  }
  return r;
}

/** The absolute path of a recipe file; throws when it is missing or not TypeScript. */
export async function checkRecipeFile(file: string): Promise<string> {
  const path = resolvePath(file);
  const st = await stat(path).catch(() => null);
  if (!st || !st.isFile()) {
    throw new MinicError("ENOTFOUND", `recipe '${file}' does not exist`, { hint: "give the path of a .ts recipe file, e.g. recipes/hello.ts" });
  }
  if (!/\.m?ts$/.test(path)) throw new MinicError("ERECIPE", `recipe '${file}' is not a TypeScript file`, { hint: "recipes are .ts (or .mts) files" });
  return path;
}

/** Turns whatever a recipe threw while loading into one line with file:line where known. */
function loadError(file: string, e: unknown): MinicError {
  if (e instanceof MinicError) return new MinicError(e.code, `${file}: ${e.message}`, { hint: e.hint, cause: e });
  const err = e as { message?: string; errors?: { text: string; location?: { file: string; line: number; column: number } }[] };
  const first = err.errors?.[0];
  if (first?.location) {
    const loc = first.location;
    return new MinicError("ERECIPE", `${loc.file}:${loc.line}:${loc.column + 1}: syntax error: ${first.text}`, { hint: "fix the recipe and build again", cause: e });
  }
  const msg = String(err.message ?? e).split("\n")[0]!;
  const m = /(\/[^\s:]+\.m?tsx?):(\d+):(\d+): (?:ERROR: )?(.*)$/.exec(String(err.message ?? ""));
  if (m) return new MinicError("ERECIPE", `${m[1]}:${m[2]}:${m[3]}: syntax error: ${m[4]}`, { hint: "fix the recipe and build again", cause: e });
  if ((e as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND") {
    return new MinicError("ERECIPE", `${file}: ${msg}`, { hint: "check the import paths in the recipe (bases are imported with their .ts extension)", cause: e });
  }
  return new MinicError("ERECIPE", `${file}: failed to load: ${msg}`, { hint: "fix the recipe and build again", cause: e });
}
