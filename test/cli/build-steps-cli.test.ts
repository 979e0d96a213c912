// How the commands show build run steps and read build's limit flags, as data.
import { describe, expect, it } from "vitest";
import { buildControl } from "../../src/commands/build.js";
import { imageColumn } from "../../src/commands/ps.js";
import { sweptNote } from "../../src/commands/sweep.js";
import type { ContainerState } from "../../src/runtime/state.js";

const state = (extra: Partial<ContainerState>): ContainerState => ({
  id: "0123456789ab", name: "minic-step-0123456789ab", image: "busybox:latest", manifestDigest: "", command: ["/bin/sh", "-c", "make"],
  driver: "overlay", runtime: "nspawn", net: "none", created: "", minicPid: 1, minicStart: "", cgroups: [], veths: [], ports: [], ...extra,
});

describe("build run steps in ps and prune", () => {
  it("ps shows a build step as what it builds", () => {
    expect(imageColumn(state({ build: { recipe: "hello", step: 3 } }))).toBe("hello (build step 3)");
    expect(imageColumn(state({}))).toBe("busybox:latest");
  });

  it("a swept build step is named as one", () => {
    expect(sweptNote({ id: "0123456789ab", name: "minic-step-0123456789ab", minicPid: 42, build: { recipe: "hello", step: 3 } })).toBe("minic: removed stale build step 3 of recipe 'hello' (0123456789ab): its minic (pid 42) is gone");
    expect(sweptNote({ id: "ab", name: "web" })).toBe("minic: removed stale container web (ab)");
  });
});

describe("minic build's limit flags", () => {
  it("are parsed into the control of every run step", () => {
    expect(buildControl({}, 2)).toEqual({ limits: {} });
    expect(buildControl({ memory: "1G", cpus: "1.5", cpuset: "0-1", pids: "512", timeout: "10m" }, 2)).toEqual({ limits: { memoryBytes: 2 ** 30, cpus: 1.5, cpuset: "0-1", pids: 512 }, timeoutMs: 600_000 });
  });

  it("refuse bad values as usage errors", () => {
    for (const v of [{ memory: "x" }, { pids: "0" }, { cpuset: "9" }, { timeout: "0" }, { cpus: "-1" }]) {
      expect(() => buildControl(v, 2)).toThrow(expect.objectContaining({ code: "EUSAGE" }));
    }
    // As run does: more CPUs than the host has is a mistake, not a limit (QA: --cpus 100 passed).
    expect(() => buildControl({ cpus: "100" }, 2)).toThrow("--cpus 100: this host has only 2 CPUs");
  });
});
