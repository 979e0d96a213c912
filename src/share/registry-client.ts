// The OCI distribution API, as much as push and pull need: ping, blob HEAD/GET, monolithic blob
// upload (POST then PUT ?digest=), manifest GET/PUT. Anonymous access only.
import { openAsBlob } from "node:fs";
import { Readable } from "node:stream";
import { sha256, type Digest } from "../core/digest.js";
import { MinicError } from "../core/errors.js";
import { ACCEPTED_MANIFESTS } from "./oci-model.js";
import { registryScheme, type RegistryRef } from "./registry-ref.js";
import { stderr } from "../util/stdio.js";

/** The bytes of a blob to upload: in memory, or a file read as it is sent. */
export type BlobBody = { bytes: Buffer } | { file: string };

export class RegistryClient {
  private readonly base: string;

  constructor(private readonly ref: RegistryRef, insecure: boolean) {
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
    const bytes = Buffer.from(await r.arrayBuffer());
    if (bytes.length > 4 << 20) throw new MinicError("EREGISTRY", "manifest is larger than 4 MiB");
    const digest = sha256(bytes);
    const claimed = reference.startsWith("sha256:") ? reference : r.headers.get("docker-content-digest");
    if (claimed && claimed !== digest) {
      throw new MinicError("EDIGEST", `manifest ${reference} hashes to ${digest.slice(0, 19)}…, not ${claimed.slice(0, 19)}…`, { hint: "the registry or the connection corrupted it" });
    }
    let mediaType = (r.headers.get("content-type") ?? "").split(";")[0]!.trim();
    try {
      const inner = (JSON.parse(bytes.toString("utf8")) as { mediaType?: string }).mediaType;
      if (inner) mediaType = inner;
    } catch {
      throw new MinicError("EREGISTRY", `manifest ${reference} is not JSON`);
    }
    return { mediaType, bytes, digest };
  }

  /** A blob's bytes as a stream (the caller verifies the digest while storing). */
  async getBlob(d: Digest): Promise<Readable> {
    const r = await this.fetch(this.url(`blobs/${d}`), { method: "GET" });
    if (r.status !== 200 || !r.body) throw await this.fail(r, `getting blob ${d.slice(0, 19)}…`);
    return Readable.fromWeb(r.body as import("node:stream/web").ReadableStream<Uint8Array>);
  }

  private async fetch(url: string, init: RequestInit): Promise<Response> {
    if (process.env.MINIC_DEBUG) stderr().write(`> ${init.method} ${url}\n`);
    try {
      return await fetch(url, { ...init, redirect: "follow", ...(init.body ? { duplex: "half" } : {}) } as RequestInit);
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
      ? "this registry wants a login; minic supports anonymous registries only for now"
      : r.status === 404 ? "check the repository and tag" : "see the registry's log";
    return new MinicError("EREGISTRY", `${what} failed: HTTP ${r.status}${detail ? ` (${detail})` : ""}`, { hint });
  }
}

function isHttpsToHttp(code: string | undefined): boolean {
  return code === "ERR_SSL_WRONG_VERSION_NUMBER" || code === "EPROTO";
}
