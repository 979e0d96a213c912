// Regression (issue 11): `minic gc` raced the commands that write the store and lost data:
// `rmi bb; minic load bb.tar & minic gc` left bb pointing at blobs gc had removed (load found
// them stored, so it did not store them again), pull the same, and an import's layer could go
// between its rename into the store and its name. Each trial here starts a writer, then, after a
// delay spread over the writer's run, a storm of gcs on the same store (gc-storm-process.mjs),
// and afterwards checks the store from outside: every name's manifest, config and layers present
// and matching their digests, the writer's image the one it made, no lease left. Also: a holder
// killed with -9 (a writer's lease, a gc's announcement) keeps nothing and blocks no one.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { LAUNCHER, minic, minicOk, tempDir, type CliResult } from "../helpers/cli.js";
import { makeBusyboxTree } from "../helpers/busybox-tree.js";
import { leaseFiles, storeNames, storeProblems } from "../helpers/store-check.js";
import { startStorm, type Storm } from "../helpers/gc-storm.js";
import { startRegistry, type Registry } from "../share/peers.js";
import { findProgram } from "../../src/util/which.js";

const hasRegistry = Boolean(findProgram("docker-registry"));
if (!hasRegistry && process.env.MINIC_REQUIRE_PEERS) throw new Error("docker-registry is not installed");
const maybe = process.getuid?.() === 0 ? describe : describe.skip;

/** When the storm starts after the writer, per trial (ms): fixed, so that a failure replays. */
const DELAYS = [0, 250, 100, 350, 50, 300, 150, 400];
/** Trials per writer (each ~1-2 s on a busy 2-core machine). */
const TRIALS = { load: 8, pull: 6, import: 6 };

let t: { path: string; remove(): void };
let store: string;
let tree: string;
let tar: string;
let bbDigest: string;
let registry: Registry | undefined;
let storm: Storm | undefined;

maybe("gc racing the commands that write the store", () => {
  beforeAll(async () => {
    t = tempDir("minic-gc-race-");
    tree = join(t.path, "tree");
    mkdirSync(tree);
    makeBusyboxTree(tree);
    store = join(t.path, "store");
    bbDigest = (await minicOk(["import", tree, "-t", "bb:1", "--store", store])).stdout.trim().split(" ")[1]!;
    tar = join(t.path, "bb.tar");
    await minicOk(["save", "bb:1", "-o", tar, "--store", store]);
    if (hasRegistry) {
      registry = await startRegistry(join(t.path, "registry"));
      await minicOk(["push", "bb:1", `${registry.host}/race/bb:1`, "--store", store]);
    }
    storm = await startStorm(store);
  }, 120_000);
  afterAll(async () => {
    await storm?.close();
    await registry?.stop();
    t?.remove();
  });

  /** Removes every name, so that the store's blobs are garbage a gc frees (and a writer finds stored). */
  async function untagAll(): Promise<void> {
    const names = storeNames(store);
    if (names.length > 0) await minicOk(["rmi", "-f", ...names, "--store", store]);
  }

  /**
   * Runs `minic ARGV` with a storm of gcs from `delay` ms after it started until it ended.
   * Returns what went wrong in this trial (nothing: []).
   */
  async function trial(argv: string[], delay: number, expected: { ref: string; digest: string }): Promise<string[]> {
    const writer = minic([...argv, "--store", store]);
    await sleep(delay);
    await storm!.go();
    const w: CliResult = await writer;
    const s = await storm!.stop();
    const wrong: string[] = [];
    if (s.failures > 0) wrong.push(`${s.failures} of ${s.gcs} gcs failed: ${s.stderr.trim()}`);
    if (w.exitCode !== 0) wrong.push(`${argv[0]} exited ${w.exitCode}: ${w.stderr.trim()}`);
    const problems = storeProblems(store);
    if (problems.length > 0) wrong.push(...problems);
    const got = await minic(["inspect", expected.ref, "--json", "--store", store]);
    if (got.exitCode !== 0 || JSON.parse(got.stdout).manifest !== expected.digest) wrong.push(`${expected.ref} is not the image ${argv[0]} made: ${got.stdout.slice(0, 100)}${got.stderr.trim()}`);
    const leases = leaseFiles(store);
    if (leases.length > 0) wrong.push(`leases left: ${leases.join(" ")}`);
    tally.trials++;
    tally.gcs += s.gcs;
    if (wrong.length > 0) tally.bad++;
    return wrong.length > 0 ? [`delay ${delay} ms (${s.gcs} gcs): ${wrong.join("; ")}`] : [];
  }

  const tally = { trials: 0, bad: 0, gcs: 0 };
  /** Prints how many trials went wrong, and how many gcs raced them (for the record). */
  function report(what: string): void {
    console.log(`${what}: ${tally.bad} of ${tally.trials} trials went wrong, ${tally.gcs} gcs raced them`);
    Object.assign(tally, { trials: 0, bad: 0, gcs: 0 });
  }

  it(`load: ${TRIALS.load} trials, every loaded image whole`, async () => {
    const bad: string[] = [];
    for (const delay of DELAYS.slice(0, TRIALS.load)) {
      await untagAll();
      bad.push(...(await trial(["load", tar], delay, { ref: "bb:1", digest: bbDigest })));
    }
    report("load");
    expect(bad).toEqual([]);
  }, 90_000);

  it.runIf(hasRegistry)(`pull from a docker-registry on loopback: ${TRIALS.pull} trials, every pulled image whole`, async () => {
    const ref = `${registry!.host}/race/bb:1`;
    const bad: string[] = [];
    for (const delay of DELAYS.slice(0, TRIALS.pull)) {
      await untagAll();
      bad.push(...(await trial(["pull", ref], delay, { ref, digest: bbDigest })));
    }
    report("pull");
    expect(bad).toEqual([]);
  }, 90_000);

  it(`import: ${TRIALS.import} trials, every imported image whole`, async () => {
    const bad: string[] = [];
    for (const delay of DELAYS.slice(0, TRIALS.import)) {
      await untagAll();
      bad.push(...(await trial(["import", tree, "-t", "bb:1"], delay / 5, { ref: "bb:1", digest: bbDigest })));
    }
    report("import");
    expect(bad).toEqual([]);
  }, 90_000);
});

maybe("a holder killed with -9", () => {
  beforeAll(async () => {
    t = tempDir("minic-gc-kill-");
    tree = join(t.path, "tree");
    mkdirSync(tree);
    makeBusyboxTree(tree);
    writeFileSync(join(tree, "bulk"), randomBytes(2 << 20)); // a load of it takes a while to verify
    store = join(t.path, "store");
    await minicOk(["import", tree, "-t", "big:1", "--store", store]);
    tar = join(t.path, "big.tar");
    await minicOk(["save", "big:1", "-o", tar, "--store", store]);
  }, 120_000);
  afterAll(() => t?.remove());

  /** Polls `cond` every 2 ms until it holds (true) or `ms` pass (false). */
  async function until(cond: () => boolean, ms: number): Promise<boolean> {
    for (const end = Date.now() + ms; Date.now() < end; await sleep(2)) if (cond()) return true;
    return cond();
  }

  it("a writer's lease: gc goes on, frees what the dead writer held and removes its lease", async () => {
    await minicOk(["rmi", "big:1", "--store", store]); // its blobs are garbage that load finds stored, and holds
    const load = spawn(LAUNCHER, ["load", tar, "--store", store], { stdio: "ignore" });
    const exited = new Promise((r) => load.once("exit", r));
    try {
      expect(await until(() => leaseFiles(store).some((f) => f.endsWith(".lease")), 20_000)).toBe(true);
    } finally {
      load.kill("SIGKILL");
      await exited;
    }
    expect(leaseFiles(store).filter((f) => f.endsWith(".lease"))).toHaveLength(1); // the dead writer's, left behind
    const started = Date.now();
    const gc = await minic(["gc", "--json", "--store", store], { timeout: 20_000 });
    expect(gc.exitCode, gc.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(JSON.parse(gc.stdout).blobs).toBeGreaterThanOrEqual(3); // the unnamed image's layer, config and manifest
    expect(leaseFiles(store)).toEqual([]);
    expect(readdirSync(join(store, "tmp"))).toEqual([]); // its staging area too
    expect(storeProblems(store)).toEqual([]);
  }, 60_000);

  it("a gc's announcement: writers go on, the layer it was removing is whole or gone, the next gc cleans up", async () => {
    // Unpacked layers no image uses: many (moving them out of the way keeps gc announced a
    // while), one of them big (removing its 10,000 files takes a while).
    const unpacked = join(store, "unpacked");
    for (let i = 0; i < 2000; i++) mkdirSync(join(unpacked, `e${i.toString(16).padStart(63, "0")}`));
    const layer = join(unpacked, "f".repeat(64));
    for (let d = 0; d < 100; d++) {
      mkdirSync(join(layer, `d${d}`), { recursive: true });
      for (let i = 0; i < 100; i++) writeFileSync(join(layer, `d${d}`, `f${i}`), "");
    }
    const gc = spawn(LAUNCHER, ["gc", "--store", store], { stdio: "ignore" });
    const exited = new Promise((r) => gc.once("exit", r));
    const announced = () => leaseFiles(store).some((f) => f.endsWith(".gc"));
    const removing = () => {
      try {
        return readdirSync(layer).length < 100; // a first dir of the 100 has gone
      } catch {
        return true; // the layer has
      }
    };
    try {
      expect(await until(() => announced() || removing(), 20_000)).toBe(true);
    } finally {
      gc.kill("SIGKILL");
      await exited;
    }
    // Never half removed: a layer dir in place is served to every later run.
    if (existsSync(layer)) expect(readdirSync(layer, { recursive: true }).length).toBe(100 + 100 * 100);
    expect(leaseFiles(store).filter((f) => f.endsWith(".gc"))).toHaveLength(1); // the dead gc's
    const load = await minic(["load", tar, "--store", store], { timeout: 20_000 });
    expect(load.exitCode, load.stderr).toBe(0);
    expect(storeProblems(store)).toEqual([]);
    const next = await minic(["gc", "--store", store], { timeout: 20_000 });
    expect(next.exitCode, next.stderr).toBe(0);
    expect(leaseFiles(store)).toEqual([]);
    expect(existsSync(layer)).toBe(false);
    expect(readdirSync(join(store, "tmp"))).toEqual([]);
    expect(storeProblems(store)).toEqual([]);
  }, 60_000);
});
