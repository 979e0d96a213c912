// Pure: checks that a parsed JSON document has the shape the code reading it expects, before
// anything uses it. A shape is a function that returns its input (typed) or throws ShapeError
// naming the first member that is wrong (`manifests[0].digest is a number, not a digest`), so a
// wrong type becomes one line of refusal instead of a TypeError deep inside minic.
import { isDigest, type Digest } from "./digest.js";
import { MinicError, type ErrorCode } from "./errors.js";

/** Checks `v` (found at `at`, e.g. `config.Cmd`) and returns it typed; throws ShapeError. */
export interface Shape<T> {
  (v: unknown, at: string): T;
  /** Set by optional(): the member may be absent. */
  readonly optional?: true;
}

/** The type a shape accepts. */
export type ShapeOf<S> = S extends Shape<infer T> ? T : never;

/** A member of a document that does not have the expected type or value. */
export class ShapeError extends Error {
  constructor(readonly at: string, readonly expected: string, readonly got: string) {
    super(`${at || "the document"} is ${got}, not ${expected}`);
    this.name = "ShapeError";
  }
}

/** Pure: a short description of a JSON value's type, for messages ("a string", "null", "an array"). */
export function describeJson(v: unknown): string {
  if (v === null) return "null";
  if (v === undefined) return "missing";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  if (typeof v === "string") return v.length > 40 ? "a string" : `the string ${JSON.stringify(v)}`;
  return `${typeof v === "number" ? "the number" : typeof v} ${String(v)}`;
}

function fail(at: string, expected: string, v: unknown): never {
  throw new ShapeError(at, expected, describeJson(v));
}

function join(at: string, key: string | number): string {
  return typeof key === "number" ? `${at}[${key}]` : at ? `${at}.${key}` : key;
}

/** A string (of at most `max` characters when given). */
export function str(max = Infinity): Shape<string> {
  return (v, at) => (typeof v === "string" && v.length <= max ? v : fail(at, max === Infinity ? "a string" : `a string of at most ${max} characters`, v));
}

/** A string matching `re`, described as `what`. */
export function matching(re: RegExp, what: string): Shape<string> {
  return (v, at) => (typeof v === "string" && re.test(v) ? v : fail(at, what, v));
}

/** A sha256 digest (`sha256:` and 64 lowercase hex digits). */
export const digest: Shape<Digest> = (v, at) => (typeof v === "string" && isDigest(v) ? v : fail(at, "a sha256 digest", v));

/** A finite number, at least `min`. */
export function num(min = -Infinity): Shape<number> {
  return (v, at) => (typeof v === "number" && Number.isFinite(v) && v >= min ? v : fail(at, min === -Infinity ? "a number" : `a number of at least ${min}`, v));
}

/** A safe integer, at least `min` (0 by default: sizes, counts). */
export function int(min = 0): Shape<number> {
  return (v, at) => (typeof v === "number" && Number.isSafeInteger(v) && v >= min ? v : fail(at, `an integer of at least ${min}`, v));
}

/** true or false. */
export const bool: Shape<boolean> = (v, at) => (typeof v === "boolean" ? v : fail(at, "true or false", v));

/** Exactly `value` (a media type, a schema version). */
export function literal<const T extends string | number | boolean>(value: T): Shape<T> {
  return (v, at) => (v === value ? (v as T) : fail(at, JSON.stringify(value), v));
}

/** Any JSON value (for members minic passes on without reading). */
export const anything: Shape<unknown> = (v) => v;

/** An array whose every element has shape `item` (at most `max` of them). */
export function arrayOf<T>(item: Shape<T>, max = Infinity): Shape<T[]> {
  return (v, at) => {
    if (!Array.isArray(v)) fail(at, "an array", v);
    if (v.length > max) throw new ShapeError(at, `at most ${max} elements`, `an array of ${v.length}`);
    v.forEach((x, i) => item(x, join(at, i)));
    return v as T[];
  };
}

/** A plain object used as a map: every value has shape `value`. */
export function recordOf<T>(value: Shape<T>): Shape<Record<string, T>> {
  return (v, at) => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) fail(at, "an object", v);
    for (const [k, x] of Object.entries(v)) value(x, join(at, k));
    return v as Record<string, T>;
  };
}

/** The member may be absent (undefined); when present it has shape `s`. */
export function optional<T>(s: Shape<T>): Shape<T | undefined> & { readonly optional: true } {
  const f = ((v: unknown, at: string) => (v === undefined ? undefined : s(v, at))) as Shape<T | undefined> & { optional: true };
  Object.defineProperty(f, "optional", { value: true });
  return f;
}

/** null, or shape `s` (docker writes `"Cmd": null`). */
export function nullable<T>(s: Shape<T>): Shape<T | null> {
  return (v, at) => (v === null ? null : s(v, at));
}

/** The first of `shapes` that accepts the value; `what` describes them all. */
export function oneOf<T extends unknown[]>(what: string, ...shapes: { [K in keyof T]: Shape<T[K]> }): Shape<T[number]> {
  return (v, at) => {
    for (const s of shapes) {
      try {
        return s(v, at);
      } catch (e) {
        if (!(e instanceof ShapeError)) throw e;
      }
    }
    return fail(at, what, v);
  };
}

type Members = Record<string, Shape<unknown>>;
type Required<P extends Members> = { [K in keyof P as P[K] extends { optional: true } ? never : K]: ShapeOf<P[K]> };
type Optional<P extends Members> = { [K in keyof P as P[K] extends { optional: true } ? K : never]?: ShapeOf<P[K]> };

/** An object with (at least) these members; members not listed are allowed and left as they are. */
export function object<P extends Members>(members: P): Shape<Required<P> & Optional<P>> {
  return (v, at) => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) fail(at, "an object", v);
    const o = v as Record<string, unknown>;
    for (const [k, s] of Object.entries(members)) s(Object.hasOwn(o, k) ? o[k] : undefined, join(at, k));
    return v as Required<P> & Optional<P>;
  };
}

/**
 * Checks `value` against `shape`; a mismatch becomes one MinicError line saying which document
 * (`what`) and which member is wrong, with `hint` (what to do), code EINPUT unless given.
 */
export function checkShape<T>(shape: Shape<T>, value: unknown, what: string, hint: string, code: ErrorCode = "EINPUT"): T {
  try {
    return shape(value, "");
  } catch (e) {
    if (!(e instanceof ShapeError)) throw e;
    throw new MinicError(code, `${what} is malformed: ${e.message}`, { hint, cause: e });
  }
}

/** Parses JSON text and checks its shape (see checkShape); text that is not JSON is refused the same way. */
export function parseShaped<T>(shape: Shape<T>, text: string, what: string, hint: string, code: ErrorCode = "EINPUT"): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new MinicError(code, `${what} is not valid JSON`, { hint, cause: e });
  }
  return checkShape(shape, value, what, hint, code);
}

/** Like checkShape, but undefined instead of an error: for minic's own records, which are dropped when damaged. */
export function shapedOrUndefined<T>(shape: Shape<T>, value: unknown): T | undefined {
  try {
    return shape(value, "");
  } catch (e) {
    if (e instanceof ShapeError) return undefined;
    throw e;
  }
}
