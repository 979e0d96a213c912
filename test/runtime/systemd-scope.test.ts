// The delegated systemd scope, as data: how minic starts a container in one and stops it, and how
// it finds a process's cgroup. (Run for real on a systemd host by the VM suite: scripts/test-vm.sh systemd.)
import { describe, expect, it } from "vitest";
import { scopeRunArgv, stopUnitArgv, unifiedCgroup } from "../../src/runtime/systemd-scope.js";

describe("systemd scope", () => {
  const scope = { unit: "minic-ab.scope", slice: "machine.slice", dir: "/sys/fs/cgroup/machine.slice/minic-ab.scope", leaf: "/sys/fs/cgroup/machine.slice/minic-ab.scope/container" };
  it("starts the wrapper in a delegated, collected scope in machine.slice, and stops it", () => {
    expect(scopeRunArgv("/usr/bin/systemd-run", scope, "minic container ab")).toEqual([
      "/usr/bin/systemd-run", "--scope", "--quiet", "--collect", "--unit=minic-ab.scope", "--slice=machine.slice", "--property=Delegate=yes", "--description=minic container ab", "--",
    ]);
    expect(stopUnitArgv("/usr/bin/systemctl", "minic-ab.scope")).toEqual(["/usr/bin/systemctl", "stop", "--quiet", "minic-ab.scope"]);
  });
  it("reads the unified cgroup of a process", () => {
    expect(unifiedCgroup("0::/machine.slice/minic-ab.scope\n")).toBe("/machine.slice/minic-ab.scope");
    expect(unifiedCgroup("12:pids:/x\n1:name=systemd:/y\n0::/\n")).toBe("/");
    expect(unifiedCgroup("12:pids:/x\n")).toBeUndefined();
  });
});
