// Run steps get the host's network by default (as `podman build`), with the host's resolver and
// hosts file bound read-only for the step only: a step fetches a page from a server this test
// starts on the host's 127.0.0.1, and the layer holds what the step wrote and nothing of the
// network setup (no resolv.conf, no hosts, no /etc copied up). `run(cmd, { network: "none" })`
// and `minic build --network none` take a step off the network: no route, the fetch fails. The
// network mode is not part of the cache key. Traffic goes only to the server made here.
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { minic } from "../helpers/cli.js";
import { startBuild, writeRecipe } from "../helpers/run-steps.js";
import { runtimeSuite, stackedImage } from "../runtime/fixtures.js";

const { fx, run } = runtimeSuite(async (fx) => {
  // A base that has its own resolv.conf and hosts (as a Debian tree does).
  await stackedImage(fx.store, fx.tree, "bbnet", [{ "etc/resolv.conf": "nameserver 192.0.2.53\n", "etc/hosts": "192.0.2.1 image-host\n" }]);
});

let server: Server;
let port = 0;
let hits = 0;
beforeAll(async () => {
  server = createServer((_req, res) => {
    hits++;
    res.end("page from the host\n");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

let n = 0;
const dir = () => {
  const d = join(fx.root, `n${n++}`);
  mkdirSync(d);
  return d;
};
const url = () => `http://127.0.0.1:${port}/`;

async function build(recipe: string, args: string[] = []) {
  const r = await startBuild([recipe, "--store", fx.store, "--json", ...args]);
  const out = String(r.all ?? "");
  const json = r.exitCode === 0 ? (JSON.parse(out.slice(out.indexOf("{\n"))) as { images: { cached: boolean; layer: { digest: string } | null }[] }) : undefined;
  return { exitCode: r.exitCode, out, top: json?.images[json.images.length - 1] };
}

/** The entry names of a layer blob, in archive order. */
function layerEntries(digest: string): string[] {
  const blob = join(fx.store, "blobs", "sha256", digest.replace(/^sha256:/, ""));
  return execFileSync("sh", ["-c", `bzip2 -dc '${blob}' | cpio -t --quiet`], { encoding: "utf8" }).split("\n").filter(Boolean);
}

/** A file of the image, read with cat inside a container of it ("" when missing; a last newline is dropped, as execa drops it). */
async function imageFile(image: string, path: string): Promise<string> {
  const r = await run(["--net", "none", image, "--", "/bin/sh", "-c", `cat ${path} 2>/dev/null || true`]);
  return r.stdout;
}
const text = (s: string) => s.replace(/\n$/, "");
const hostFile = (p: string) => text(readFileSync(p, "utf8"));

const minicLines = (out: string) => out.split("\n").filter((l) => l.startsWith("minic:"));

describe("run steps and the network", () => {
  it("by default a step reaches the host's 127.0.0.1 and resolves with the host's resolv.conf; the layer holds only what it wrote", async () => {
    const before = hits;
    const r = await build(writeRecipe(dir(), "fetch", `run("wget -q -O /page ${url()} && cat /etc/resolv.conf > /resolv.seen && cat /etc/hosts > /hosts.seen")`));
    expect(r.exitCode, r.out).toBe(0);
    expect(hits).toBe(before + 1);
    expect(layerEntries(r.top!.layer!.digest).sort()).toEqual(["hosts.seen", "page", "resolv.seen"]);
    expect(await imageFile("fetch", "/page")).toBe("page from the host");
    expect(await imageFile("fetch", "/resolv.seen")).toBe(hostFile("/etc/resolv.conf"));
    expect(await imageFile("fetch", "/hosts.seen")).toBe(hostFile("/etc/hosts"));
    // bb has no resolv.conf and no hosts: the mount points nspawn made for the step are gone.
    expect(await imageFile("fetch", "/etc/resolv.conf")).toBe("");
    expect(await imageFile("fetch", "/etc/hosts")).toBe("");
  });

  it("over an image's own resolv.conf and hosts, and one an earlier step deleted, the layer keeps the image's (and the deletion)", async () => {
    const d = dir();
    const file = join(d, "own.ts");
    writeFileSync(file, `import { defineRecipe, remove, run } from "minic";\nexport default defineRecipe({ name: "own", base: "bbnet", steps: [remove("/etc/hosts"), run("cat /etc/resolv.conf /etc/hosts > /seen; echo x > /etc/resolv.conf || echo read-only >> /seen")] });\n`);
    const r = await build(file);
    expect(r.exitCode, r.out).toBe(0);
    expect(layerEntries(r.top!.layer!.digest).sort()).toEqual(["etc", "etc/.wh.hosts", "seen"]);
    expect(await imageFile("own", "/seen")).toBe(`${readFileSync("/etc/resolv.conf", "utf8")}${readFileSync("/etc/hosts", "utf8")}read-only`);
    expect(await imageFile("own", "/etc/resolv.conf")).toBe("nameserver 192.0.2.53");
    expect(await imageFile("own", "/etc/hosts")).toBe("");
  });

  it("run(cmd, { network: \"none\" }): the fetch fails, no route, loopback only; nothing is stored", async () => {
    const before = hits;
    const failed = await build(writeRecipe(dir(), "offline", `run("wget -q -O /page ${url()}", { network: "none" })`));
    expect(failed.exitCode).toBe(1);
    expect(minicLines(failed.out)).toEqual([expect.stringMatching(/^minic: recipe 'offline' step 1: command exited with status 1: .*\(hint: fix the run step; nothing was stored\)$/)]);
    expect(hits).toBe(before);
    const routes = await build(writeRecipe(dir(), "routes", `run("cat /proc/net/route > /routes; ip route > /iproute; ls /sys/class/net > /links", { network: "none" })`));
    expect(routes.exitCode, routes.out).toBe(0);
    expect((await imageFile("routes", "/routes")).trim().split("\n")).toHaveLength(1); // the header only
    expect(await imageFile("routes", "/iproute")).toBe("");
    expect((await imageFile("routes", "/links")).trim()).toBe("lo");
    expect(layerEntries(routes.top!.layer!.digest).sort()).toEqual(["iproute", "links", "routes"]);
  });

  it("minic build --network none takes every step off the network (a step's host does not win); a bad value is a usage error", async () => {
    const before = hits;
    const d = dir();
    const r = await build(writeRecipe(d, "offflag", `run("ip route > /iproute; wget -q -O /page ${url()} || echo no-fetch > /page", { network: "host" })`), ["--network", "none"]);
    expect(r.exitCode, r.out).toBe(0);
    expect(hits).toBe(before);
    expect(await imageFile("offflag", "/page")).toBe("no-fetch");
    expect(await imageFile("offflag", "/iproute")).toBe("");
    const bad = await minic(["build", "--store", fx.store, "--network", "veth", join(d, "offflag.ts")]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr.trim()).toBe("minic: unknown --network 'veth' (hint: use --network host (the default) or --network none)");
  });

  it("the network mode is not part of the cache key: --network none reuses a layer built online; --no-cache runs the step again", async () => {
    const recipe = writeRecipe(dir(), "cachednet", `run("wget -q -O /page ${url()}")`);
    const before = hits;
    expect((await build(recipe)).top?.cached).toBe(false);
    expect(hits).toBe(before + 1);
    const again = await build(recipe, ["--network", "none"]);
    expect(again.top?.cached).toBe(true);
    expect(hits).toBe(before + 1);
    const forced = await build(recipe, ["--no-cache"]);
    expect(forced.top?.cached).toBe(false);
    expect(hits).toBe(before + 2);
  });

  it("an unknown network in a recipe is one line naming the recipe and the step, exit 1, nothing stored", async () => {
    const r = await build(writeRecipe(dir(), "badnet", `run("true"), run("true", { network: "bridge" as "none" })`));
    expect(r.exitCode).toBe(1);
    expect(minicLines(r.out)).toEqual(["minic: recipe 'badnet' step 2: run network \"bridge\" is not one of host, none (hint: run(cmd, { network: \"none\" }) for no network; leave it out for the host's)"]);
    expect(readdirSync(join(fx.store, "refs"))).not.toContain("badnet");
  });
});
