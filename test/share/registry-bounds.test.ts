// A hostile registry on loopback: a manifest or a blob that does not end, or is longer than
// its descriptor says, is refused as soon as the bound is passed (no disk or memory filled).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:http";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { sha256 } from "../../src/core/digest.js";
import { RegistryClient } from "../../src/share/registry-client.js";
import { parseRegistryRef } from "../../src/share/registry-ref.js";
import { execa } from "execa";
import { LAUNCHER, minic, tempDir } from "../helpers/cli.js";

const t = tempDir("minic-registry-bounds-");
const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", config: {}, rootfs: { type: "layers", diff_ids: [`sha256:${"e".repeat(64)}`] } }));
const endless = `sha256:${"f".repeat(64)}`;
const manifest = Buffer.from(JSON.stringify({
  schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
  config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha256(config), size: config.length },
  layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: endless, size: 1000 }],
}));
/** Bytes the server sent of its endless bodies, to prove the client stopped reading early. */
const sent: Record<string, number> = {};

function forever(res: import("node:http").ServerResponse, key: string): void {
  const chunk = Buffer.alloc(64 * 1024, 0x30);
  sent[key] = 0;
  const push = () => {
    while (!res.destroyed && sent[key]! < 2 ** 31) {
      sent[key]! += chunk.length;
      if (!res.write(chunk)) return void res.once("drain", push);
    }
  };
  res.on("close", () => res.destroy());
  push();
}

let server: Server;
let host = "";
beforeAll(async () => {
  server = createServer((req, res) => {
    const p = new URL(req.url!, "http://x").pathname;
    if (p === "/v2/") return void res.writeHead(200, { "content-type": "application/json" }).end("{}");
    if (p === "/v2/qa/endless/manifests/1") {
      res.writeHead(200, { "content-type": "application/vnd.oci.image.manifest.v1+json" });
      return forever(res, "manifest");
    }
    if (p === "/v2/qa/app/manifests/1") return void res.writeHead(200, { "content-type": "application/vnd.oci.image.manifest.v1+json" }).end(manifest);
    if (p === `/v2/qa/app/blobs/${sha256(config)}`) return void res.writeHead(200).end(config);
    if (p === "/v2/qa/stall/manifests/1") return void res.writeHead(200, { "content-type": "application/vnd.oci.image.manifest.v1+json" }).end(manifest);
    if (p === `/v2/qa/stall/blobs/${sha256(config)}`) return void res.writeHead(200).end(config);
    if (p === `/v2/qa/stall/blobs/${endless}`) return void res.writeHead(200).write(Buffer.alloc(10)); // and never more
    if (p === `/v2/qa/app/blobs/${endless}`) {
      res.writeHead(200);
      return forever(res, "blob");
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  host = `127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  t.remove();
});

describe("a registry that stalls", () => {
  it.each([["SIGTERM", 143], ["SIGINT", 130]] as const)("%s stops minic pull at once: one line, nothing stored, no staging left", async (sig, status) => {
    const store = join(t.path, `store-stall-${sig}`);
    const child = execa(LAUNCHER, ["pull", `${host}/qa/stall:1`, "--store", store], { reject: false, encoding: "utf8", stdin: "ignore", forceKillAfterDelay: false });
    try {
      await new Promise((r) => setTimeout(r, 1500));
      const signalled = Date.now();
      child.kill(sig);
      const r = await Promise.race([child, new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`${sig} did not stop the pull`)), 10_000))]);
      expect([r.exitCode, r.stderr.trim()]).toEqual([status, `minic: interrupted by ${sig}`]);
      expect(Date.now() - signalled).toBeLessThan(5000);
      expect(readdirSync(join(store, "refs"))).toEqual([]);
      expect(readdirSync(join(store, "tmp"))).toEqual([]);
    } finally {
      child.kill("SIGKILL");
    }
  });
});

describe("a registry that sends more than it should", () => {
  it("a manifest that does not end: refused past 4 MiB, the rest unread", async () => {
    const client = new RegistryClient(parseRegistryRef(`${host}/qa/endless:1`), false);
    await expect(client.getManifest("1")).rejects.toThrow(/^manifest 1 is larger than 4 MiB$/);
    expect(sent.manifest!).toBeLessThan(64 << 20);
  });

  it("a blob longer than its descriptor (here, without end): the stream fails past the size", async () => {
    const client = new RegistryClient(parseRegistryRef(`${host}/qa/app:1`), false);
    const body = await client.getBlob(endless as never, 1000);
    let got = 0;
    await expect((async () => { for await (const c of body) got += (c as Buffer).length; })()).rejects.toThrow(/is longer than the 1000 bytes its descriptor says/);
    expect(got).toBeLessThanOrEqual(1000);
    expect(sent.blob!).toBeLessThan(64 << 20);
  });

  it("minic pull of it: one line, exit 1, nothing stored and no staging left", async () => {
    const store = join(t.path, "store");
    const r = await minic(["pull", `${host}/qa/app:1`, "--store", store], { timeout: 60_000 });
    expect([r.exitCode, r.stderr.trim()]).toEqual([1, expect.stringMatching(/^minic: blob sha256:f{12}… is longer than the 1000 bytes its descriptor says \(hint: the registry sends something other than what the manifest names; nothing was stored\)$/)]);
    expect(existsSync(join(store, "refs/127.0.0.1:" + host.split(":")[1]))).toBe(false);
    expect(readdirSync(join(store, "tmp"))).toEqual([]);
    expect(sent.blob!).toBeLessThan(64 << 20);
  });
});
