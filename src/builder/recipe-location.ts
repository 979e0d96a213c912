// Where in the user's recipe sources an error thrown while a recipe loads arose: the first stack
// frame in a compiled recipe module, mapped back through its inline source map.
import { readFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { fileURLToPath } from "node:url";

/** A position in a recipe source file (line and column from 1). */
export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

const FRAME = /(file:\/\/[^\s()]+):(\d+):(\d+)/g;
const INLINE_MAP = /\/\/# sourceMappingURL=data:application\/json;base64,([A-Za-z0-9+/=]+)\s*$/;

/**
 * The source position of the first frame of `err`'s stack that lies in a compiled recipe module
 * (`sources` maps their URLs to the sources' URLs), or undefined when there is none (a value
 * thrown without a stack, or an error raised outside the recipes).
 */
export function recipeLocation(err: unknown, sources: ReadonlyMap<string, string>): SourceLocation | undefined {
  const stack = typeof (err as { stack?: unknown })?.stack === "string" ? (err as { stack: string }).stack : "";
  for (const m of stack.matchAll(FRAME)) {
    const source = sources.get(m[1]!);
    if (!source) continue;
    const at = mapPosition(fileURLToPath(m[1]!), Number(m[2]), Number(m[3]));
    if (at) return { file: fileURLToPath(source), ...at };
  }
  return undefined;
}

/** Maps a 1-based position in a compiled module to its source through the module's inline map. */
function mapPosition(compiled: string, line: number, column: number): { line: number; column: number } | undefined {
  try {
    const m = INLINE_MAP.exec(readFileSync(compiled, "utf8"));
    if (!m) return undefined;
    const entry = new SourceMap(JSON.parse(Buffer.from(m[1]!, "base64").toString("utf8"))).findEntry(line - 1, column - 1) as { originalLine?: number; originalColumn?: number };
    if (entry.originalLine === undefined || entry.originalColumn === undefined) return undefined;
    return { line: entry.originalLine + 1, column: entry.originalColumn + 1 };
  } catch {
    return undefined; // the compiled module went (gc) or is damaged: no position
  }
}
