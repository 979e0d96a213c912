// The error of a copy source that no longer holds what the cache key was computed from.
import { MinicError } from "../core/errors.js";

/**
 * A copied file did not hold what the cache key was computed from: it changed during the build,
 * or the digest remembered for it was wrong. The build hashes its inputs again once.
 */
export class StaleInputError extends MinicError {
  constructor(where: string, readonly hostPath: string, what = "content") {
    super("EINPUT", `${where}: copy source '${hostPath}' changed during the build (its ${what} no longer match${what === "content" ? "es" : ""} the digest in the cache key)`, {
      hint: "do not modify copied files while minic builds; run it again",
    });
  }
}
