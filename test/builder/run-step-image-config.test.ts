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
  // An env entry without '=' (a crafted or careless config): it names no value.
  await stackedImage(fx.store, fx.tree, "nameonly", [{ srv: { dir: true } }], { env: [PATH, "MINIC_TEST_SECRET", "TIER=web"] });
  await stackedImage(fx.store, fx.tree, "flavored-qa", [{ srv: { dir: true } }], { env: [PATH, "FLAVOR=qa", "TIER=web"], workdir: "/srv" });
});

let n = 0;
const dir = () => {
  const d = join(fx.root, `c${n++}`);
  mkdirSync(d);
  return d;
};

/** Builds a recipe named `name` on `base` with `steps`; returns the exit code, output and whether the top image was cached. */
async function build(name: string, base: string, steps: string, env: NodeJS.ProcessEnv = {}) {
  const file = writeRecipe(dir(), name, steps);
  writeFileSync(file, readFileSync(file, "utf8").replace(`base: "bb"`, `base: ${JSON.stringify(base)}`));
  const r = await startBuild([file, "--store", fx.store, "--json"], env);
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

  // Regression: nspawn's --setenv=NAME copies the host's NAME: the builder's secret reached the
  // step (and its layer) through a base image's env entry without '='.
  it("a base's env entry without '=' is dropped: the host's value of that name never reaches a step or a run", async () => {
    const secret = { MINIC_TEST_SECRET: "host-secret" };
    const r = await build("nameonly-app", "nameonly", `run("echo [$MINIC_TEST_SECRET] $TIER > /out")`, secret);
    expect(r.exitCode, r.out).toBe(0);
    expect(await cat("nameonly-app", "/out")).toBe("[] web");
    for (const runtime of ["nspawn", "chroot"]) {
      const c = await run(["--runtime", runtime, "--net", "none", "nameonly", "--", "/bin/sh", "-c", "echo [$MINIC_TEST_SECRET] $TIER"], secret);
      expect([c.exitCode, c.stdout.trim()], runtime).toEqual([0, "[] web"]);
    }
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
