// Looks a program up on PATH without running it (cached per process).
import { statSync } from "node:fs";
import { delimiter, join } from "node:path";

const cache = new Map<string, string | null>();

/**
 * Absolute path of `name` on PATH (a regular file with an execute bit), or null. stat without
 * throwing: a miss in each PATH directory is the common case, and an fs exception costs far
 * more than the call (minic run looks up seven programs).
 */
export function findProgram(name: string): string | null {
  if (cache.has(name)) return cache.get(name)!;
  let found: string | null = null;
  const dirs = (process.env.PATH ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin").split(delimiter);
  for (const d of dirs) {
    if (!d.startsWith("/")) continue; // an empty or relative entry would resolve against the cwd
    const p = join(d, name);
    let st;
    try {
      st = statSync(p, { throwIfNoEntry: false });
    } catch {
      continue; // unreadable or a loop: not here
    }
    if (st?.isFile() && (st.mode & 0o111) !== 0) {
      found = p;
      break;
    }
  }
  cache.set(name, found);
  return found;
}
