// The delegated systemd scope, as data: the bus calls minic makes and how it finds a process's
// cgroup. (Run for real on a systemd host by the VM suite: scripts/test-vm.sh systemd.)
import { describe, expect, it } from "vitest";
import { busArgs, startScopeArgv, stopUnitArgv, unifiedCgroup } from "../../src/runtime/systemd-scope.js";

describe("systemd scope", () => {
  const scope = { unit: "minic-ab.scope", slice: "machine.slice", dir: "/sys/fs/cgroup/machine.slice/minic-ab.scope", leaf: "/sys/fs/cgroup/machine.slice/minic-ab.scope/container" };
  it("asks for a delegated, collected scope in machine.slice around the process", () => {
    expect(startScopeArgv("/usr/bin/busctl", busArgs(true), scope, 42, "minic container minic-ab")).toEqual([
      "/usr/bin/busctl", "--address=unix:path=/run/systemd/private", "call", "org.freedesktop.systemd1", "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager",
      "StartTransientUnit", "ssa(sv)a(sa(sv))", "minic-ab.scope", "fail", "5", "Description", "s", "minic container minic-ab", "Slice", "s", "machine.slice",
      "Delegate", "b", "true", "CollectMode", "s", "inactive-or-failed", "PIDs", "au", "1", "42", "0",
    ]);
    expect(busArgs(false)).toEqual(["--system"]);
    expect(stopUnitArgv("busctl", ["--system"], "minic-ab.scope")).toEqual(["busctl", "--system", "call", "org.freedesktop.systemd1", "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager", "StopUnit", "ss", "minic-ab.scope", "replace"]);
  });
  it("reads the unified cgroup of a process", () => {
    expect(unifiedCgroup("0::/machine.slice/minic-ab.scope\n")).toBe("/machine.slice/minic-ab.scope");
    expect(unifiedCgroup("12:pids:/x\n1:name=systemd:/y\n0::/\n")).toBe("/");
    expect(unifiedCgroup("12:pids:/x\n")).toBeUndefined();
  });
});
