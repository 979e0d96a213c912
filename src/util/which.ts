// Looks a program up on PATH without running it (cached per process).
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

const cache = new Map<string, string | null>();

/** Absolute path of `name` on PATH, or null. */
export function findProgram(name: string): string | null {
  if (cache.has(name)) return cache.get(name)!;
  let found: string | null = null;
  const dirs = (process.env.PATH ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin").split(delimiter);
  for (const d of dirs) {
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      found = p;
      break;
    } catch {
      /* not here */
    }
  }
  cache.set(name, found);
  return found;
}
