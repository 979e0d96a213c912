// Regression (issue 11): a run step printing 600 MB crashed minic with `RangeError: Invalid
// string length` (all step output was kept in strings). Its output now streams to the terminal
// as `  | ` lines, with backpressure, and only a bounded tail is kept: minic's memory stays flat.
import { execa } from "execa";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BIN } from "../helpers/cli.js";
import { writeRecipe } from "../helpers/run-steps.js";
import { runtimeSuite } from "../runtime/fixtures.js";

const { fx } = runtimeSuite(async () => {});
const BYTES = 600 * 1024 * 1024;
/** Peak RSS minic may reach (a build that prints nothing peaks at ~65 MB). */
const MAX_RSS = 200 * 1024 * 1024;

/** The peak RSS (VmHWM) of `pid` so far, in bytes, or 0 once it is gone. */
function peakRss(pid: number): number {
  try {
    return Number(/^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

describe("a run step printing 600 MB", () => {
  it("builds in bounded memory, and its output reaches minic's stderr line by line", async () => {
    const dir = join(fx.root, "big");
    mkdirSync(dir);
    // The size comes from the environment: a first, small build caches the recipe's type-check
    // (whose memory is not what is measured here).
    const recipe = writeRecipe(dir, "big", "run(`yes | head -c ${process.env.STEP_BYTES}; echo; echo end-of-output`)");
    const warm = await execa(process.execPath, [BIN, "build", recipe, "--store", fx.store, "-q"], { reject: false, env: { ...process.env, STEP_BYTES: "10" } });
    expect(warm.exitCode).toBe(0);
    const child = execa(process.execPath, [BIN, "build", recipe, "--store", fx.store], { reject: false, buffer: false, stdin: "ignore", env: { ...process.env, STEP_BYTES: String(BYTES) } });
    let bytes = 0;
    let tail = "";
    let lines = 0;
    child.stderr!.on("data", (d: Buffer) => {
      bytes += d.length;
      for (let i = d.indexOf(10); i >= 0; i = d.indexOf(10, i + 1)) lines++;
      tail = (tail + d.toString("latin1")).slice(-4096);
    });
    let peak = 0;
    const sampler = setInterval(() => { peak = Math.max(peak, peakRss(child.pid!)); }, 50);
    const r = await child;
    clearInterval(sampler);
    console.log(`600 MB run step: exit ${r.exitCode}, minic peak RSS ${(peak / 2 ** 20).toFixed(1)} MiB, ${(bytes / 2 ** 20).toFixed(0)} MiB of output in ${lines} lines`);
    expect(tail).not.toMatch(/RangeError|Invalid string length/);
    expect(r.exitCode).toBe(0);
    // Every "y" line, prefixed.
    expect(lines).toBeGreaterThan(BYTES / 2);
    expect(bytes).toBeGreaterThan(BYTES * 3);
    expect(tail).toMatch(/^ {2}\| y\n {2}\| \n {2}\| end-of-output\n/m);
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThan(MAX_RSS);
  }, 600_000);
});
