// The registry client's HTTP: node:http(s) behind fetch's interface. Node's fetch refuses the
// ports the fetch standard calls "bad" for browsers (6000, 5060, 6665-6669, 10080, …) with
// "bad port"; a registry may listen on any of them, and podman and skopeo reach it there.
// Redirects are followed as fetch follows them; a cross-origin one drops the Authorization.
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { Readable } from "node:stream";

/** What the registry client sends: a method, headers and a body it can send again. */
export interface HttpInit {
  method: string;
  headers?: Headers | Record<string, string>;
  body?: Buffer | Blob;
}

const MAX_REDIRECTS = 20;
const IDLE_MS = 300_000;
const NULL_BODY = new Set([101, 204, 205, 304]);

/**
 * Sends one request, following redirects; resolves to a web Response (as fetch does). A network
 * failure rejects with a TypeError whose `cause` is the socket's error (its `code`: ECONNREFUSED,
 * EPROTO, …), as fetch's does.
 */
export async function httpFetch(url: string, init: HttpInit): Promise<Response> {
  let target = new URL(url);
  let method = init.method.toUpperCase();
  let body = init.body;
  const headers = new Headers(init.headers);
  for (let hop = 0; ; hop++) {
    const res = await send(target, method, headers, body);
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (![301, 302, 303, 307, 308].includes(status) || !location) return toResponse(res, method);
    res.resume();
    if (hop === MAX_REDIRECTS) throw new TypeError("fetch failed", { cause: Object.assign(new Error(`more than ${MAX_REDIRECTS} redirects`), { code: "ETOOMANYREDIRECTS" }) });
    const next = new URL(location, target);
    if (next.origin !== target.origin) headers.delete("authorization");
    // As fetch: 303 (and 301/302 after a POST) goes on as a GET without the body.
    if ((status === 303 && method !== "HEAD") || ((status === 301 || status === 302) && method === "POST")) {
      method = "GET";
      body = undefined;
      for (const h of ["content-type", "content-length"]) headers.delete(h);
    }
    target = next;
  }
}

async function send(url: URL, method: string, headers: Headers, body: Buffer | Blob | undefined): Promise<IncomingMessage> {
  const bytes = body instanceof Blob ? Readable.fromWeb(body.stream() as import("node:stream/web").ReadableStream<Uint8Array>) : body;
  const outgoing: Record<string, string> = {};
  headers.forEach((v, k) => (outgoing[k] = v));
  if (body !== undefined && outgoing["content-length"] === undefined) outgoing["content-length"] = String(body instanceof Blob ? body.size : body.length);
  const request = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: outgoing }, (res) => {
      // A body that stalls as long fails too (Node's fetch had both timeouts).
      res.setTimeout(IDLE_MS, () => res.destroy(Object.assign(new Error(`no data for ${IDLE_MS / 1000} s`), { code: "ETIMEDOUT" })));
      resolve(res);
    });
    // As Node's fetch: a registry that accepts and never answers fails after 300 s of silence.
    req.setTimeout(IDLE_MS, () => req.destroy(Object.assign(new Error(`no answer for ${IDLE_MS / 1000} s`), { code: "ETIMEDOUT" })));
    req.on("error", (e) => reject(new TypeError("fetch failed", { cause: e })));
    if (bytes instanceof Readable) {
      bytes.on("error", (e) => req.destroy(e));
      bytes.pipe(req);
    } else req.end(bytes);
  });
}

function toResponse(res: IncomingMessage, method: string): Response {
  const headers = new Headers();
  for (const [k, v] of Object.entries(res.headers)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) headers.append(k, one);
  }
  const status = res.statusCode ?? 0;
  const noBody = method === "HEAD" || NULL_BODY.has(status);
  if (noBody) res.resume();
  const body = noBody ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>);
  return new Response(body, { status, statusText: res.statusMessage ?? "", headers });
}
