// Type-checks a recipe and the files it imports against minic's API, cached by file content.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { MinicError } from "../core/errors.js";
import { shapedOrUndefined } from "../core/json-shape.js";
import { TYPECHECK_RECORD_SHAPE } from "../core/record-shapes.js";
import { writeFileAtomic } from "../store/atomic.js";
import { pruneRecords } from "./cache-records.js";
import { importCycleError } from "./compile-recipe.js";

interface CacheRecord {
  files: Record<string, string>;
}

/**
 * Throws ERECIPE naming file:line:col of the first type error in `file` or its imports.
 * A recipe whose sources have not changed since it last passed is not checked again
 * (the record lives in `cacheDir`), so a no-op rebuild does not load the compiler.
 * Returns a function that saves the record; call it once the build has succeeded, so that a
 * failed build leaves the store as it was.
 */
export async function typecheckRecipe(file: string, cacheDir: string, cwd: string): Promise<() => Promise<void>> {
  const path = resolve(file);
  const record = join(cacheDir, `typecheck-${createHash("sha256").update(path).digest("hex").slice(0, 32)}.json`);
  const prev = await readFile(record, "utf8").then((s) => shapedOrUndefined(TYPECHECK_RECORD_SHAPE, JSON.parse(s)) ?? null).catch(() => null);
  if (prev && (await unchanged(prev.files))) return async () => {};

  const require = createRequire(import.meta.url);
  const ts = require("typescript") as typeof import("typescript");
  const distIndex = fileURLToPath(new URL("../index.d.ts", import.meta.url));
  const typesDir = join(dirname(require.resolve("@types/node/package.json")), "..");
  const options: import("typescript").CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    allowImportingTsExtensions: true,
    skipLibCheck: true,
    types: ["node"],
    typeRoots: [typesDir],
    lib: ["lib.es2022.d.ts"],
    baseUrl: dirname(path),
    paths: { minic: [distIndex], "minic/recipes/*": [fileURLToPath(new URL("../../recipes/*", import.meta.url))] },
  };
  const program = ts.createProgram([path], options);
  const diags = ts.getPreEmitDiagnostics(program).filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (diags.length > 0) {
    // Recipes importing each other in a circle fail tsc with TS7022 ("implicitly has type 'any'
    // because … referenced directly or indirectly in its own initializer"): say what it is.
    const cycle = diags.some((d) => d.code === 7022 || d.code === 7023) ? importCycle(ts, program, path) : undefined;
    if (cycle) throw importCycleError(cycle);
    const d = diags[0]!;
    const text = ts.flattenDiagnosticMessageText(d.messageText, " ");
    let where = relative(cwd, path);
    if (d.file && d.start !== undefined) {
      const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
      where = `${relative(cwd, d.file.fileName)}:${line + 1}:${character + 1}`;
    }
    const more = diags.length > 1 ? ` (and ${diags.length - 1} more)` : "";
    throw new MinicError("ERECIPE", `${where}: error TS${d.code}: ${text}${more}`, { hint: "fix the recipe; nothing was built" });
  }
  const files: Record<string, string> = {};
  for (const sf of program.getSourceFiles()) {
    const f = sf.fileName;
    if (f.includes("/node_modules/") || f === distIndex || f.endsWith(".d.ts")) continue;
    files[f] = hash(await readFile(f));
  }
  files[distIndex] = hash(await readFile(distIndex));
  return () => writeFileAtomic(record, JSON.stringify({ files } satisfies CacheRecord));
}

/**
 * For gc: removes the type-check records that can no longer be used (a file they checked is
 * gone or has changed: the next build checks it again and writes a new record anyway).
 * Returns how many it removed.
 */
export function pruneTypecheckCache(cacheDir: string): Promise<number> {
  return pruneRecords(cacheDir, (n) => n.startsWith("typecheck-") && n.endsWith(".json"), TYPECHECK_RECORD_SHAPE, async (rec) => Boolean(rec && (await unchanged(rec.files))));
}

async function unchanged(files: Record<string, string>): Promise<boolean> {
  for (const [f, h] of Object.entries(files)) {
    const buf = await readFile(f).catch(() => null);
    if (!buf || hash(buf) !== h) return false;
  }
  return true;
}

function hash(b: Buffer): string {
  return createHash("sha256").update(b).digest("hex");
}

/**
 * The first circle of relative .ts imports among the program's own files reached from `start`
 * (as compileRecipe follows them), ending where it starts, or undefined.
 */
function importCycle(ts: typeof import("typescript"), program: import("typescript").Program, start: string): string[] | undefined {
  const imports = (file: string): string[] => {
    const sf = program.getSourceFile(file);
    if (!sf) return [];
    return ts.preProcessFile(sf.text, true, true).importedFiles.map((f) => f.fileName)
      .filter((s) => s.startsWith(".") && /\.m?ts$/.test(s)).map((s) => resolve(dirname(file), s));
  };
  const done = new Set<string>();
  const walk = (file: string, chain: string[]): string[] | undefined => {
    if (chain.includes(file)) return [...chain.slice(chain.indexOf(file)), file];
    if (done.has(file)) return undefined;
    for (const dep of imports(file)) {
      const c = walk(dep, [...chain, file]);
      if (c) return c;
    }
    done.add(file);
    return undefined;
  };
  return walk(start, []);
}
