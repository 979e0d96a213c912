// Module hooks (registered with node:module register) that let Node import TypeScript recipes:
// the bare specifier "minic" resolves to this installation's recipe API, and .ts/.mts files are
// stripped of their types by esbuild and loaded as ES modules, wherever they are on disk.
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

let indexUrl = "";
let cacheDir = "";

/**
 * Receives the URL of dist/index.js and a directory where transformed sources are kept by
 * content hash (so a rebuild of an unchanged recipe does not start esbuild).
 */
export function initialize(data: { indexUrl: string; cacheDir: string }): void {
  indexUrl = data.indexUrl;
  cacheDir = data.cacheDir;
}

interface ResolveResult { url: string; format?: string; shortCircuit?: boolean }
interface LoadResult { format: string; source?: string | Buffer; shortCircuit?: boolean }

export async function resolve(specifier: string, context: unknown, next: (s: string, c: unknown) => Promise<ResolveResult>): Promise<ResolveResult> {
  if (specifier === "minic") return { url: indexUrl, format: "module", shortCircuit: true };
  return next(specifier, context);
}

export async function load(url: string, context: unknown, next: (u: string, c: unknown) => Promise<LoadResult>): Promise<LoadResult> {
  if (!url.startsWith("file:") || !/\.m?ts$/.test(new URL(url).pathname) || url.includes("/node_modules/")) return next(url, context);
  const path = fileURLToPath(url);
  const source = await readFile(path, "utf8");
  const cached = join(cacheDir, `${createHash("sha256").update(path).update("\0").update(source).digest("hex")}.mjs`);
  const hit = await readFile(cached, "utf8").catch(() => null);
  if (hit !== null) return { format: "module", source: hit, shortCircuit: true };
  const { transform } = await import("esbuild");
  const out = await transform(source, { loader: "ts", format: "esm", target: "node20", sourcefile: path, sourcemap: "inline" });
  await mkdir(cacheDir, { recursive: true });
  const tmp = `${cached}.${process.pid}.tmp`;
  await writeFile(tmp, out.code);
  await rename(tmp, cached);
  return { format: "module", source: out.code, shortCircuit: true };
}
