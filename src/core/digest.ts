// Digests ("sha256:<hex>") and canonical JSON, the two things every content address is made of.
import { createHash } from "node:crypto";
import { MinicError } from "./errors.js";

export type Digest = `sha256:${string}`;

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

/** True when `s` is a well-formed sha256 digest. */
export function isDigest(s: string): s is Digest {
  return DIGEST_RE.test(s);
}

/** Parses a digest, throwing EDIGEST with a hint when malformed. */
export function parseDigest(s: string): Digest {
  if (!isDigest(s)) {
    throw new MinicError("EDIGEST", `malformed digest '${s}'`, { hint: "expected sha256: followed by 64 lowercase hex digits" });
  }
  return s;
}

/** The hex part of a digest. */
export function digestHex(d: Digest): string {
  return d.slice("sha256:".length);
}

/** sha256 of bytes or a UTF-8 string. */
export function sha256(data: string | Uint8Array): Digest {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

/**
 * Canonical JSON: object keys sorted, no whitespace, `undefined` members dropped.
 * Two equal values always give the same bytes, so the result can be hashed.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as object).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortKeys(x);
    }
    return out;
  }
  return v;
}

/** Digest of a value's canonical JSON. */
export function digestOf(value: unknown): Digest {
  return sha256(canonicalJson(value));
}
