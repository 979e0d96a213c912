// Pure checks for paths inside an image: absolute, normalised, never escaping the root.
import { MinicError } from "./errors.js";

/**
 * Normalises an in-image path to `/a/b` form. Rejects empty paths, NUL bytes and any `..`
 * component (a recipe never needs one, and it is the classic way out of a tree).
 */
export function containerPath(p: string, what = "path"): string {
  if (typeof p !== "string" || p.length === 0) {
    throw new MinicError("EPATH", `${what} is empty`, { hint: "give an absolute path inside the image, e.g. /srv/www" });
  }
  if (p.includes("\0")) throw new MinicError("EPATH", `${what} '${p}' contains a NUL byte`);
  const parts: string[] = [];
  for (const seg of p.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      throw new MinicError("EPATH", `${what} '${p}' contains '..'`, { hint: "paths in a recipe are absolute inside the image and may not climb out of it" });
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

/**
 * Member name of an archive entry relative to the root (no leading `/`, `.` for the root),
 * or null when the name is unsafe: absolute after stripping `./`, containing `..`, or NUL.
 */
export function safeMemberName(name: string): string | null {
  if (name.includes("\0")) return null;
  const parts: string[] = [];
  for (const seg of name.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") return null;
    parts.push(seg);
  }
  return parts.length === 0 ? "." : parts.join("/");
}
