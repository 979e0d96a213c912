// Pure checks for paths inside an image: absolute, normalised, never escaping the root.
import { MinicError } from "./errors.js";

/**
 * Normalises an in-image path to `/a/b` form. Rejects empty paths, NUL bytes and any `..`
 * component (a recipe never needs one, and it is the classic way out of a tree).
 */
export function containerPath(p: string, what = "path", climbHint = "paths in a recipe are absolute inside the image and may not climb out of it"): string {
  if (typeof p !== "string" || p.length === 0) {
    throw new MinicError("EPATH", `${what} is empty`, { hint: "give an absolute path inside the image, e.g. /srv/www" });
  }
  if (p.includes("\0")) throw new MinicError("EPATH", `${what} '${p}' contains a NUL byte`, { hint: "a path cannot hold a NUL byte; remove it" });
  const parts: string[] = [];
  for (const seg of p.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      throw new MinicError("EPATH", `${what} '${p}' contains '..'`, { hint: climbHint });
    }
    parts.push(seg);
  }
  return "/" + parts.join("/");
}

/**
 * Normalises a path inside the image as containerPath does, and refuses a relative one: there
 * is no working directory to resolve it against, and `etc/a` for `/etc/a` is a slip to point out.
 */
export function absoluteContainerPath(p: string, what = "path"): string {
  if (typeof p === "string" && p.length > 0 && !p.startsWith("/")) {
    throw new MinicError("EPATH", `${what} '${p}' is not absolute`, { hint: `paths inside the image start with '/', e.g. /${p.replace(/^(\.\/)+/, "")}` });
  }
  return containerPath(p, what);
}

/** The components of a normalised container path (`/` gives []). */
export function pathParts(p: string): string[] {
  return p === "/" ? [] : p.slice(1).split("/");
}

/** A name that safeMemberName must look at part by part: a NUL, a leading, trailing or double `/`, a `.` or `..` component. */
const UNPLAIN_NAME = /\0|^\/|\/$|\/\/|(?:^|\/)\.{1,2}(?:\/|$)/;

/**
 * Member name of an archive entry relative to the root (no leading `/`, `.` for the root),
 * or null when the name is unsafe: absolute after stripping `./`, containing `..`, or NUL.
 */
export function safeMemberName(name: string): string | null {
  // Most names are already in that form (no NUL, no empty, `.` or `..` component): as they are.
  if (name !== "" && !UNPLAIN_NAME.test(name)) return name;
  if (name.includes("\0")) return null;
  const parts: string[] = [];
  for (const seg of name.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") return null;
    parts.push(seg);
  }
  return parts.length === 0 ? "." : parts.join("/");
}

/** A member name as an error shows it: a NUL byte as `\0`. */
export function shownName(raw: string): string {
  return raw.replace(/\0/g, "\\0");
}

/** Why safeMemberName refused `raw`: a NUL byte (no file name holds one) or a `..` component. */
export function climbsOrNul(raw: string): string {
  return raw.includes("\0") ? "its name holds a NUL byte, which no file name can" : "its name climbs out of the tree";
}

/** Longest path component Linux filesystems take, in bytes (NAME_MAX). */
export const COMPONENT_MAX = 255;
/**
 * Longest member name minic takes in, in bytes: it is unpacked below the store's own path
 * (`<store>/unpacked/<64 hex>/…`, `<store>/containers/<id>/…`), and the whole must stay under
 * PATH_MAX (4096), so about 1000 bytes are left for the store's path.
 */
export const MEMBER_NAME_MAX = 3072;
/** Longest symlink target Linux takes (PATH_MAX less its NUL). */
export const LINK_TARGET_MAX = 4095;

/**
 * Pure: why a (safe, relative) member name could not be made on disk, or undefined when it can:
 * a component over COMPONENT_MAX bytes (a `.wh.` whiteout may have 4 more: what it names has
 * at most COMPONENT_MAX), or the name over MEMBER_NAME_MAX bytes.
 */
export function memberNameProblem(name: string): string | undefined {
  const total = Buffer.byteLength(name);
  if (total > MEMBER_NAME_MAX) return `its name has ${total} bytes, more than the ${MEMBER_NAME_MAX} minic unpacks`;
  for (const seg of name.split("/")) {
    const n = Buffer.byteLength(seg);
    const max = seg.startsWith(".wh.") ? COMPONENT_MAX + 4 : COMPONENT_MAX;
    if (n > max) return `a component of its name has ${n} bytes, more than a filesystem takes (${COMPONENT_MAX})`;
  }
  return undefined;
}
