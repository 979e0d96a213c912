// Pure: minic's own records (build cache records, the copied files' digests, the verified
// blobs) carry a checksum of their content, so that one changed on disk, by damage or by hand,
// is noticed and dropped instead of obeyed. It guards against damage, not against someone who
// can write the store (root): such a one can as well write a matching checksum.
import { digestOf } from "./digest.js";
import { shapedOrUndefined, type Shape } from "./json-shape.js";

/** The member that holds the checksum. */
export const SEAL_KEY = "seal";

/** `record` with its checksum added (the digest of its canonical JSON without the checksum). */
export function sealRecord<T extends object>(record: T): T & { seal: string } {
  const { [SEAL_KEY]: _old, ...rest } = record as Record<string, unknown>;
  return { ...(rest as T), seal: digestOf(rest) };
}

/**
 * The record in `value` when its checksum matches and it has `shape`; undefined otherwise (a
 * damaged record, one written by hand, or one of an older minic that wrote none).
 */
export function openSealed<T>(value: unknown, shape: Shape<T>): T | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  const { [SEAL_KEY]: seal, ...rest } = value as Record<string, unknown>;
  if (typeof seal !== "string" || seal !== digestOf(rest)) return undefined;
  return shapedOrUndefined(shape, rest);
}
