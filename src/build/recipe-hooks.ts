// Module hooks (registered with node:module register) that let Node import TypeScript recipes:
// the bare specifier "minic" resolves to this installation's recipe API, and .ts/.mts files are
// stripped of their types by esbuild and loaded as ES modules, wherever they are on disk.
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

let indexUrl = "";

/** Receives the URL of dist/index.js from the registering thread. */
export function initialize(data: { indexUrl: string }): void {
  indexUrl = data.indexUrl;
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
  const { transform } = await import("esbuild");
  const out = await transform(await readFile(path, "utf8"), {
    loader: "ts",
    format: "esm",
    target: "node20",
    sourcefile: path,
    sourcemap: "inline",
  });
  return { format: "module", source: out.code, shortCircuit: true };
}
