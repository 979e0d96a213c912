// Regression: 'minic gc' deleted the unpacked layers and blobs of an image a running container
// was using (after 'rmi', or for an image never named), pulling the overlay's lower dirs from
// under it; 'minic rmi' of that image's last name is now refused unless -f.
import { describe, expect, it } from "vitest";
import { execa } from "execa";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LAUNCHER, minic } from "../helpers/cli.js";
import { runtimeSuite, stackedImage } from "./fixtures.js";
import { Store } from "../../src/store/store.js";
import type { Digest } from "../../src/core/digest.js";

let manifest = "";
const { fx } = runtimeSuite(async (fx) => {
  const layer = { "data": { dir: true }, "data/f": "live data\n" } as const;
  manifest = await stackedImage(fx.store, fx.tree, "live", [layer]);
  expect(await stackedImage(fx.store, fx.tree, "live2", [layer])).toBe(manifest); // a second name, same image
});

/** The image's top layer: its blob and unpacked dir in the store. */
async function topLayer(): Promise<{ blob: string; unpacked: string }> {
  const store = await Store.open(fx.store);
  const img = await store.readImage(manifest as Digest);
  const top = img.manifest.layers.at(-1)!;
  return { blob: join(fx.store, "blobs/sha256", top.digest.slice(7)), unpacked: store.layout.unpacked(top.diffId) };
}

describe("gc and rmi while a container runs", () => {
  for (const driver of ["overlay", "copy"]) {
    it(`${driver}: rmi refuses the last name, rmi -f untags, gc keeps what the container uses`, async () => {
      const top = await topLayer();
      const ctl = join(fx.root, `ctl-${driver}`);
      mkdirSync(ctl);
      const p = execa(LAUNCHER, ["run", "--store", fx.store, "--storage-driver", driver, "--bind", `${ctl}:/ctl`, "live", "--", "/bin/sh", "-c",
        "echo ready; until [ -e /ctl/go ]; do sleep 0.1; done; cat /data/f"], { reject: false, stdin: "ignore", encoding: "utf8" });
      await new Promise<void>((resolve) => p.stdout!.on("data", (d) => String(d).includes("ready") && resolve()));
      try {
        // Another name for the same image is left: dropping this one is harmless.
        expect((await minic(["rmi", "live2", "--store", fx.store])).exitCode).toBe(0);
        const refused = await minic(["rmi", "live", "--store", fx.store]);
        expect(refused.exitCode).toBe(1);
        expect(refused.stderr.trim().split("\n")).toHaveLength(1);
        expect(refused.stderr).toMatch(/image 'live:latest' is used by running container minic-[0-9a-f]{12} .*hint: .*rmi -f/);
        // inspect of the container (podman inspects both): minic inspects images, and says so.
        const name = /container (minic-[0-9a-f]{12})/.exec(refused.stderr)![1]!;
        // ps --format over a real row: podman's .Names, a field every row has, and one no row has.
        expect((await minic(["ps", "--format", "table {{.Names}}\t{{.Image}}", "--store", fx.store])).stdout.trim()).toBe(`NAMES\tIMAGE\n${name}\tlive`);
        const typo = await minic(["ps", "--format", "{{.Nmae}}", "--store", fx.store]);
        expect([typo.exitCode, typo.stdout, typo.stderr]).toEqual([2, "", expect.stringMatching(/^minic: --format '\{\{\.Nmae\}\}' has no field \.Nmae \(there are: .*\bname\b/)]);
        const asImage = await minic(["inspect", name, "--store", fx.store]);
        expect([asImage.exitCode, asImage.stderr.trim()]).toEqual([1, `minic: '${name}' is a running container, not an image (hint: 'minic ps --json' shows the container; 'minic inspect live' the image it runs)`]);
        expect((await minic(["rmi", "-f", "live", "--store", fx.store])).stdout.trim()).toBe("untagged live:latest");

        const gc = await minic(["gc", "--json", "--store", fx.store]);
        expect(gc.exitCode).toBe(0);
        expect(JSON.parse(gc.stdout)).toMatchObject({ blobs: 0, unpacked: 0 });
        expect(existsSync(top.blob)).toBe(true);
        if (driver === "overlay") expect(existsSync(top.unpacked)).toBe(true);
        expect(existsSync(join(fx.store, "blobs/sha256", manifest.slice(7)))).toBe(true);
      } finally {
        writeFileSync(join(ctl, "go"), "");
      }
      const r = await p;
      expect(r.stdout).toContain("live data");
      expect(r.exitCode).toBe(0);

      // Once it has exited, the unnamed image goes with the next gc.
      const after = JSON.parse((await minic(["gc", "--json", "--store", fx.store])).stdout);
      expect(after.blobs).toBe(3); // top layer, config, manifest (the base layer is bb's)
      expect(existsSync(top.blob)).toBe(false);
      expect(existsSync(top.unpacked)).toBe(false);
      // Name it again for the next case.
      await stackedImage(fx.store, fx.tree, "live", [{ "data": { dir: true }, "data/f": "live data\n" }]);
      await stackedImage(fx.store, fx.tree, "live2", [{ "data": { dir: true }, "data/f": "live data\n" }]);
    });
  }
});
