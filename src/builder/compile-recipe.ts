// Turns a TypeScript recipe and the .ts files it imports into plain ES modules in a cache
// directory, keyed by content, so a recipe loads without a compile step for the user and an
// unchanged recipe loads without starting esbuild or registering module hooks.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { readdir, readFile, rm, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { MinicError } from "../core/errors.js";
import { shapedOrUndefined, type Shape } from "../core/json-shape.js";
import { RECIPE_INDEX_SHAPE } from "../core/record-shapes.js";
import { writeFileAtomic } from "../store/atomic.js";
import { makeDirs } from "../util/make-dirs.js";
import { pruneRecords } from "./cache-records.js";

/** What one source compiled to: the module file and the .ts files it imports. */
interface IndexRecord {
  out: string;
  deps: string[];
  depOuts: string[];
  /** The source compiled, so that gc can tell a record that can no longer be used. */
  path: string;
  sourceHash: string;
}

const INDEX_SHAPE: Shape<IndexRecord> = RECIPE_INDEX_SHAPE;

const VERSION = "1";

/** Maps compiled module URLs back to their source files (read by defineRecipe). */
export const SOURCES_KEY = Symbol.for("minic.recipeSources");

/** The compiled module URL → source file URL map that compileRecipe fills (for the recipe's thread). */
export function recipeSources(): ReadonlyMap<string, string> {
  return ((globalThis as Record<symbol, unknown>)[SOURCES_KEY] as Map<string, string> | undefined) ?? new Map();
}

/** The error for recipe modules that import each other in a circle (`cycle` ends where it starts). */
export function importCycleError(cycle: readonly string[]): MinicError {
  return new MinicError("ERECIPE", `${cycle.at(-1)}: import cycle (${cycle.join(" -> ")})`, { hint: "recipes may not import each other in a circle" });
}

/**
 * Compiles `file` and its .ts imports into `cacheDir`; returns the URL to import. `minicUrl` is
 * what the bare specifier "minic" becomes (minic's dist/index.js); "minic/recipes/NAME.ts" is
 * the recipe minic ships beside it. Registers compiled → source URLs in a global map so
 * that recipes know where they came from (copy patterns resolve beside the source).
 * Throws ERECIPE with file:line:col for syntax errors.
 */
export async function compileRecipe(file: string, cacheDir: string, minicUrl: string): Promise<string> {
  const sources = ((globalThis as Record<symbol, unknown>)[SOURCES_KEY] ??= new Map<string, string>()) as Map<string, string>;
  const seen = new Map<string, Promise<string>>();
  const compileOne = (path: string, chain: string[]): Promise<string> => {
    if (chain.includes(path)) throw importCycleError([...chain, path]);
    let p = seen.get(path);
    if (!p) {
      p = compileFile(path, cacheDir, minicUrl, (dep) => compileOne(dep, [...chain, path])).then((out) => {
        sources.set(pathToFileURL(out).href, pathToFileURL(path).href);
        return out;
      });
      seen.set(path, p);
    }
    return p;
  };
  return pathToFileURL(await compileOne(resolve(file), [])).href;
}

async function compileFile(path: string, cacheDir: string, minicUrl: string, compileDep: (p: string) => Promise<string>): Promise<string> {
  let source: string;
  try {
    source = readFileSync(path, "utf8");
  } catch (e) {
    throw new MinicError("ERECIPE", `cannot read recipe module ${path}`, { hint: "check the import path", cause: e });
  }
  const key = createHash("sha256").update(`${VERSION}\0${minicUrl}\0${path}\0`).update(source).digest("hex");
  const indexPath = join(cacheDir, `${key}.json`);
  const rec = await readFile(indexPath, "utf8").then((s) => shapedOrUndefined(INDEX_SHAPE, JSON.parse(s)) ?? null).catch(() => null);
  if (rec) {
    const depOuts = await Promise.all(rec.deps.map(compileDep));
    if (depOuts.join("\0") === rec.depOuts.join("\0")) {
      const ok = await readFile(rec.out).then(() => true, () => false);
      if (ok) return rec.out;
    }
  }
  const { build } = await import("esbuild");
  const deps: string[] = [];
  const depOuts: string[] = [];
  let result;
  try {
    result = await build({
      stdin: { contents: source, loader: "ts", sourcefile: path, resolveDir: dirname(path) },
      bundle: true,
      write: false,
      format: "esm",
      platform: "node",
      target: "node20",
      logLevel: "silent",
      sourcemap: "inline",
      define: {
        "import.meta.url": JSON.stringify(pathToFileURL(path).href),
        "import.meta.filename": JSON.stringify(path),
        "import.meta.dirname": JSON.stringify(dirname(path)),
      },
      plugins: [{
        name: "minic-recipe-imports",
        setup(b) {
          b.onResolve({ filter: /.*/ }, async (args) => {
            if (args.kind === "entry-point") return undefined;
            const spec = args.path;
            if (spec === "minic") return { path: minicUrl, external: true };
            // "minic/recipes/…": the recipes minic ships (busybox.ts), from the minic that runs.
            const shipped = spec.startsWith("minic/recipes/") ? fileURLToPath(new URL(`../${spec.slice("minic/".length)}`, minicUrl)) : undefined;
            if (shipped || spec.startsWith(".") || isAbsolute(spec)) {
              const dep = shipped ?? resolve(args.resolveDir, spec);
              if (/\.m?ts$/.test(dep)) {
                const out = await compileDep(dep);
                deps.push(dep);
                depOuts.push(out);
                return { path: pathToFileURL(out).href, external: true };
              }
              return { path: pathToFileURL(dep).href, external: true };
            }
            if (spec.startsWith("node:")) return { path: spec, external: true };
            try {
              return { path: pathToFileURL(createRequire(path).resolve(spec)).href, external: true };
            } catch {
              return { path: spec, external: true };
            }
          });
        },
      }],
    });
  } catch (e) {
    const first = (e as { errors?: { text: string; detail?: unknown; location?: { file: string; line: number; column: number } | null }[] }).errors?.[0];
    // What a plugin callback threw (compiling an import, writing its module: a full disk) is
    // that error, not a syntax error of the recipe.
    if (first?.detail instanceof Error) throw first.detail;
    if (first?.location) {
      const l = first.location;
      throw new MinicError("ERECIPE", `${l.file}:${l.line}:${l.column + 1}: syntax error: ${first.text}`, { hint: "fix the recipe and build again", cause: e });
    }
    if (e instanceof MinicError) throw e;
    throw new MinicError("ERECIPE", `${path}: ${first?.text ?? (e as Error).message}`, { hint: "fix the recipe and build again", cause: e });
  }
  const code = result.outputFiles![0]!.text;
  const depsKey = createHash("sha256").update(depOuts.join("\0")).digest("hex").slice(0, 16);
  const out = join(cacheDir, `${key}-${depsKey}.mjs`);
  await makeDirs(cacheDir);
  await writeFileAtomic(out, code);
  await writeFileAtomic(indexPath, JSON.stringify({ out, deps, depOuts, path, sourceHash: sha256Hex(source) } satisfies IndexRecord));
  return out;
}

function sha256Hex(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * For gc: removes the records of sources that are gone or have changed since (they can no
 * longer be used: a changed source has another key) and the compiled modules only they named,
 * and compiled modules no record names that are over an hour old (a build may be writing a
 * new one's record right now). Returns how many records it removed.
 */
export async function pruneRecipeCache(cacheDir: string, now = Date.now()): Promise<number> {
  const keep = new Set<string>();
  const drop = new Set<string>();
  const removed = await pruneRecords(cacheDir, (n) => n.endsWith(".json"), INDEX_SHAPE, async (rec) => {
    const source = rec?.path ? await readFile(rec.path).catch(() => null) : null;
    const usable = Boolean(rec?.out && source && sha256Hex(source) === rec.sourceHash);
    if (rec?.out) (usable ? keep : drop).add(rec.out);
    return usable;
  });
  for (const n of (await readdir(cacheDir).catch(() => [] as string[])).filter((f) => f.endsWith(".mjs"))) {
    const p = join(cacheDir, n);
    if (keep.has(p)) continue;
    const old = ((await stat(p).catch(() => null))?.mtimeMs ?? now) < now - 3_600_000;
    if (drop.has(p) || old) await rm(p, { force: true });
  }
  return removed;
}


