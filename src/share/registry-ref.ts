// Pure: registry references (`host[:port]/repo[:tag|@digest]`) and which scheme a host gets.
import { isDigest, type Digest } from "../core/digest.js";
import { MinicError } from "../core/errors.js";

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

const REPO_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const HOST_RE = /^(?:\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(?::\d{1,5})?$/;

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
  const host = s.slice(0, slash);
  if (!(host.includes(".") || host.includes(":") || host === "localhost") || !HOST_RE.test(host)) bad(`'${host}' is not a registry host`);
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
    const colon = rest.lastIndexOf(":");
    if (colon >= 0) {
      reference = rest.slice(colon + 1);
      rest = rest.slice(0, colon);
      if (!TAG_RE.test(reference)) bad("malformed tag");
    }
  }
  if (!REPO_RE.test(rest) || rest.length > 255) bad("malformed repository name");
  return digest ? { host, repository: rest, reference, digest } : { host, repository: rest, reference };
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
