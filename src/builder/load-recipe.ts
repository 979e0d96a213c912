// Loads a TypeScript recipe file (no compile step for the user) and returns its Recipe value.
import { existsSync } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join, relative, resolve as resolvePath } from "node:path";
import { MinicError } from "../core/errors.js";
import { isRecipe, type Recipe } from "../core/recipe.js";
import { compileRecipe, recipeSources } from "./compile-recipe.js";
import { evaluateRecipe } from "./recipe-eval.js";
import { recipeLocation } from "./recipe-location.js";

/**
 * What a recipe imports as "minic": the recipe API bundled into one file by `npm run build`
 * (dist/recipe-api.js: its ESM imports cost a recipe's worker ~9 ms less than dist/index.js's
 * dozen modules), else dist/index.js. Both sit in dist/, so a shipped "minic/recipes/NAME.ts"
 * resolves alike from either.
 */
function recipeApiUrl(): string {
  const bundled = new URL("../recipe-api.js", import.meta.url);
  return existsSync(bundled) ? bundled.href : new URL("../index.js", import.meta.url).href;
}

/**
 * Compiles `file` (types stripped by esbuild, cached by content) and imports it in a worker
 * thread (recipe-eval.ts: SIGINT and SIGTERM stop a recipe that never ends); returns its default
 * export, checked to be a recipe (as are its bases, recursively). Throws ERECIPE with
 * file:line:col (relative to `cwd`) for syntax errors and load-time failures: for what a recipe
 * throws, the first place in the recipe sources on its stack. EINTERRUPTED when stopped by a signal.
 */
export async function loadRecipe(file: string, cacheDir: string, cwd = process.cwd(), args: ReadonlyMap<string, string> = new Map()): Promise<Recipe> {
  const path = await checkRecipeFile(file);
  const url = await compileRecipe(path, cacheDir, recipeApiUrl());
  let evaluated: { value: unknown; argsRead: string[] };
  try {
    evaluated = await evaluateRecipe(url, recipeSources(), args);
  } catch (e) {
    if (e instanceof MinicError && e.code === "EINTERRUPTED") throw e;
    throw loadError(relative(cwd, path), e, cwd);
  }
  const unused = [...args.keys()].filter((n) => !evaluated.argsRead.includes(n));
  if (unused.length > 0) {
    throw new MinicError("EUSAGE", `--arg ${unused.join(", ")}: the recipe (and its bases) never ask for ${unused.length === 1 ? "it" : "them"}`, { hint: "check the name; recipes read arguments with arg(\"NAME\", \"default\")" });
  }
  const r = evaluated.value;
  if (!isRecipe(r)) {
    throw new MinicError("ERECIPE", `${relative(cwd, path)}: the default export is not a recipe`, { hint: "end the file with: export default defineRecipe({ ... })" });
  }
  return r;
}

/**
 * The absolute path of a recipe file; throws when it is missing, a directory (the hint names the
 * recipes in it) or not TypeScript. `shown` is the path as the user gave it, for messages.
 */
export async function checkRecipeFile(file: string, shown = file): Promise<string> {
  const path = resolvePath(file);
  const st = await stat(path).catch(() => null);
  if (st?.isDirectory()) {
    const recipes = (await readdir(path).catch(() => [] as string[])).filter((n) => /\.m?ts$/.test(n) && !n.endsWith(".d.ts")).sort();
    const dir = shown.replace(/\/+$/, "") || "/";
    const hint = recipes.length === 0
      ? "give the path of a .ts recipe file, e.g. recipes/hello.ts"
      : `give one of its recipe files, e.g. minic build ${join(dir, recipes[0]!)}; it holds ${recipes.slice(0, 5).join(", ")}${recipes.length > 5 ? ", …" : ""}`;
    throw new MinicError("EINPUT", `recipe '${shown}' is a directory, not a recipe file`, { hint });
  }
  if (!st || !st.isFile()) {
    throw new MinicError("ENOTFOUND", `recipe '${shown}' does not exist`, { hint: "give the path of a .ts recipe file, e.g. recipes/hello.ts" });
  }
  if (!/\.m?ts$/.test(path)) throw new MinicError("ERECIPE", `recipe '${shown}' is not a TypeScript file`, { hint: "recipes are .ts (or .mts) files" });
  return path;
}

/** Turns whatever a recipe threw while loading into one line with file:line:col where known. */
function loadError(file: string, e: unknown, cwd: string): MinicError {
  const loc = recipeLocation(e, recipeSources());
  const where = loc ? `${relative(cwd, loc.file)}:${loc.line}:${loc.column}` : file;
  // The recipe API's errors are MinicErrors of the "minic" module the recipe imported (dist/),
  // another copy of the class than the CLI's own.
  if (e instanceof MinicError || (e instanceof Error && e.name === "MinicError" && typeof (e as MinicError).code === "string")) {
    const m = e as MinicError;
    return new MinicError(m.code, `${where}: ${m.message}`, { hint: m.hint, cause: e });
  }
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
  return new MinicError("ERECIPE", `${where}: failed to load: ${msg}`, { hint: "fix the recipe and build again", cause: e });
}
