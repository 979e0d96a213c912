// What a pull is named and how full references push: against a real docker-registry on a free
// loopback port (skipped, with the reason, when docker-registry is not installed).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { minic, minicOk, tempDir } from "../helpers/cli.js";
import { findProgram } from "../../src/util/which.js";
import { storeWithApp } from "./images.js";
import { startRegistry, type Registry } from "./peers.js";

const missing = !findProgram("docker-registry");
if (missing && process.env.MINIC_REQUIRE_PEERS) throw new Error("peers missing: docker-registry");
if (missing) console.warn("skipping pull naming tests: docker-registry not installed");
const maybe = missing ? describe.skip : describe;

maybe("pull names and full references", () => {
  let t: { path: string; remove(): void };
  let store: string;
  let digest: string;
  let registry: Registry | undefined;
  beforeAll(async () => {
    t = tempDir("minic-pull-names-");
    store = join(t.path, "store");
    digest = (await storeWithApp(store, t.path)).digest;
    registry = await startRegistry(join(t.path, "registry"));
  });
  afterAll(async () => {
    await registry?.stop();
    t?.remove();
  });

  it("a pull without -t keeps HOST:PORT/REPO:TAG, which images, inspect, push and rmi then take", async () => {
    const ref = `${registry!.host}/qa/pm:1`;
    await minicOk(["push", "app:1", ref, "--store", store]);
    const target = join(t.path, "pulled");
    const pulled = await minicOk(["pull", ref, "--store", target]);
    expect(pulled.stdout.trim()).toBe(`${ref} ${digest}`);
    expect((await minicOk(["images", "--store", target])).stdout.split("\n")[1]!.split(/\s+/)[0]).toBe(ref);
    expect(JSON.parse((await minicOk(["inspect", ref, "--json", "--store", target])).stdout)).toMatchObject({ ref, manifest: digest });
    // the pulled image is the source of a push under its full name, to another repository or to where its name says
    const again = `${registry!.host}/qa/again:2`;
    expect((await minicOk(["push", ref, again, "--store", target])).stdout).toMatch(new RegExp(`^${again.replace(/\./g, "\\.")} sha256:`));
    const self = await minicOk(["push", ref, "--store", target]);
    expect(self.stdout).toMatch(new RegExp(`^${ref.replace(/\./g, "\\.")} sha256:`));
    expect(self.stderr).toMatch(/0 blob\(s\) uploaded/);
    expect((await minicOk(["pull", again, "--store", target])).stdout.trim()).toBe(`${again} ${digest}`);
    expect((await minicOk(["rmi", ref, again, "--store", target])).stdout.trim().split("\n")).toEqual([`untagged ${ref}`, `untagged ${again}`]);
  });

  it("a pull by digest is named HOST:PORT/REPO:sha256-<12 hex>; -t still names it", async () => {
    const ref = `${registry!.host}/qa/bydigest:1`;
    const pushed = (await minicOk(["push", "app:1", ref, "--store", store])).stdout.trim().split(" ")[1]!;
    const target = join(t.path, "by-digest");
    const r = await minicOk(["pull", `${registry!.host}/qa/bydigest@${pushed}`, "--store", target]);
    expect(r.stdout.trim()).toBe(`${registry!.host}/qa/bydigest:sha256-${pushed.slice(7, 19)} ${digest}`);
    const named = await minicOk(["pull", ref, "-t", "localhost:5000/mine:3", "--store", target]);
    expect(named.stdout.trim()).toBe(`localhost:5000/mine:3 ${digest}`);
  });

  it("push IMAGE alone needs an IMAGE whose name says where", async () => {
    const r = await minic(["push", "app:1", "--store", store]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim()).toMatch(/^minic: push needs a registry reference: 'app:1' names no registry \(hint: e\.g\. minic push app:1 127\.0\.0\.1:5000\/app:1\)$/);
  });
});
