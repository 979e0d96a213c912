// Regression (issue 11): after a kill -9 of `minic build` during a run step, the step's nspawn
// and command kept running, re-parented to PID 1, and no minic command found them. A step is
// now recorded like a container: the next minic command (prune, ps, build) kills it and removes
// its cgroups, its record and the build's scratch; its mount went with its namespace.
import { execa } from "execa";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BIN, minic } from "../helpers/cli.js";
import { hostMountsUnder, killPids, markerPids, records, startBuild, writeRecipe } from "../helpers/run-steps.js";
import { rmdirQuiet, runtimeSuite } from "../runtime/fixtures.js";

const TRIALS = Number(process.env.MINIC_KILL_TRIALS ?? 8);
const { fx } = runtimeSuite(async () => {});

/** Resolves once `child`'s output matches `re` (rejects after 60 s). */
function outputMatches(child: ReturnType<typeof startBuild>, re: RegExp): Promise<void> {
  let out = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`never printed ${re}: ${out}`)), 60_000);
    child.all!.on("data", (d: Buffer) => {
      out += d.toString();
      if (re.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

describe("kill -9 of minic build during a run step", () => {
  it(`the next minic command kills the step and removes its cgroups, record and scratch (${TRIALS} trials)`, async () => {
    const dir = join(fx.root, "kill");
    mkdirSync(dir);
    const outcomes: string[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      // A unique sleep length marks the step's processes: one in the background, one in front.
      const marker = String(7_000_000 + trial * 10 + Math.floor(Math.random() * 10));
      const recipe = writeRecipe(dir, `k${trial}`, `run("sleep ${marker}1 & echo started; sleep ${marker}2")`);
      const child = startBuild([recipe, "--store", fx.store]);
      // Half the trials kill once the command runs, half while the step is being set up.
      const early = trial % 2 === 1;
      await outputMatches(child, early ? /^ {2}\| \$ \/bin\/sh -c/m : /^ {2}\| started$/m);
      await new Promise((r) => setTimeout(r, early ? (trial * 37) % 120 : (trial * 53) % 300));
      if (trial === 0) {
        // While it runs, ps lists the step as what it builds.
        const ps = await minic(["ps", "--store", fx.store]);
        expect(ps.stdout).toMatch(/^[0-9a-f]{12} +minic-step-[0-9a-f]{12} +k0 \(build step 1\) +\d+ +host /m);
      }
      child.kill("SIGKILL");
      await child;
      const before = markerPids(marker);
      const recs = records(fx.store);
      const cgroups = recs.flatMap((r) => r.cgroups);
      try {
        if (!early) {
          // The step outlived its minic: what used to be left running for good.
          expect(before.length).toBeGreaterThan(0);
          expect(recs).toMatchObject([{ build: { recipe: `k${trial}`, step: 1 } }]);
        }
        // The next command: prune, ps, or another build.
        const next = trial % 3;
        const r = next === 0 ? await minic(["prune", "--store", fx.store])
          : next === 1 ? await minic(["ps", "--store", fx.store])
          : await minic(["build", writeRecipe(dir, `n${trial}`, `file("/n", "${trial}")`), "--store", fx.store, "-q"]);
        expect(r.exitCode).toBe(0);
        if (recs.length > 0) expect(r.stderr).toMatch(new RegExp(`^minic: removed stale build step 1 of recipe 'k${trial}' \\(${recs[0]!.id}\\): its minic \\(pid \\d+\\) is gone$`, "m"));
        if (next === 0) expect(r.stdout).toMatch(recs.length > 0 ? /^removed 1 stale container \(1 build step\)/ : /^removed 0 stale containers/);
        expect(markerPids(marker)).toEqual([]);
        expect(cgroups.filter((c) => existsSync(c))).toEqual([]);
        expect(readdirSync(join(fx.store, "containers"))).toEqual([]);
        expect(readdirSync(join(fx.store, "tmp"))).toEqual([]);
        expect(hostMountsUnder(fx.store)).toEqual([]);
        outcomes.push(`${early ? "setup" : "running"}:${before.length > 0 ? "left running" : "nothing running"}:${["prune", "ps", "build"][next]}:cleaned`);
      } finally {
        // Whatever happened above, leave nothing of ours running or made.
        killPids(markerPids(marker));
        for (const c of cgroups) rmdirQuiet(c);
      }
    }
    console.log(`kill -9 trials: ${outcomes.join(", ")}`);
  }, 600_000);

  it("a killed build its parent has not reaped yet (a zombie) counts as gone", async () => {
    const dir = join(fx.root, "zombie");
    mkdirSync(dir);
    const marker = String(7_900_000 + Math.floor(Math.random() * 1000));
    const recipe = writeRecipe(dir, "z", `run("echo started; sleep ${marker}")`);
    const log = join(dir, "log");
    // The build's parent becomes a sleep, which never reaps it: killed, the build stays a zombie.
    const parent = execa("sh", ["-c", `${process.execPath} ${BIN} build ${recipe} --store ${fx.store} >${log} 2>&1 & echo $!; exec sleep 600`], { reject: false, buffer: false });
    const buildPid = await new Promise<number>((resolve) => parent.stdout!.once("data", (d: Buffer) => resolve(Number(String(d).trim()))));
    let cgroups: string[] = [];
    try {
      for (let i = 0; i < 600 && !/^ {2}\| started$/m.test(existsSync(log) ? readFileSync(log, "utf8") : ""); i++) await new Promise((r) => setTimeout(r, 100));
      process.kill(buildPid, "SIGKILL");
      for (let i = 0; i < 100 && !/^State:\s+Z/m.test(readFileSync(`/proc/${buildPid}/status`, "utf8")); i++) await new Promise((r) => setTimeout(r, 20));
      expect(readFileSync(`/proc/${buildPid}/status`, "utf8")).toMatch(/^State:\s+Z/m);
      cgroups = records(fx.store).flatMap((r) => r.cgroups);
      const r = await minic(["prune", "--store", fx.store]);
      expect(r.stdout).toMatch(/^removed 1 stale container \(1 build step\)/);
      expect(markerPids(marker)).toEqual([]);
      expect(cgroups.filter((c) => existsSync(c))).toEqual([]);
      expect(readdirSync(join(fx.store, "containers"))).toEqual([]);
    } finally {
      killPids([...markerPids(marker), parent.pid!]);
      await parent;
      for (const c of cgroups) rmdirQuiet(c);
    }
  }, 120_000);
});
