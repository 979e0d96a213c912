// Closing the terminal of an interactive minic (script(1) from bsdutils gives it a pseudo-terminal,
// which the test then closes): minic gets SIGHUP and its terminal answers writes with EIO, and it
// still cleans up everything. Issue 11: an interactive `minic run --net veth` died on the first
// note it wrote to the dead terminal, leaving its netns, veth, cgroups and container directory.
import { describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LAUNCHER } from "../helpers/cli.js";
import { hostLeaks, runtimeSuite } from "./fixtures.js";

const { fx } = runtimeSuite(async () => {});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean, ms = 30_000): Promise<void> {
  for (const t0 = Date.now(); !ok(); await sleep(100)) if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
}

const alive = (pid: number) => existsSync(`/proc/${pid}`);

/** Starts `argv` (minic's) on a fresh pseudo-terminal; returns script's pid (its end of the terminal). */
function onTerminal(argv: string[]): number {
  const cmd = [LAUNCHER, ...argv].map((a) => `'${a}'`).join(" ");
  const child = spawn("script", ["-qfec", cmd, "/dev/null"], { stdio: "ignore", detached: true });
  child.unref();
  return child.pid!;
}

/** The pids of the minic processes (node; the launcher execs it) under the terminal of script `pid`. */
function minicUnder(pid: number): number[] {
  const out: number[] = [];
  const walk = (p: number) => {
    let kids: string[] = [];
    try {
      kids = readFileSync(`/proc/${p}/task/${p}/children`, "utf8").trim().split(/\s+/).filter(Boolean);
    } catch {
      return;
    }
    for (const k of kids.map(Number)) {
      try {
        if (readFileSync(`/proc/${k}/comm`, "utf8").trim() === "node") out.push(k);
      } catch {
        continue; // gone
      }
      walk(k);
    }
  };
  walk(pid);
  return out;
}

describe("a closed terminal", () => {
  // The terminal's holder killed (a terminal emulator that goes away), or SIGHUP to minic first
  // (a hung-up ssh session) and then the terminal gone.
  for (const how of ["terminal closed", "SIGHUP, then terminal closed"] as const) {
    it(`interactive run --net veth (${how}): minic cleans up netns, veth, cgroups and its directory`, async () => {
      const script = onTerminal(["run", "--net", "veth", "--store", fx.store, "bb", "--", "/bin/sh", "-c", "echo started; sleep 60"]);
      const containers = join(fx.store, "containers");
      await until("the container to run", () => readdirSync(containers).some((id) => {
        try {
          return Boolean(JSON.parse(readFileSync(join(containers, id, "state.json"), "utf8")).netns) && hostLeaks().some((l) => l.startsWith("netns"));
        } catch {
          return false;
        }
      }));
      await sleep(1000); // the container's command is running
      const minics = minicUnder(script);
      expect(minics.length).toBeGreaterThan(0);
      if (how !== "terminal closed") {
        for (const p of minics) process.kill(p, "SIGHUP");
        await sleep(500);
      }
      process.kill(script, "SIGKILL");
      await until("minic to exit", () => minics.every((p) => !alive(p)));
      expect(readdirSync(containers)).toEqual([]);
      expect(hostLeaks()).toEqual([]);
    });
  }

  it("a build's run step: minic stops it and removes its scratch space", async () => {
    const dir = join(fx.root, "hup-build");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "slow.ts"), `import { defineRecipe, run } from "minic";\nexport default defineRecipe({ name: "slow", base: "bb", steps: [run("echo started; sleep 60")] });\n`);
    const script = onTerminal(["build", join(dir, "slow.ts"), "--store", fx.store]);
    await until("the run step to start", () => readdirSync(join(fx.store, "tmp")).some((n) => n.startsWith("build-")) && minicUnder(script).length > 0, 60_000);
    await sleep(3000);
    const minics = minicUnder(script);
    process.kill(script, "SIGKILL");
    await until("minic to exit", () => minics.every((p) => !alive(p)));
    expect(readdirSync(join(fx.store, "tmp"))).toEqual([]);
    expect(readdirSync(join(fx.store, "refs"))).not.toContain("slow");
    expect(readFileSync("/proc/self/mounts", "utf8")).not.toContain(fx.store);
  });
});
