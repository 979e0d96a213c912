// Pure: registry references (`host[:port]/repo[:tag|@digest]`) and which scheme a host gets.
import { isDigest, type Digest } from "../core/digest.js";
import { MinicError } from "../core/errors.js";
import { digestTag, domainOf, HOST_RE, PATH_RE, splitTag, TAG_RE, type ImageRef } from "../core/reference.js";

export interface RegistryRef {
  /** `host[:port]` as given. */
  host: string;
  /** Repository path, e.g. `apps/web`. */
  repository: string;
  /** Tag, or the digest for references by digest. */
  reference: string;
  /** Set when the reference is a digest: what was pulled must hash to it. */
  digest?: Digest;
}

/**
 * Parses `host[:port]/repo[:tag]` or `host[:port]/repo@sha256:…`. The host is required (minic has
 * no default registry): the first component must contain `.` or `:`, or be `localhost`.
 */
export function parseRegistryRef(s: string): RegistryRef {
  const bad = (why: string): never => {
    throw new MinicError("EREF", `invalid registry reference '${s}': ${why}`, { hint: "write HOST[:PORT]/REPOSITORY[:TAG], e.g. 127.0.0.1:5000/apps/web:1" });
  };
  const slash = s.indexOf("/");
  if (slash < 0) bad("no registry host");
  const host = domainOf(s);
  if (host === undefined || !HOST_RE.test(host)) bad(`'${s.slice(0, slash)}' is not a registry host`);
  let rest = s.slice(slash + 1);
  let reference = "latest";
  let digest: Digest | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    const d = rest.slice(at + 1);
    if (!isDigest(d)) bad("malformed digest");
    digest = d as Digest;
    reference = d;
    rest = rest.slice(0, at);
  } else {
    const split = splitTag(rest);
    if (split.tag !== undefined) {
      reference = split.tag;
      rest = split.name;
      if (!TAG_RE.test(reference)) bad("malformed tag");
    }
  }
  if (!PATH_RE.test(rest) || rest.length > 255) bad("malformed repository name");
  return digest ? { host: host!, repository: rest, reference, digest } : { host: host!, repository: rest, reference };
}

/** True for hosts on this machine: localhost, 127.0.0.0/8, ::1. */
export function isLoopback(host: string): boolean {
  const name = host.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  return name === "localhost" || /^127(?:\.\d{1,3}){3}$/.test(name) || name === "::1";
}

/**
 * The scheme for a registry host. The rule: plain http only for loopback hosts (a registry on this
 * machine, as tests and CI run one) or when the user passes --insecure; https everywhere else.
 */
export function registryScheme(host: string, insecure: boolean): "http" | "https" {
  return insecure || isLoopback(host) ? "http" : "https";
}

/** `host/repo:tag` (or `@digest`). */
export function formatRegistryRef(r: RegistryRef): string {
  return `${r.host}/${r.repository}${r.digest ? "@" : ":"}${r.reference}`;
}

/**
 * The name a pull stores when no -t is given, as podman does: the whole reference,
 * `host[:port]/repo:tag`; by digest `host[:port]/repo:sha256-<12 hex>` (never :latest, which a
 * pull by digest would silently move).
 */
export function pulledName(r: RegistryRef): ImageRef {
  return { name: `${r.host}/${r.repository}`, tag: r.digest ? digestTag(r.digest) : r.reference };
}
