// Run step limits and timeouts as data: parsing, validation, and the step's under the build's.
import { describe, expect, it } from "vitest";
import { formatDuration, parseDuration } from "../../src/core/duration.js";
import { tighterLimits } from "../../src/core/limits.js";
import { combineControl, stepControl } from "../../src/core/run-control.js";
import { run } from "../../src/index.js";

describe("durations", () => {
  it("parses seconds and units; formats them back", () => {
    expect([parseDuration(90, "t"), parseDuration("1.5", "t"), parseDuration("500ms", "t"), parseDuration("10m", "t"), parseDuration("2h", "t")]).toEqual([90_000, 1500, 500, 600_000, 7_200_000]);
    expect([formatDuration(2000), formatDuration(1500), formatDuration(600_000), formatDuration(7_200_000), formatDuration(250)]).toEqual(["2s", "1.5s", "10m", "2h", "250ms"]);
  });

  it("refuses what is not a positive duration, with a hint", () => {
    for (const bad of ["", "0", "-1", "1d", "ten", "1e3", String(30 * 24 * 3600)]) expect(() => parseDuration(bad, "--timeout")).toThrow(/invalid --timeout/);
  });
});

describe("tighterLimits", () => {
  it("takes the lower of each limit and the CPUs both allow", () => {
    expect(tighterLimits({ memoryBytes: 100, pids: 50, cpuset: "0-3" }, { memoryBytes: 64, cpus: 1.5, cpuset: "1,3,5" })).toEqual({ memoryBytes: 64, pids: 50, cpus: 1.5, cpuset: "1,3" });
    expect(tighterLimits({}, { cpuset: "0" })).toEqual({ cpuset: "0" });
    expect(tighterLimits({}, {})).toEqual({});
  });

  it("refuses cpusets with no CPU in common", () => {
    expect(() => tighterLimits({ cpuset: "0" }, { cpuset: "1" })).toThrow(/no CPU in common/);
  });
});

describe("run step control", () => {
  const where = "recipe 'r' step 2";

  it("is the step's own limits and timeout, validated; none when not given", () => {
    expect(stepControl(run("true"), where, 2)).toEqual({ limits: {} });
    expect(stepControl(run("true", { limits: { memory: "64M", pids: 20, cpuset: "1" }, timeout: "2m" }), where, 2)).toEqual({ limits: { memoryBytes: 64 << 20, pids: 20, cpuset: "1" }, timeoutMs: 120_000 });
  });

  it("refuses bad limits and timeouts as the recipe's error, naming the step", () => {
    const bad = [run("true", { limits: { memory: "lots" } }), run("true", { timeout: "soon" }), run("true", { limits: { cpuset: "7" } }), run("true", { limits: { mem: "1G" } as never })];
    for (const s of bad) {
      try {
        stepControl(s, where, 2);
        expect.unreachable();
      } catch (e) {
        expect((e as { code: string }).code).toBe("ERECIPE");
        expect((e as Error).message).toMatch(/^recipe 'r' step 2: /);
      }
    }
  });

  it("holds the step under the build's limits: the lower limit and the shorter timeout win", () => {
    const build = { limits: { memoryBytes: 1 << 30, pids: 50 }, timeoutMs: 60_000 };
    expect(combineControl({ limits: { memoryBytes: 64 << 20 } }, build, where)).toEqual({ limits: { memoryBytes: 64 << 20, pids: 50 }, timeoutMs: 60_000 });
    expect(combineControl({ limits: { pids: 500 }, timeoutMs: 1000 }, build, where)).toEqual({ limits: { memoryBytes: 1 << 30, pids: 50 }, timeoutMs: 1000 });
    expect(combineControl({ limits: {} }, { limits: {} }, where)).toEqual({ limits: {} });
    expect(() => combineControl({ limits: { cpuset: "0" } }, { limits: { cpuset: "1" } }, where)).toThrow(/^recipe 'r' step 2 and minic build: cpusets/);
  });
});
