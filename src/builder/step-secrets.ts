// Build secrets in a run step: `minic build --secret id=ID,src=FILE` and `run(cmd, { secrets:
// [ID] })` bind the host file read-only at /run/secrets/ID for that step only (/run is nspawn's
// tmpfs: the mount point is never in the upper dir, so never in the layer). The file is bound,
// not copied: its content is never written into the store. What the step prints is shown with
// each secret's bytes replaced by `***`.
import { readFile } from "node:fs/promises";
import type { Bind } from "../runtime/runtime-argv.js";

/** Where a step reads secret `id`. */
export const secretPath = (id: string): string => `/run/secrets/${id}`;

/** Pure: the read-only binds of secrets `ids` (each given: checked before the build starts). */
export function secretBinds(ids: readonly string[], given: ReadonlyMap<string, string>): Bind[] {
  return ids.map((id) => ({ source: given.get(id)!, target: secretPath(id), readOnly: true, dir: false }));
}

/**
 * A function that replaces the bytes of each of the secrets `ids` in a chunk of a step's output
 * with `***` (bytes kept as latin1, so any content is replaced exactly); identity when there are
 * none. A secret split across two chunks of output is not caught: a step should not print it.
 */
export async function secretRedactor(ids: readonly string[], given: ReadonlyMap<string, string>): Promise<(chunk: Buffer) => Buffer> {
  const values: string[] = [];
  for (const id of ids) {
    const text = (await readFile(given.get(id)!)).toString("latin1");
    for (const v of [text, text.replace(/\r?\n$/, "")]) if (v.length > 0 && !values.includes(v)) values.push(v);
  }
  if (values.length === 0) return (chunk) => chunk;
  values.sort((a, b) => b.length - a.length);
  return (chunk) => {
    let s = chunk.toString("latin1");
    let changed = false;
    for (const v of values) {
      if (!s.includes(v)) continue;
      s = s.split(v).join("***");
      changed = true;
    }
    return changed ? Buffer.from(s, "latin1") : chunk;
  };
}
