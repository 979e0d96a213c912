// Pure: the build cache key of a recipe's layer, and the parts it is made of (for --explain).
import { digestOf, type Digest } from "./digest.js";
import type { CanonicalStep } from "./recipe-canonical.js";

/** Bump when the layer format or build semantics change, so old cache entries stop matching. */
export const BUILD_FORMAT = 1;

/** What one copy input contributes: where it lands and what it holds (never its mtime). */
export interface CopyInputKey {
  rel: string;
  digest: Digest;
  executable: boolean;
  kind: "file" | "symlink" | "dir";
  /** A hard link of that other input of the step (absent otherwise, so older keys still match). */
  linkOf?: string;
  /** The digest of a file's carried xattrs (xattrsDigest; absent without any, so older keys still match). */
  xattrs?: Digest;
}

/** What a build remembers of one copy input for `--explain` (a bare digest in older records). */
export type InputRecord = Omit<CopyInputKey, "rel"> | Digest;

/** The inputs of one copy step as a cache record keeps them: destination → record. */
export function inputRecords(inputs: readonly CopyInputKey[]): Record<string, InputRecord> {
  return Object.fromEntries(inputs.map((k) => [k.rel, { kind: k.kind, digest: k.digest, executable: k.executable, ...(k.linkOf === undefined ? {} : { linkOf: k.linkOf }), ...(k.xattrs === undefined ? {} : { xattrs: k.xattrs }) }]));
}

/**
 * One phrase per input that differs between two builds of a copy step, in name order:
 * "a.txt is new", "b was removed", "c content changed", "d mode changed" (only the executable
 * bit), "e is now a symlink", "f target changed" (a symlink's), "g is now a hard link of a.txt",
 * "h is no longer a hard link of a.txt", "i extended attributes changed" (the carried ones).
 */
export function explainInputs(before: Readonly<Record<string, InputRecord>>, now: readonly CopyInputKey[]): string[] {
  const after = inputRecords(now);
  const out: string[] = [];
  for (const f of Object.keys({ ...before, ...after }).sort()) {
    const b = before[f];
    const a = after[f] as Exclude<InputRecord, Digest> | undefined;
    if (b === undefined) out.push(`${f} is new`);
    else if (a === undefined) out.push(`${f} was removed`);
    else if (typeof b === "string") {
      if (b !== a.digest) out.push(`${f} content changed`);
    } else if (b.kind !== a.kind) out.push(`${f} is now ${a.kind === "dir" ? "a directory" : `a ${a.kind}`}`);
    else {
      const what = [b.digest !== a.digest ? (a.kind === "symlink" ? "target" : "content") : "", b.executable !== a.executable ? "mode" : "", b.xattrs !== a.xattrs ? "extended attributes" : ""].filter(Boolean);
      if (what.length > 0) out.push(`${f} ${what.join(" and ")} changed`);
      if (b.linkOf !== a.linkOf) out.push(a.linkOf !== undefined ? `${f} is now a hard link of ${a.linkOf}` : `${f} is no longer a hard link of ${b.linkOf}`);
    }
  }
  return out;
}

export interface KeyParts {
  format: number;
  epoch: number;
  /** diff ids of the base image's layers, base first. */
  base: Digest[];
  /** One digest per step: its canonical form plus, for copy steps, its inputs. */
  steps: Digest[];
}

/** Digest of each step; copy steps include the content digests of their inputs. */
export function stepDigests(steps: readonly CanonicalStep[], inputs: ReadonlyMap<number, readonly CopyInputKey[]>): Digest[] {
  return steps.map((s, i) => digestOf({ step: s, inputs: inputs.get(i) ?? null }));
}

/** The parts of a key. */
export function keyParts(base: readonly Digest[], steps: readonly Digest[], epoch: number): KeyParts {
  return { format: BUILD_FORMAT, epoch, base: [...base], steps: [...steps] };
}

/** The cache key: digest of the canonical parts. */
export function cacheKey(parts: KeyParts): Digest {
  return digestOf(parts);
}

/** Human-readable reasons why `now` differs from `before` (empty when equal). */
export function explainMiss(before: KeyParts | undefined, now: KeyParts, describe: (i: number) => string): string[] {
  if (!before) return ["no earlier build of this recipe in this store"];
  const why: string[] = [];
  if (before.format !== now.format) why.push(`minic's build format changed (${before.format} → ${now.format})`);
  if (before.epoch !== now.epoch) why.push(`SOURCE_DATE_EPOCH changed (${before.epoch} → ${now.epoch})`);
  if (before.base.join() !== now.base.join()) why.push("the base image's layers changed");
  const n = Math.max(before.steps.length, now.steps.length);
  for (let i = 0; i < n; i++) {
    if (before.steps[i] === now.steps[i]) continue;
    if (i >= now.steps.length) why.push(`step ${i + 1} was removed`);
    else if (i >= before.steps.length) why.push(`step ${i + 1} (${describe(i)}) is new`);
    else why.push(`step ${i + 1} (${describe(i)}) changed`);
    break;
  }
  return why;
}
