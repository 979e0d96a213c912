// Cgroups that programs make below minic's (systemd-nspawn makes its payload and supervisor
// cgroups on cgroup v2 hosts, issue 13): minic kills what runs in them and removes them before
// its own. On such a host every 'minic run' exited 1 with EBUSY and left its cgroup behind.
// Tested for real on this machine's v1 pids hierarchy, where a child cgroup blocks rmdir too.
import { afterEach, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from "node:fs";
import { cgroupPids, cgroupTree, removeCgroups } from "../../src/runtime/cgroups.js";

const ROOT = "/sys/fs/cgroup/pids";
const available = existsSync(`${ROOT}/cgroup.procs`) && process.getuid?.() === 0;
const made: string[] = [];
const started: number[] = [];

afterEach(async () => {
  for (const pid of started.splice(0)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
  for (const d of made.splice(0).reverse()) {
    for (let i = 0; i < 100 && existsSync(d); i++) {
      try {
        rmdirSync(d);
      } catch {
        await new Promise((r) => setTimeout(r, 10)); // a killed process may not have left it yet
      }
    }
  }
});

(available ? describe : describe.skip)("cgroups below minic's (needs root and a v1 pids hierarchy at /sys/fs/cgroup/pids)", () => {
  it("removeCgroups kills what runs in a child cgroup and removes the child, then its own", async () => {
    const top = `${ROOT}/minic-subtree-${process.pid}`;
    const child = `${top}/payload`;
    const grandchild = `${child}/inner`;
    for (const d of [top, child, grandchild]) {
      mkdirSync(d);
      made.push(d);
    }
    const sleeper = spawn("sleep", ["60"], { stdio: "ignore" });
    started.push(sleeper.pid!);
    writeFileSync(`${grandchild}/cgroup.procs`, String(sleeper.pid));
    const exited = new Promise((r) => sleeper.once("exit", r));
    expect(cgroupTree(top)).toEqual([grandchild, child, top]);
    expect(cgroupPids([top])).toEqual([sleeper.pid]);
    await removeCgroups([top]);
    expect(existsSync(top)).toBe(false);
    await exited;
    expect(sleeper.signalCode).toBe("SIGKILL");
  });
});
