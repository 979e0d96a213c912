// Pure: image names as podman and docker write them, `[HOST[:PORT]/]PATH[:TAG]`. The store keeps
// the whole name (`127.0.0.1:5000/qa/app:1`, `localhost/app:1`, `app:1` are three names).
import { MinicError } from "./errors.js";

export interface ImageRef {
  /** Everything before the tag: `[host[:port]/]path`. */
  readonly name: string;
  readonly tag: string;
}

/** One path component: lowercase alphanumerics joined by `.`, `_`, `__` or runs of `-`. */
const COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
/** A repository path: components joined by `/`. */
export const PATH_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
/** A tag: up to 128 of `\w . -`, not starting with `.` or `-`. */
export const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** A registry host: a DNS name, an IPv4 address or a bracketed IPv6 address, with an optional port. */
export const HOST_RE = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)(?::\d{1,5})?$/;
/** Longest name, as docker counts it. */
const NAME_MAX = 255;
/** A name is kept as one directory, `refs/<encodeURIComponent(name)>`; a file name has at most 255 bytes. */
const STORED_NAME_MAX = 255;

const NAME_HINT = "use lowercase letters, digits and . _ - separators, after an optional registry host: e.g. hello, apps/web:1.0 or 127.0.0.1:5000/apps/web:1";

/**
 * The registry host that starts `name` (`host[:port]` before the first `/`), or undefined. As in
 * docker and podman, the first component is a host only when the name has a `/` after it and the
 * component holds a `.` or a `:`, or is `localhost`: `apps/web` has none, `localhost/web` has one.
 */
export function domainOf(name: string): string | undefined {
  const slash = name.indexOf("/");
  if (slash < 0) return undefined;
  const first = name.slice(0, slash);
  return first.includes(".") || first.includes(":") || first === "localhost" ? first : undefined;
}

/**
 * Splits `name[:tag]`: the tag is what follows the last `:` when that `:` comes after the last
 * `/` (`127.0.0.1:5000/qa/app` has no tag; `localhost:5000/a:1` has tag `1`).
 */
export function splitTag(s: string): { name: string; tag?: string } {
  const colon = s.lastIndexOf(":");
  return colon > s.lastIndexOf("/") ? { name: s.slice(0, colon), tag: s.slice(colon + 1) } : { name: s };
}

/** Parses `[host[:port]/]path[:tag]` (tag defaults to `latest`). Throws EREF, with a hint, on anything else. */
export function parseRef(s: string): ImageRef {
  const { name, tag = "latest" } = splitTag(s);
  checkName(name, s);
  if (!TAG_RE.test(tag)) {
    throw new MinicError("EREF", `invalid tag in '${s}'`, { hint: "a tag is up to 128 of A-Z a-z 0-9 _ . - and does not start with . or -" });
  }
  return { name, tag };
}

/** `name:tag`. */
export function formatRef(r: ImageRef): string {
  return `${r.name}:${r.tag}`;
}

/** The same ref under `localhost/`, podman's name for an image with no registry host; a qualified ref unchanged. */
export function withLocalhost(r: ImageRef): ImageRef {
  return domainOf(r.name) === undefined ? { name: `localhost/${r.name}`, tag: r.tag } : r;
}

/** The tag an image fetched by digest gets: `sha256-` and the digest's first 12 hex digits. */
export function digestTag(digest: string): string {
  return `sha256-${digest.slice("sha256:".length, "sha256:".length + 12)}`;
}

function checkName(name: string, s: string): void {
  const bad = (hint: string): never => {
    throw new MinicError("EREF", `invalid image name '${s}'`, { hint });
  };
  if (s.includes("@")) bad("a stored image is named NAME[:TAG], or given by its manifest digest alone: sha256:<64 hex> or 12 or more of its hex digits");
  // What reads as a digest is one: an image named so would stand in for the image that digest
  // names wherever that one is not in the store (`minic run sha256:…` of a loaded tarball's image).
  if (name === "sha256" || /^[0-9a-f]{64}$/.test(name)) bad("sha256:<hex> and 64 hex digits name an image by its digest; give the image another name");
  const host = domainOf(name);
  const path = host === undefined ? name : name.slice(host.length + 1);
  if (host !== undefined && !HOST_RE.test(host)) bad(`'${host}' is not a registry host: write HOST[:PORT]/PATH, e.g. 127.0.0.1:5000/apps/web:1`);
  if (!PATH_RE.test(path)) {
    const lower = path.toLowerCase();
    bad(lower !== path && PATH_RE.test(lower) ? `image names are lowercase: '${host === undefined ? "" : `${host}/`}${lower}${s.slice(name.length)}'` : NAME_HINT);
  }
  if (name.length > NAME_MAX || encodeURIComponent(name).length > STORED_NAME_MAX) {
    throw new MinicError("EREF", `image name '${name.slice(0, 40)}…' is too long (${name.length} characters)`, {
      hint: `a name is at most ${NAME_MAX} characters, and ${STORED_NAME_MAX} once each / and : counts as three`,
    });
  }
}
