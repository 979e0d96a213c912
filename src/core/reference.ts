// Image references: `name[:tag]` in the local store, `host[:port]/repo[:tag]` for registries.
import { MinicError } from "./errors.js";

export interface ImageRef {
  readonly name: string;
  readonly tag: string;
}

const NAME_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** Parses `name[:tag]` (tag defaults to `latest`). Throws EREF on anything else. */
export function parseRef(s: string): ImageRef {
  const colon = s.lastIndexOf(":");
  const slash = s.lastIndexOf("/");
  const hasTag = colon > slash;
  const name = hasTag ? s.slice(0, colon) : s;
  const tag = hasTag ? s.slice(colon + 1) : "latest";
  if (!NAME_RE.test(name) || name.length > 255) {
    throw new MinicError("EREF", `invalid image name '${s}'`, {
      hint: "use lowercase letters, digits and . _ - separators, e.g. hello or apps/web:1.0",
    });
  }
  if (!TAG_RE.test(tag)) {
    throw new MinicError("EREF", `invalid tag in '${s}'`, { hint: "a tag is up to 128 of A-Z a-z 0-9 _ . - and does not start with . or -" });
  }
  return { name, tag };
}

/** `name:tag`. */
export function formatRef(r: ImageRef): string {
  return `${r.name}:${r.tag}`;
}
