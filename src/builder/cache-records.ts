// gc of the build's JSON cache records (compiled recipes, type-check, glob records): each one
// goes when it can no longer be used; the next build makes a new one anyway.
import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { shapedOrUndefined, type Shape } from "../core/json-shape.js";

/**
 * Removes the records in `dir` whose names `isRecord` takes and that `usable` rejects (a record
 * that is unreadable or does not have `shape` is passed as null). Returns how many it removed.
 */
export async function pruneRecords<T>(dir: string, isRecord: (name: string) => boolean, shape: Shape<T>, usable: (rec: T | null) => boolean | Promise<boolean>): Promise<number> {
  let removed = 0;
  for (const n of await readdir(dir).catch(() => [] as string[])) {
    if (!isRecord(n)) continue;
    const p = join(dir, n);
    const rec = await readFile(p, "utf8").then((s) => shapedOrUndefined(shape, JSON.parse(s)) ?? null).catch(() => null);
    if (await usable(rec)) continue;
    await rm(p, { force: true });
    removed++;
  }
  return removed;
}
