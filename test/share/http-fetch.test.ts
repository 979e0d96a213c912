// The registry client's HTTP (src/share/http-fetch.ts) against servers on 127.0.0.1 made here:
// ports Node's fetch refuses, redirects as fetch follows them (the Authorization stays with its
// origin), HEAD and 204 without a body, bodies sent again after a 307, network errors' codes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { createServer as netServer } from "node:net";
import { httpFetch } from "../../src/share/http-fetch.js";

interface Seen {
  method: string;
  url: string;
  authorization?: string;
  body: string;
}

/** A server on 127.0.0.1:`port` (0: any) that records each request and answers with `reply`. */
async function serve(port: number, reply: (req: IncomingMessage, body: string) => { status: number; headers?: Record<string, string>; body?: string }) {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString();
      seen.push({ method: req.method!, url: req.url!, body, ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
      const r = reply(req, body);
      res.writeHead(r.status, r.headers).end(r.body);
    });
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(port, "127.0.0.1", resolve));
  const address = server.address();
  return { seen, origin: `http://127.0.0.1:${typeof address === "object" && address ? address.port : port}`, close: () => new Promise((r) => server.close(r)) };
}

/** Whether 127.0.0.1:`port` is free to listen on. */
async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netServer().once("error", () => resolve(false)).listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

let other: Awaited<ReturnType<typeof serve>>;
let main: Awaited<ReturnType<typeof serve>>;
beforeAll(async () => {
  other = await serve(0, (req) => ({ status: 200, body: `other ${req.method}` }));
  main = await serve(0, (req, body) => {
    if (req.url === "/away") return { status: 307, headers: { location: `${other.origin}/blob` } };
    if (req.url === "/here") return { status: 308, headers: { location: "/landed" } };
    if (req.url === "/see-other") return { status: 303, headers: { location: "/landed" } };
    if (req.url === "/empty") return { status: 204 };
    return { status: 200, headers: { "x-a": "1" }, body: `landed ${req.method} ${body}` };
  });
});
afterAll(async () => {
  await other.close();
  await main.close();
});

describe("httpFetch", () => {
  it("reaches a port Node's fetch refuses as 'bad port' (6000, as a registry may use)", async () => {
    let chosen: number | undefined;
    for (const p of [6000, 6665, 6666, 10080]) {
      if (await portFree(p)) {
        chosen = p;
        break;
      }
    }
    expect(chosen, "none of the ports tried is free").toBeDefined();
    await expect(fetch(`http://127.0.0.1:${chosen}/`)).rejects.toThrow(); // Node's own fetch: bad port
    const s = await serve(chosen!, () => ({ status: 200, body: "ok" }));
    try {
      const r = await httpFetch(`${s.origin}/v2/`, { method: "GET" });
      expect([r.status, await r.text()]).toEqual([200, "ok"]);
    } finally {
      await s.close();
    }
  });

  it("follows a 308 with method, body and Authorization; a cross-origin 307 drops the Authorization", async () => {
    const n = main.seen.length;
    const same = await httpFetch(`${main.origin}/here`, { method: "PUT", headers: { authorization: "Bearer t" }, body: Buffer.from("data") });
    expect([same.status, await same.text(), same.headers.get("x-a")]).toEqual([200, "landed PUT data", "1"]);
    expect(main.seen.slice(n).map((s) => s.authorization)).toEqual(["Bearer t", "Bearer t"]);
    const m = other.seen.length;
    const away = await httpFetch(`${main.origin}/away`, { method: "GET", headers: { authorization: "Bearer t" } });
    expect(await away.text()).toBe("other GET");
    expect(other.seen.slice(m)).toEqual([{ method: "GET", url: "/blob", body: "" }]);
  });

  it("a 303 goes on as a GET without the body; HEAD and 204 have no body; a Blob body is sent whole", async () => {
    const r = await httpFetch(`${main.origin}/see-other`, { method: "POST", body: Buffer.from("x") });
    expect(await r.text()).toBe("landed GET ");
    const head = await httpFetch(`${main.origin}/landed`, { method: "HEAD" });
    expect([head.status, head.body]).toEqual([200, null]);
    const empty = await httpFetch(`${main.origin}/empty`, { method: "GET" });
    expect([empty.status, empty.body]).toEqual([204, null]);
    const blob = await httpFetch(`${main.origin}/landed`, { method: "PUT", body: new Blob(["a", "b".repeat(70_000)]) });
    expect((await blob.text()).length).toBe("landed PUT ".length + 70_001);
  });

  it("a refused connection rejects as fetch does: a TypeError whose cause has the socket's code", async () => {
    const s = await serve(0, () => ({ status: 200 }));
    const port = Number(new URL(s.origin).port);
    await s.close();
    const e = await httpFetch(`http://127.0.0.1:${port}/`, { method: "GET" }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TypeError);
    expect((e as { cause?: { code?: string } }).cause?.code).toBe("ECONNREFUSED");
  });
});
