// Pure: a build cache record (cache key → layer, with what --explain needs) and how one read from
// disk is checked before it is obeyed: its checksum, its shape, and that its parts hash to its key.
import { cacheKey, type InputRecord, type KeyParts } from "./cache-key.js";
import type { Digest } from "./digest.js";
import type { LayerDescriptor } from "./image.js";
import type { Shape } from "./json-shape.js";
import { CACHE_RECORD_SHAPE } from "./record-shapes.js";
import { openSealed } from "./sealed-record.js";

export interface CacheRecord {
  key: Digest;
  parts: KeyParts;
  /** The layer built for this key; absent for a recipe without steps. */
  layer: LayerDescriptor | null;
  recipe: { name: string; file: string };
  /** Per step, the copy inputs (destination → kind, digest, executable), for --explain. */
  inputs: Record<number, Record<string, InputRecord>>;
  /** One line per step, for --explain. */
  steps: string[];
}

const SHAPE: Shape<CacheRecord> = CACHE_RECORD_SHAPE;

/**
 * The record in `text` when it is intact: JSON with a matching checksum, the record's shape, parts
 * that hash to its key, and (when given) the key it is stored under. Undefined otherwise: a
 * damaged or edited record, or one an older minic wrote without a checksum.
 */
export function parseCacheRecord(text: string, key?: Digest): CacheRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const rec = openSealed(value, SHAPE);
  if (!rec || cacheKey(rec.parts) !== rec.key || (key !== undefined && rec.key !== key)) return undefined;
  return rec;
}
