// Registry logins: the credentials for a host (from --creds, or the auth file that `podman
// login`, `skopeo login` and `docker login` write), and the parsing of a registry's
// WWW-Authenticate challenge (Basic, or Bearer with a token service). The HTTP exchange itself
// is RegistryClient's.
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { MinicError } from "../core/errors.js";

export interface Credentials {
  username: string;
  password: string;
  /** Where they came from, for messages (`--creds`, or an auth file's path). */
  source: string;
}

/** A parsed WWW-Authenticate challenge. */
export interface Challenge {
  scheme: "basic" | "bearer";
  /** Lower-cased parameter names: realm, service, scope… */
  params: Record<string, string>;
}

/** Pure: the challenge of a WWW-Authenticate header, or undefined for a scheme minic does not speak. */
export function parseChallenge(header: string): Challenge | undefined {
  const m = /^\s*(basic|bearer)\b(.*)$/i.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  for (const p of m[2]!.matchAll(/([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g)) {
    params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, "$1") : p[3]!;
  }
  return { scheme: m[1]!.toLowerCase() as Challenge["scheme"], params };
}

/** Pure: `USER:PASSWORD` of --creds (the password may hold colons). */
export function parseCreds(s: string): Credentials {
  const i = s.indexOf(":");
  if (i <= 0) throw new MinicError("EUSAGE", "--creds takes USER:PASSWORD", { hint: "e.g. --creds alice:s3cret (or log in with podman/skopeo login)" });
  return { username: s.slice(0, i), password: s.slice(i + 1), source: "--creds" };
}

/** The `Authorization` value for HTTP Basic. */
export function basicAuthorization(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString("base64")}`;
}

/**
 * The auth files looked at, in order, as podman and skopeo do: REGISTRY_AUTH_FILE, then
 * $XDG_RUNTIME_DIR/containers/auth.json (or /run/containers/UID/auth.json), then
 * ~/.config/containers/auth.json, then docker's ~/.docker/config.json.
 */
export function authFiles(env: NodeJS.ProcessEnv = process.env, uid = process.getuid?.() ?? 0, home = homedir()): string[] {
  const out: string[] = [];
  if (env.REGISTRY_AUTH_FILE) out.push(env.REGISTRY_AUTH_FILE);
  out.push(env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, "containers/auth.json") : `/run/containers/${uid}/auth.json`);
  out.push(join(env.XDG_CONFIG_HOME || join(home, ".config"), "containers/auth.json"));
  out.push(join(home, ".docker/config.json"));
  return out;
}

/**
 * Pure: the credentials an auth file's JSON holds for `host` and `repository`: the entry of the
 * most specific key among `host/repo/path`, …, `host`, and docker's `https://host/v1/` form.
 * Undefined when none; EINPUT when the entry is not base64 `user:password`.
 */
export function credentialsIn(text: string, host: string, repository: string, source: string): Credentials | undefined {
  let auths: Record<string, { auth?: string }> = {};
  try {
    const doc = JSON.parse(text) as { auths?: Record<string, { auth?: string }> };
    if (doc && typeof doc.auths === "object" && doc.auths !== null) auths = doc.auths;
  } catch {
    throw new MinicError("EINPUT", `auth file ${source} is not JSON`, { hint: "log in again (podman login), or point --authfile elsewhere" });
  }
  const byKey = new Map<string, string>();
  for (const [k, v] of Object.entries(auths)) {
    if (typeof v?.auth !== "string") continue;
    byKey.set(k.replace(/^https?:\/\//, "").replace(/\/v[12]\/?$/, "").replace(/\/+$/, ""), v.auth);
  }
  const parts = repository.split("/");
  for (let n = parts.length; n >= 0; n--) {
    const key = [host, ...parts.slice(0, n)].join("/");
    const auth = byKey.get(key);
    if (auth === undefined) continue;
    const plain = Buffer.from(auth, "base64").toString("utf8");
    const i = plain.indexOf(":");
    if (i <= 0) throw new MinicError("EINPUT", `the entry for ${key} in ${source} is not base64 of user:password`, { hint: "log in again (podman login)" });
    return { username: plain.slice(0, i), password: plain.slice(i + 1), source };
  }
  return undefined;
}

/**
 * The credentials to use for `host`/`repository`: --creds, else the first auth file (--authfile,
 * or the usual places) that has an entry for it. Undefined means anonymous.
 */
export function findCredentials(host: string, repository: string, opts: { creds?: string; authfile?: string }): Credentials | undefined {
  if (opts.creds !== undefined) return parseCreds(opts.creds);
  const files = opts.authfile !== undefined ? [opts.authfile] : authFiles();
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(f, "utf8");
    } catch (e) {
      if (opts.authfile !== undefined) {
        throw new MinicError("EINPUT", `cannot read auth file ${f}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { hint: "give --authfile an auth.json written by podman/skopeo/docker login" });
      }
      continue;
    }
    const c = credentialsIn(text, host, repository, f);
    if (c) return c;
  }
  return undefined;
}
