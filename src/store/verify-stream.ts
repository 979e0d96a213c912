// A pass-through that hashes what flows and fails at the end when the digest is not the expected one.
import { createHash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { MinicError } from "../core/errors.js";
import type { Digest } from "../core/digest.js";

/** Passes bytes through; at end, errors with EDIGEST unless their sha256 equals `expected`. */
export function verifyingStream(expected: Digest, what: string): Transform {
  const h = createHash("sha256");
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      h.update(chunk);
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      const got = `sha256:${h.digest("hex")}`;
      if (got !== expected) {
        cb(new MinicError("EDIGEST", `${what} does not match its digest (expected ${expected.slice(0, 19)}…, got ${got.slice(0, 19)}…)`, {
          hint: "the data is corrupt or was tampered with; remove it and fetch or build it again",
        }));
      } else cb();
    },
  });
}
