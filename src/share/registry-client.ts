// The OCI distribution API, as much as push and pull need: ping, blob HEAD/GET, monolithic blob
// upload (POST then PUT ?digest=), manifest GET/PUT. Anonymous, or logged in: a 401 with a Basic
// challenge is answered with the credentials, a Bearer challenge with a token fetched from the
// registry's token service (with the credentials, or anonymously), then the request is retried.
import { openAsBlob } from "node:fs";
import { Readable, Transform } from "node:stream";
import { sha256, type Digest } from "../core/digest.js";
import { MinicError } from "../core/errors.js";
import { ACCEPTED_MANIFESTS } from "./oci-model.js";
import { basicAuthorization, parseChallenge, type Challenge, type Credentials } from "./registry-auth.js";
import { registryScheme, type RegistryRef } from "./registry-ref.js";
import { stderr } from "../util/stdio.js";
import { httpFetch, type HttpInit } from "./http-fetch.js";

/** The bytes of a blob to upload: in memory, or a file read as it is sent. */
export type BlobBody = { bytes: Buffer } | { file: string };

export class RegistryClient {
  private readonly base: string;
  /** The Authorization header the registry last asked for (Basic, or a Bearer token). */
  private authorization: string | undefined;

  constructor(private readonly ref: RegistryRef, private readonly insecure: boolean, private readonly creds?: Credentials) {
    this.base = `${registryScheme(ref.host, insecure)}://${ref.host}/v2/`;
  }

  private url(path: string): string {
    return `${this.base}${this.ref.repository}/${path}`;
  }

  /** Checks that the host speaks the v2 API. */
  async ping(): Promise<void> {
    const r = await this.fetch(this.base, { method: "GET" });
    await r.body?.cancel();
    if (r.status !== 200) throw await this.fail(r, "the registry API check (GET /v2/)");
  }

  /** True when the repository already holds the blob (HEAD 200). */
  async hasBlob(d: Digest): Promise<boolean> {
    const r = await this.fetch(this.url(`blobs/${d}`), { method: "HEAD" });
    if (r.status === 200) return true;
    if (r.status === 404) return false;
    throw await this.fail(r, `HEAD blob ${d.slice(0, 19)}…`);
  }

  /** Uploads a blob in one request: POST /blobs/uploads/ then PUT <location>?digest=. */
  async putBlob(d: Digest, size: number, body: BlobBody): Promise<void> {
    const start = await this.fetch(this.url("blobs/uploads/"), { method: "POST", headers: { "content-length": "0" } });
    await start.body?.cancel();
    if (start.status !== 202) throw await this.fail(start, "starting a blob upload");
    const loc = start.headers.get("location");
    if (!loc) throw new MinicError("EREGISTRY", "registry gave no upload location", { hint: "the registry does not follow the distribution spec" });
    const put = new URL(loc, this.base);
    put.searchParams.set("digest", d);
    const payload = "bytes" in body ? body.bytes : await openAsBlob(body.file);
    const r = await this.fetch(put.toString(), { method: "PUT", headers: { "content-type": "application/octet-stream", "content-length": String(size) }, body: payload });
    await r.body?.cancel();
    if (r.status !== 201) throw await this.fail(r, `uploading blob ${d.slice(0, 19)}…`);
  }

  /** Stores a manifest under a tag or digest; returns its digest. */
  async putManifest(reference: string, mediaType: string, bytes: Buffer): Promise<Digest> {
    const r = await this.fetch(this.url(`manifests/${reference}`), { method: "PUT", headers: { "content-type": mediaType }, body: bytes });
    await r.body?.cancel();
    if (r.status !== 201) throw await this.fail(r, `putting manifest ${reference}`);
    return sha256(bytes);
  }

  /**
   * Fetches a manifest. When `reference` is a digest, or the registry sends Docker-Content-Digest,
   * the bytes must hash to it (EDIGEST otherwise).
   */
  async getManifest(reference: string): Promise<{ mediaType: string; bytes: Buffer; digest: Digest }> {
    const r = await this.fetch(this.url(`manifests/${reference}`), { method: "GET", headers: { accept: ACCEPTED_MANIFESTS.join(", ") } });
    if (r.status !== 200) throw await this.fail(r, `getting manifest ${reference}`);
    const bytes = await readAtMost(r, MAX_MANIFEST_BYTES, () => new MinicError("EREGISTRY", `manifest ${reference} is larger than 4 MiB`, { hint: "no image manifest is that large: the registry sends something else" }));
    const digest = sha256(bytes);
    const claimed = reference.startsWith("sha256:") ? reference : r.headers.get("docker-content-digest");
    if (claimed && claimed !== digest) {
      throw new MinicError("EDIGEST", `manifest ${reference} hashes to ${digest.slice(0, 19)}…, not ${claimed.slice(0, 19)}…`, { hint: "the registry or the connection corrupted it" });
    }
    let mediaType = (r.headers.get("content-type") ?? "").split(";")[0]!.trim();
    try {
      const inner = (JSON.parse(bytes.toString("utf8")) as { mediaType?: unknown } | null)?.mediaType;
      if (typeof inner === "string" && inner) mediaType = inner;
    } catch {
      throw new MinicError("EREGISTRY", `manifest ${reference} is not JSON`, { hint: "the server is no OCI registry at this address, or answered with an error page; check the host, port and repository" });
    }
    return { mediaType, bytes, digest };
  }

  /**
   * A blob's bytes as a stream (the caller verifies the digest while storing), which fails as
   * soon as it brings more than the descriptor's `size`: a registry that sends more (or without
   * end) fills neither the disk nor the staging area.
   */
  async getBlob(d: Digest, size: number): Promise<Readable> {
    const r = await this.fetch(this.url(`blobs/${d}`), { method: "GET" });
    if (r.status !== 200 || !r.body) throw await this.fail(r, `getting blob ${d.slice(0, 19)}…`);
    const body = Readable.fromWeb(r.body as import("node:stream/web").ReadableStream<Uint8Array>);
    let seen = 0;
    const bounded = new Transform({
      transform(chunk: Buffer, _enc, done) {
        seen += chunk.length;
        if (seen > size) {
          done(new MinicError("EDIGEST", `blob ${d.slice(0, 19)}… is longer than the ${size} bytes its descriptor says`, { hint: "the registry sends something other than what the manifest names; nothing was stored" }));
          return;
        }
        done(null, chunk);
      },
    });
    body.on("error", (e) => bounded.destroy(e));
    // The reader gets the error through its iteration; once it has let go, a late one is no crash.
    bounded.on("error", () => {});
    bounded.on("close", () => body.destroy());
    return body.pipe(bounded);
  }

  /**
   * A request, logged in when the registry asks: a 401 with a challenge minic speaks gets an
   * Authorization (kept for the next requests) and the request is sent once more. The bodies
   * minic sends (Buffers, file Blobs) can be sent twice.
   */
  private async fetch(url: string, init: HttpInit): Promise<Response> {
    const r = await this.send(url, init);
    const challenge = r.status === 401 ? parseChallenge(r.headers.get("www-authenticate") ?? "") : undefined;
    if (!challenge) return r;
    await r.body?.cancel();
    this.authorization = await this.authorize(challenge);
    return this.send(url, init);
  }

  private async authorize(c: Challenge): Promise<string> {
    if (c.scheme === "basic") {
      if (!this.creds) throw this.loginNeeded();
      return basicAuthorization(this.creds);
    }
    let realm: URL;
    try {
      realm = new URL(c.params.realm ?? "");
    } catch {
      throw new MinicError("EREGISTRY", `registry ${this.ref.host} asked for a token without a valid token service (realm '${c.params.realm ?? ""}')`, { hint: "the registry does not follow the distribution spec" });
    }
    // Credentials go over plain http only where minic would talk plain http to a registry.
    if (realm.protocol !== "https:" && !(realm.protocol === "http:" && registryScheme(realm.host, this.insecure) === "http")) {
      throw new MinicError("EREGISTRY", `the token service of ${this.ref.host} is not https (${realm.origin})`, { hint: "pass --insecure if you trust the network" });
    }
    if (c.params.service) realm.searchParams.set("service", c.params.service);
    if (c.params.scope) realm.searchParams.set("scope", c.params.scope);
    const r = await this.send(realm.toString(), { method: "GET", headers: this.creds ? { authorization: basicAuthorization(this.creds) } : {} }, false);
    if (r.status === 401 || r.status === 403) {
      await r.body?.cancel();
      throw this.creds
        ? new MinicError("EREGISTRY", `the token service of ${this.ref.host} refused the login from ${this.creds.source} (HTTP ${r.status})`, { hint: "check the user and password (podman login again, or --creds)" })
        : this.loginNeeded();
    }
    const body = r.ok ? ((await r.json().catch(() => ({}))) as { token?: unknown; access_token?: unknown }) : {};
    const token = typeof body.token === "string" ? body.token : typeof body.access_token === "string" ? body.access_token : undefined;
    if (!token) throw new MinicError("EREGISTRY", `the token service of ${this.ref.host} gave no token (HTTP ${r.status})`, { hint: "see the registry's log" });
    return `Bearer ${token}`;
  }

  private loginNeeded(): MinicError {
    return new MinicError("EREGISTRY", `registry ${this.ref.host} wants a login`, {
      hint: "give --creds USER:PASSWORD, or log in with podman, skopeo or docker login (minic reads their auth file; --authfile FILE for another)",
    });
  }

  /** One HTTP request (with the registry's Authorization unless `authorized` is false). */
  private async send(url: string, init: HttpInit, authorized = true): Promise<Response> {
    if (process.env.MINIC_DEBUG) stderr().write(`> ${init.method} ${url}\n`);
    const headers = new Headers(init.headers);
    if (authorized && this.authorization) headers.set("authorization", this.authorization);
    try {
      return await httpFetch(url, { ...init, headers });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new MinicError("EREGISTRY", `cannot reach registry ${this.ref.host}: ${cause?.code ?? cause?.message ?? (e as Error).message}`, {
        hint: isHttpsToHttp(cause?.code) ? "the registry speaks plain http; pass --insecure if you trust the network" : "check the host, the port and that the registry runs",
        cause: e,
      });
    }
  }

  private async fail(r: Response, what: string): Promise<MinicError> {
    let detail = "";
    try {
      const body = (await r.json()) as { errors?: { code?: string; message?: string }[] };
      detail = (body.errors ?? []).map((x) => `${x.code ?? ""} ${x.message ?? ""}`.trim()).join("; ");
    } catch {
      /* not a JSON error */
    }
    const hint = r.status === 401 || r.status === 403
      ? this.creds
        ? `the registry refused the login from ${this.creds.source}, or it gives no access to ${this.ref.repository}`
        : "this registry wants a login: give --creds USER:PASSWORD, or log in with podman, skopeo or docker login"
      : r.status === 404 ? "check the repository and tag" : "see the registry's log";
    return new MinicError("EREGISTRY", `${what} failed: HTTP ${r.status}${detail ? ` (${detail})` : ""}`, { hint });
  }
}

function isHttpsToHttp(code: string | undefined): boolean {
  return code === "ERR_SSL_WRONG_VERSION_NUMBER" || code === "EPROTO";
}

/** The most bytes a manifest may have (as containerd and the distribution spec's registries bound it). */
export const MAX_MANIFEST_BYTES = 4 << 20;

/** `r`'s body, read only up to `max` bytes: more fails with `tooLarge()` at once, the rest unread. */
async function readAtMost(r: Response, max: number, tooLarge: () => Error): Promise<Buffer> {
  const reader = r.body?.getReader();
  if (!reader) return Buffer.alloc(0);
  const parts: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.length;
    if (n > max) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    parts.push(value);
  }
  return Buffer.concat(parts);
}
