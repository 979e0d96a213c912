// Run steps run in cgroups with limits (their own `run(cmd, { limits })` under `minic build
// --memory/--pids/…`, never the image's config limits) and stop at a timeout; a step over a
// limit or its time fails with one minic line, caches nothing, and leaves nothing behind.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { minic } from "../helpers/cli.js";
import { hostMountsUnder, killPids, markerPids, startBuild, watchRecords, writeRecipe } from "../helpers/run-steps.js";
import { runtimeSuite } from "../runtime/fixtures.js";

const { fx } = runtimeSuite(async () => {});
let n = 0;
const dir = () => {
  const d = join(fx.root, `r${n++}`);
  mkdirSync(d);
  return d;
};

/** Builds `recipe` with `args`, watching the step records; checks what must hold after any build. */
async function build(recipe: string, args: string[] = []) {
  const watch = watchRecords(fx.store);
  const r = await startBuild([recipe, "--store", fx.store, ...args]);
  const cgroups = watch.stop();
  expect(cgroups.filter((c) => existsSync(c))).toEqual([]);
  expect(readdirSync(join(fx.store, "tmp"))).toEqual([]);
  expect(hostMountsUnder(fx.store)).toEqual([]);
  return { exitCode: r.exitCode, out: String(r.all ?? ""), cgroups };
}

/** Lines minic wrote as its own (not the step's `  | ` lines). */
const minicLines = (out: string) => out.split("\n").filter((l) => l.startsWith("minic:"));

/** The build of `name` left no image and no cache record. */
function nothingStored(name: string) {
  expect(readdirSync(join(fx.store, "refs"))).not.toContain(name);
  const cache = join(fx.store, "cache");
  for (const f of readdirSync(cache).filter((f) => f.endsWith(".json"))) expect(readFileSync(join(cache, f), "utf8")).not.toContain(`"name": "${name}"`);
  expect(existsSync(join(cache, "last", `${name}.json`))).toBe(false);
}

const ALLOC_64M = "dd if=/dev/zero of=/dev/null bs=64M count=1";

describe("run step limits", () => {
  it("a step over its own memory limit fails with one clear line; without the limit it builds", async () => {
    const r = await build(writeRecipe(dir(), "mem", `run(${JSON.stringify(ALLOC_64M)}, { limits: { memory: "32M" } })`));
    expect(r.exitCode).toBe(1);
    expect(r.cgroups.some((c) => c.includes("/memory/"))).toBe(true);
    expect(minicLines(r.out)).toEqual([
      "minic: recipe 'mem' step 1: ran out of memory: the OOM killer killed 1 of its processes at its memory limit of 32 MiB (hint: raise the limit (run(cmd, { limits: { memory } }) or minic build --memory) or make the step use less; nothing was stored)",
    ]);
    nothingStored("mem");
    expect((await build(writeRecipe(dir(), "mem", `run(${JSON.stringify(ALLOC_64M)})`))).exitCode).toBe(0);
  });

  it("minic build --memory limits every step; the image's config limits do not limit the build", async () => {
    const d = dir();
    // The same step was built (and cached) above: limits are not part of the cache key, so --no-cache.
    const flagged = await build(writeRecipe(d, "memflag", `run(${JSON.stringify(ALLOC_64M)})`), ["--memory", "32M", "--no-cache"]);
    expect(flagged.exitCode).toBe(1);
    expect(minicLines(flagged.out)).toEqual([expect.stringMatching(/^minic: recipe 'memflag' step 1: ran out of memory: .* limit of 32 MiB \(hint: /)]);
    nothingStored("memflag");
    // config.limits are how the image's containers run, not what building it may take.
    const cfg = join(d, "cfg.ts");
    writeFileSync(cfg, `import { defineRecipe, run } from "minic";\nexport default defineRecipe({ name: "cfg", base: "bb", steps: [run(${JSON.stringify(ALLOC_64M)})], config: { limits: { memory: "32M", pids: 5 } } });\n`);
    expect((await build(cfg, ["--no-cache"])).exitCode).toBe(0);
  });

  it("a step over its pids limit fails with one clear line", async () => {
    const marker = String(8_100_000 + Math.floor(Math.random() * 1000));
    const r = await build(writeRecipe(dir(), "forks", `run("i=0; while [ $i -lt 60 ]; do sleep ${marker} & i=$((i+1)); done; wait")`), ["--pids", "20"]);
    try {
      expect(r.exitCode).toBe(1);
      expect(minicLines(r.out)).toEqual([expect.stringMatching(/^minic: recipe 'forks' step 1: reached its pids limit of 20: \d+ forks? (was|were) refused \(hint: raise the limit \(run\(cmd, \{ limits: \{ pids \} \}\) or minic build --pids\)/)]);
      expect(markerPids(marker)).toEqual([]); // the step's other processes were killed with it
      nothingStored("forks");
    } finally {
      killPids(markerPids(marker));
    }
  });

  it("the step sees its limits: its own under the build's, the lower one holds", async () => {
    const d = dir();
    const probe = "cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/memory/memory.limit_in_bytes > /limits";
    const r = await build(writeRecipe(d, "seen", `run(${JSON.stringify(probe)}, { limits: { memory: "64M", pids: 500 } })`), ["--pids", "50", "--memory", "1G"]);
    expect(r.exitCode).toBe(0);
    const seen = await minic(["run", "--store", fx.store, "seen", "--", "/bin/cat", "/limits"]);
    expect(seen.stdout.trim().split("\n")).toEqual(["50", String(64 << 20)]);
  });
});

describe("run step timeouts", () => {
  for (const [how, step, args] of [
    ["minic build --timeout", "run(\"sleep MARK\")", ["--timeout", "2"]],
    ["run(cmd, { timeout })", "run(\"sleep MARK\", { timeout: \"2s\" })", []],
  ] as const) {
    it(`${how} stops a step that sleeps forever: one line, exit 1, nothing cached, nothing left`, async () => {
      const marker = String(8_200_000 + Math.floor(Math.random() * 1000));
      const t0 = Date.now();
      const r = await build(writeRecipe(dir(), "forever", step.replace("MARK", marker)), [...args]);
      try {
        expect(Date.now() - t0).toBeLessThan(40_000);
        expect(r.exitCode).toBe(1);
        expect(minicLines(r.out)).toEqual([
          "minic: recipe 'forever' step 1: still running after 2s, its timeout: stopped (hint: make the step finish sooner, or raise its timeout (run(cmd, { timeout }) or minic build --timeout); nothing was stored)",
        ]);
        expect(r.out).not.toMatch(/^\s+at /m);
        expect(markerPids(marker)).toEqual([]);
        nothingStored("forever");
      } finally {
        killPids(markerPids(marker));
      }
    }, 120_000);
  }

  it("bad limits and timeouts are one-line errors before anything runs", async () => {
    const flag = await build(writeRecipe(dir(), "bad", `run("true")`), ["--timeout", "soon"]);
    expect({ code: flag.exitCode, lines: minicLines(flag.out) }).toEqual({ code: 2, lines: [expect.stringMatching(/^minic: invalid --timeout 'soon' \(hint: /)] });
    const step = await build(writeRecipe(dir(), "bad", `run("true", { limits: { memory: "lots" } })`));
    expect({ code: step.exitCode, lines: minicLines(step.out) }).toEqual({ code: 1, lines: [expect.stringMatching(/^minic: .*bad\.ts:\d+:\d+: recipe 'bad' step 1: limits: invalid memory limit 'lots' \(hint: /)] });
  });
});
