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
