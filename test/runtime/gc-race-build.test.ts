// Regression (issue 11): gc during a build's run step removed the base's unpacked layer under
// the step (its `ls /bin` saw nothing), and the build exited 0 with a wrong layer and an image
// naming base blobs gc had removed. Each trial builds a recipe whose run step sleeps, then reads
// /bin; once the step runs, the base loses its name and a storm of gcs (gc-storm-process.mjs)
// runs until the build ends. Afterwards the store is whole and the step saw the base's /bin.
import { expect, it } from "vitest";
import { execa } from "execa";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LAUNCHER, minicOk } from "../helpers/cli.js";
import { leaseFiles, storeNames, storeProblems } from "../helpers/store-check.js";
import { startStorm } from "../helpers/gc-storm.js";
import { runtimeSuite } from "./fixtures.js";
import { Store } from "../../src/store/store.js";
import { layerMembers } from "../../src/store/layers.js";

const TRIALS = 6;

let tar = "";
const { fx } = runtimeSuite(async (fx) => {
  tar = join(fx.root, "bb.tar");
  await minicOk(["save", "bb", "-o", tar, "--store", fx.store]);
});

/** The text of `name` in the top layer of `image`. */
async function topFile(image: string, name: string): Promise<string | undefined> {
  const store = await Store.open(fx.store, false);
  const img = await store.getImage(image);
  let text: string | undefined;
  for await (const m of layerMembers(store, img.manifest.layers.at(-1)!)) {
    const chunks: Buffer[] = [];
    for await (const c of m.data) chunks.push(Buffer.from(c));
    if (m.entry.name === name) text = Buffer.concat(chunks).toString();
  }
  return text;
}

it(`gc racing a build's run step: ${TRIALS} trials, the step sees its base and the image is whole`, async () => {
  const recipe = join(fx.root, "race.ts");
  writeFileSync(recipe, `import { defineRecipe, run } from "minic";
export default defineRecipe({ name: "race", base: "bb", steps: [run("sleep 1; ls /bin | wc -l > /bin-count")] });
`);
  const binEntries = readdirSync(join(fx.tree, "bin")).length;
  const storm = await startStorm(fx.store);
  const bad: string[] = [];
  let gcs = 0;
  try {
    for (let i = 0; i < TRIALS; i++) {
      if (!storeNames(fx.store).includes("bb:latest")) await minicOk(["load", tar, "--store", fx.store]);
      const build = execa(LAUNCHER, ["build", recipe, "--no-cache", "--store", fx.store], { reject: false, encoding: "utf8", stdin: "ignore" });
      await new Promise<void>((resolve) => {
        build.stderr!.on("data", (d) => String(d).includes("$ /bin/sh") && resolve());
        void build.finally(() => resolve());
      });
      // The base is garbage now, but for the build using it (-f: rmi refuses the last name of an
      // image a run step uses, as of a running container's).
      await minicOk(["rmi", "-f", "bb", "--store", fx.store]);
      await storm.go();
      const r = await build;
      const s = await storm.stop();
      gcs += s.gcs;
      const wrong: string[] = [];
      if (s.failures > 0) wrong.push(`${s.failures} of ${s.gcs} gcs failed: ${s.stderr.trim()}`);
      if (r.exitCode !== 0) wrong.push(`build exited ${r.exitCode}: ${String(r.stderr).trim().split("\n").pop()}`);
      wrong.push(...storeProblems(fx.store));
      if (r.exitCode === 0 && wrong.length === 0) {
        const count = (await topFile("race", "bin-count"))?.trim();
        if (count !== String(binEntries)) wrong.push(`the step saw ${count} entries in /bin, not ${binEntries}`);
      }
      const leases = leaseFiles(fx.store);
      if (leases.length > 0) wrong.push(`leases left: ${leases.join(" ")}`);
      if (wrong.length > 0) bad.push(`trial ${i + 1} (${s.gcs} gcs): ${wrong.join("; ")}`);
      const names = storeNames(fx.store);
      if (names.length > 0) await minicOk(["rmi", "-f", ...names, "--store", fx.store]);
    }
  } finally {
    await storm.close();
  }
  console.log(`build: ${bad.length} of ${TRIALS} trials went wrong, ${gcs} gcs raced them`);
  expect(bad).toEqual([]);
}, 120_000);
