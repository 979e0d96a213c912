// Registry logins: challenges, --creds, the auth files podman/skopeo/docker write, and the
// Bearer token flow (against a registry and token service made here, on loopback).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:http";
import { authFiles, credentialsIn, parseChallenge, parseCreds } from "../../src/share/registry-auth.js";
import { RegistryClient } from "../../src/share/registry-client.js";
import { parseRegistryRef } from "../../src/share/registry-ref.js";

const b64 = (s: string) => Buffer.from(s).toString("base64");

describe("credentials and challenges", () => {
  it("parses Basic and Bearer challenges; others are not spoken", () => {
    expect(parseChallenge('Basic realm="minic test"')).toEqual({ scheme: "basic", params: { realm: "minic test" } });
    expect(parseChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"')).toEqual({
      scheme: "bearer", params: { realm: "https://auth.example/token", service: "registry.example", scope: "repository:a/b:pull,push" },
    });
    expect(parseChallenge("Negotiate abc")).toBeUndefined();
    expect(parseChallenge("")).toBeUndefined();
  });

  it("--creds splits at the first colon; no user is a usage error", () => {
    expect(parseCreds("alice:pa:ss")).toMatchObject({ username: "alice", password: "pa:ss", source: "--creds" });
    expect(() => parseCreds(":x")).toThrow(/--creds takes USER:PASSWORD/);
    expect(() => parseCreds("alice")).toThrow(/--creds takes USER:PASSWORD/);
  });

  it("reads the most specific entry of an auth file, in podman's and docker's key forms", () => {
    const file = JSON.stringify({ auths: {
      "reg.example:5000": { auth: b64("host:h") },
      "reg.example:5000/team": { auth: b64("team:t") },
      "https://index.docker.io/v1/": { auth: b64("docker:d") },
    } });
    expect(credentialsIn(file, "reg.example:5000", "team/app", "f")).toMatchObject({ username: "team", password: "t" });
    expect(credentialsIn(file, "reg.example:5000", "other/app", "f")).toMatchObject({ username: "host", password: "h" });
    expect(credentialsIn(file, "index.docker.io", "library/busybox", "f")).toMatchObject({ username: "docker", password: "d" });
    expect(credentialsIn(file, "elsewhere.example", "x", "f")).toBeUndefined();
    expect(() => credentialsIn(JSON.stringify({ auths: { "r.example": { auth: b64("nocolon") } } }), "r.example", "x", "f")).toThrow(/not base64 of user:password/);
    expect(() => credentialsIn("{", "r.example", "x", "f")).toThrow(/auth file f is not JSON/);
  });

  it("looks in the auth files podman and skopeo use, then docker's", () => {
    expect(authFiles({ REGISTRY_AUTH_FILE: "/a.json", XDG_RUNTIME_DIR: "/run/user/7" }, 7, "/home/u")).toEqual(
      ["/a.json", "/run/user/7/containers/auth.json", "/home/u/.config/containers/auth.json", "/home/u/.docker/config.json"]);
    expect(authFiles({}, 0, "/root")[0]).toBe("/run/containers/0/auth.json");
  });
});

describe("Bearer tokens", () => {
  // A registry that wants a token for every request, and its token service: it gives `good` to
  // alice:secret (any scope), an anonymous token for pulls only.
  let server: Server;
  let host = "";
  const seen: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      const url = new URL(req.url!, `http://${host}`);
      seen.push(`${req.method} ${url.pathname}${url.search} ${req.headers.authorization ?? "-"}`);
      if (url.pathname === "/token") {
        const basic = req.headers.authorization === `Basic ${b64("alice:secret")}`;
        if (req.headers.authorization && !basic) return void res.writeHead(401).end();
        const scope = url.searchParams.get("scope") ?? "";
        if (!basic && scope.includes("push")) return void res.writeHead(401).end();
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(basic ? { token: "good" } : { access_token: "anon" }));
        return;
      }
      const scope = url.pathname === "/v2/" ? "" : `,scope="repository:team/app:${req.method === "GET" || req.method === "HEAD" ? "pull" : "pull,push"}"`;
      const token = req.headers.authorization?.replace(/^Bearer /, "");
      const pushing = req.method !== "GET" && req.method !== "HEAD";
      if (token !== "good" && (token !== "anon" || pushing)) {
        return void res.writeHead(401, { "www-authenticate": `Bearer realm="http://${host}/token",service="fake"${scope}` }).end();
      }
      if (url.pathname === "/v2/") return void res.writeHead(200).end("{}");
      if (url.pathname.startsWith("/v2/team/app/blobs/")) return void res.writeHead(pushing ? 405 : 404).end();
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    host = `127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const client = (creds?: { username: string; password: string }) =>
    new RegistryClient(parseRegistryRef(`${host}/team/app:1`), false, creds && { ...creds, source: "--creds" });

  it("fetches a token with the credentials and sends it", async () => {
    seen.length = 0;
    const c = client({ username: "alice", password: "secret" });
    await c.ping();
    expect(await c.hasBlob(`sha256:${"0".repeat(64)}`)).toBe(false);
    expect(seen).toEqual([
      `GET /v2/ -`,
      `GET /token?service=fake Basic ${b64("alice:secret")}`,
      `GET /v2/ Bearer good`,
      `HEAD /v2/team/app/blobs/sha256:${"0".repeat(64)} Bearer good`,
    ]);
  });

  it("pulls with an anonymous token; says what is wrong without a login or with a wrong one", async () => {
    expect(await client().hasBlob(`sha256:${"0".repeat(64)}`)).toBe(false);
    await expect(client().putManifest("1", "application/json", Buffer.from("{}"))).rejects.toThrow(/registry 127\.0\.0\.1:\d+ wants a login/);
    await expect(client({ username: "alice", password: "nope" }).ping()).rejects.toThrow(/token service of 127\.0\.0\.1:\d+ refused the login from --creds/);
  });
});
