// Regression: a signal while `minic run` is still setting up (here: unpacking a big layer for the
// first time) killed minic before its finally, leaving the container dir and cgroups behind.
import { describe, expect, it } from "vitest";
import { execa } from "execa";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { LAUNCHER } from "../helpers/cli.js";
import { runtimeSuite, stackedImage } from "./fixtures.js";
import { Store } from "../../src/store/store.js";

let bigLayer = "";
const { fx } = runtimeSuite(async (fx) => {
  // 64 MB of random data: its first unpack (bzip2 -d of incompressible data) takes seconds.
  await stackedImage(fx.store, fx.tree, "big", [{ "big.bin": randomBytes(64 << 20).toString("latin1") }]);
  // Layers are unpacked when they are made: take the big one's tree away, so that the run unpacks it.
  const store = await Store.open(fx.store, false);
  const img = await store.getImage("big");
  rmSync(store.layout.unpacked(img.manifest.layers.at(-1)!.diffId), { recursive: true, force: true });
  bigLayer = "big";
});

describe("interrupting minic run during setup", () => {
  it("SIGINT before the container starts: exit 130, no container dir, nothing left on the host", async () => {
    const p = execa(LAUNCHER, ["run", "--store", fx.store, "--memory", "64M", bigLayer, "--", "/bin/true"], { reject: false, stdin: "ignore", encoding: "utf8", forceKillAfterDelay: false });
    // Wait until the container dir exists (setup has begun), then interrupt.
    const containers = join(fx.store, "containers");
    for (let i = 0; i < 200 && !(existsSync(containers) && readdirSync(containers).some((n) => !n.startsWith("."))); i++) await new Promise((r) => setTimeout(r, 10));
    p.kill("SIGINT");
    const r = await p;
    expect(r.exitCode).toBe(130);
    expect(r.stderr).toMatch(/interrupted by SIGINT before the container started/);
    // runtimeSuite's afterEach checks the host (cgroups, netns, veths, mounts) and the store's containers.
  });
});
