// The base image's config env and workdir reach run steps, as Docker's ENV and WORKDIR reach
// RUN; the step's own env (by name) and workdir win. They are part of the step's canonical form,
// so a base whose config env changes (same layers) builds the step again.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startBuild, writeRecipe } from "../helpers/run-steps.js";
import { runtimeSuite, stackedImage } from "../runtime/fixtures.js";

const PATH = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
const { fx, run } = runtimeSuite(async (fx) => {
  await stackedImage(fx.store, fx.tree, "flavored", [{ srv: { dir: true } }], { env: [PATH, "FLAVOR=prod", "TIER=web"], workdir: "/srv" });
  // The same layers, another env: only the config differs.
  await stackedImage(fx.store, fx.tree, "flavored-qa", [{ srv: { dir: true } }], { env: [PATH, "FLAVOR=qa", "TIER=web"], workdir: "/srv" });
});

let n = 0;
const dir = () => {
  const d = join(fx.root, `c${n++}`);
  mkdirSync(d);
  return d;
};

/** Builds a recipe named `name` on `base` with `steps`; returns the exit code, output and whether the top image was cached. */
async function build(name: string, base: string, steps: string) {
  const file = writeRecipe(dir(), name, steps);
  writeFileSync(file, readFileSync(file, "utf8").replace(`base: "bb"`, `base: ${JSON.stringify(base)}`));
  const r = await startBuild([file, "--store", fx.store, "--json"]);
  const out = String(r.all ?? "");
  const cached = r.exitCode === 0 ? (JSON.parse(out.slice(out.indexOf("{\n"))) as { images: { cached: boolean }[] }).images.at(-1)!.cached : undefined;
  return { exitCode: r.exitCode, out, cached };
}

const cat = async (image: string, path: string) => (await run(["--net", "none", image, "--", "/bin/cat", path])).stdout;

describe("the base image's env and workdir in run steps", () => {
  it("a step sees the base's env and runs in its workdir", async () => {
    const r = await build("flav", "flavored", `run("echo $FLAVOR $TIER $(pwd) > /out")`);
    expect(r.exitCode, r.out).toBe(0);
    expect(await cat("flav", "/out")).toBe("prod web /srv");
  });

  it("the step's own env (by name) and workdir win over the base's", async () => {
    const r = await build("flavown", "flavored", `run("echo $FLAVOR $TIER $(pwd) > /out", { env: { FLAVOR: "dev" }, workdir: "/tmp" })`);
    expect(r.exitCode, r.out).toBe(0);
    expect(await cat("flavown", "/out")).toBe("dev web /tmp");
  });

  it("a base with the same layers and another env builds the step again", async () => {
    const step = `run("echo $FLAVOR > /out")`;
    expect((await build("flavkey", "flavored", step)).cached).toBe(false);
    expect((await build("flavkey", "flavored", step)).cached).toBe(true);
    const qa = await build("flavkey", "flavored-qa", step);
    expect(qa.cached).toBe(false);
    expect(await cat("flavkey", "/out")).toBe("qa");
  });
});
