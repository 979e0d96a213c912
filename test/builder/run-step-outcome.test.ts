// What a finished run step means, as data: the one-line error for each way it can fail, and the
// runtime spec a step runs with.
import { describe, expect, it } from "vitest";
import { stepFailure, type StepEnd } from "../../src/builder/run-step-outcome.js";
import { humanSize } from "../../src/core/size-text.js";
import { runStepSpec } from "../../src/builder/run-step.js";
import { oneLine } from "../../src/core/errors.js";
import { nspawnArgv } from "../../src/runtime/runtime-argv.js";
import { DEFAULT_PROFILE } from "../../src/runtime/security-profile.js";

const end = (e: Partial<StepEnd>): StepEnd => ({ where: "recipe 'r' step 1", exitCode: 0, oomKills: 0, pidsRefused: 0, limits: {}, timedOut: false, tail: "", ...e });
const line = (e: Partial<StepEnd>) => {
  const err = stepFailure(end(e));
  return err && { code: err.code, line: oneLine(err) };
};

describe("run step outcomes", () => {
  it("success is no error, even when a child was OOM-killed and the command coped", () => {
    expect(stepFailure(end({}))).toBeUndefined();
    expect(stepFailure(end({ oomKills: 1, limits: { memoryBytes: 1 << 25 } }))).toBeUndefined();
  });

  it("a failing command: its status and the last lines of its output", () => {
    expect(line({ exitCode: 3, tail: "building\nerror: no such file\n\n" })).toEqual({
      code: "ERUN", line: "recipe 'r' step 1: command exited with status 3: building | error: no such file (hint: fix the run step; nothing was stored)",
    });
  });

  it("a step over its memory or pids limit says which limit, and how to raise it", () => {
    expect(line({ exitCode: 137, oomKills: 2, limits: { memoryBytes: 32 << 20 } })?.line).toBe(
      "recipe 'r' step 1: ran out of memory: the OOM killer killed 2 of its processes at its memory limit of 32 MiB (hint: raise the limit (run(cmd, { limits: { memory } }) or minic build --memory) or make the step use less; nothing was stored)");
    expect(line({ exitCode: 2, pidsRefused: 1, limits: { pids: 20 } })?.line).toMatch(/^recipe 'r' step 1: reached its pids limit of 20: 1 fork was refused \(hint: raise the limit \(run\(cmd, \{ limits: \{ pids \} \}\) or minic build --pids\)/);
  });

  it("a timeout, an interruption and a failed setup each have their own line", () => {
    expect(line({ exitCode: 137, timedOut: true, timeoutMs: 2000 })).toEqual({
      code: "ERUN", line: "recipe 'r' step 1: still running after 2s, its timeout: stopped (hint: make the step finish sooner, or raise its timeout (run(cmd, { timeout }) or minic build --timeout); nothing was stored)",
    });
    expect(line({ exitCode: 137, interrupted: "SIGINT" })).toEqual({ code: "EINTERRUPTED", line: "recipe 'r' step 1: stopped by SIGINT" });
    expect(line({ exitCode: 125, setupFailure: "mounting the layers (overlay) failed" })?.code).toBe("EHOST");
  });

  it("sizes for messages", () => {
    expect([humanSize(32 << 20), humanSize(1.5 * 2 ** 30), humanSize(262144), humanSize(1000), humanSize(1536)]).toEqual(["32 MiB", "1.5 GiB", "256 KiB", "1000 B", "1.5 KiB"]);
  });

  it("a step runs as root, killed at once when stopped; nspawn leaves resolv.conf alone (the host network's files are binds)", () => {
    const step = { kind: "run" as const, argv: ["/bin/sh", "-c", "true"], env: ["A=1"], workdir: "/src" };
    const none = runStepSpec(step, "/m", "minic-step-x", { security: DEFAULT_PROFILE, network: "none", binds: [] });
    expect(none).toMatchObject({ runtime: "nspawn", rootfs: "/m", machine: "minic-step-x", user: "root", network: { kind: "none" }, killSignal: "SIGKILL", env: ["A=1"], workdir: "/src", binds: [], resolvConfOff: true, security: DEFAULT_PROFILE });
    const resolv = { source: "/s/tmp/b/net-1/resolv.conf", target: "/etc/resolv.conf", readOnly: true, dir: false };
    const host = runStepSpec(step, "/m", "minic-step-x", { security: DEFAULT_PROFILE, network: "host", binds: [resolv] });
    expect(host).toMatchObject({ network: { kind: "host" }, binds: [resolv], resolvConfOff: true });
    const argv = nspawnArgv(host, { keepUnit: true, nspawnTmpfs: true, masks: [], programs: { nspawn: "systemd-nspawn", mount: "mount", unshare: "unshare", ip: "ip", env: "env", nsenter: "nsenter", hostname: "hostname", setpriv: "setpriv" } });
    expect(argv).toContain("--bind-ro=/s/tmp/b/net-1/resolv.conf:/etc/resolv.conf");
    expect(argv).toContain("--resolv-conf=off");
    expect(argv).not.toContain("--private-network");
    expect(argv.filter((a) => a.startsWith("--drop-capability="))).toHaveLength(1); // the hardened profile holds on the host's network too
  });
});
