// The shipped multi-stage recipe, recipes/static-app.ts, built for real: its builder stage stamps
// and tests a program; the final image is recipes/busybox.ts's image plus that program alone.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { minicOk, ROOT } from "../helpers/cli.js";
import { buildJson } from "../helpers/run-steps.js";
import { runtimeSuite } from "../runtime/fixtures.js";

const { fx, run } = runtimeSuite(async () => {});

const RECIPE = join(ROOT, "recipes/static-app.ts");

const layerNames = (digest: string) =>
  execFileSync("sh", ["-c", `bzip2 -dc '${join(fx.store, "blobs/sha256", digest.slice(7))}' | cpio -it --quiet`], { encoding: "utf8" }).split("\n").filter(Boolean).sort();

const layersOf = async (image: string) => (JSON.parse((await minicOk(["inspect", image, "--json", "--store", fx.store])).stdout) as { layers: { digest: string }[] }).layers.map((l) => l.digest);

describe("recipes/static-app.ts", () => {
  it("builds its builder stage, and ships busybox plus the built program only", async () => {
    const r = await buildJson(fx.store, RECIPE);
    expect(r.exitCode, r.out).toBe(0);
    expect(r.out).toMatch(/static-app-builder: built layer/); // the stage is built first, in the same build
    expect(layerNames(r.top!.layer!.digest)).toEqual(["usr", "usr/local", "usr/local/bin", "usr/local/bin/app"]);
    const app = await layersOf("static-app");
    expect(app).toEqual([(await layersOf("busybox"))[0], r.top!.layer!.digest]);
    // What the builder made besides the program (its sources, its test log) is in the builder only.
    expect(layerNames((await layersOf("static-app-builder"))[1]!)).toEqual(expect.arrayContaining(["build/test.log", "src/app.sh", "src/test.sh", "out/app"]));
    expect((await run(["--net", "none", "static-app"])).stdout.trim()).toBe("hello, world (static-app 1.0)");
    const v2 = await buildJson(fx.store, RECIPE, ["--arg", "VERSION=2.0"]);
    expect(v2.exitCode, v2.out).toBe(0);
    expect(v2.top!.cached).toBe(false);
    expect((await run(["--net", "none", "static-app", "--", "/usr/local/bin/app", "--version"])).stdout.trim()).toBe("static-app 2.0");
  });
});
