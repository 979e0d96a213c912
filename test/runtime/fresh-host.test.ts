// Regression: on a host where systemd-nspawn had never run, /run/systemd/nspawn did not exist
// and every nspawn run failed ("mounting a tmpfs on /run/systemd/nspawn failed: mount point does
// not exist"), while this project's machines, where a bench had made that directory, stayed
// green. Each case runs minic in a private mount namespace where an on-disk directory stands in
// for /run/systemd (empty, or with what package installs leave there), or for /run itself (a
// host with no /run/systemd at all), and checks that the runs work and that nothing was
// created there.
import { describe, expect, it } from "vitest";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { LAUNCHER, type CliResult } from "../helpers/cli.js";
import { runtimeSuite } from "./fixtures.js";

const { fx } = runtimeSuite(async () => {});

/** Runs bin/minic ARGS in a private mount namespace where the empty directory `empty` is bound over `over`. */
async function runIn(over: string, empty: string, args: string[]): Promise<CliResult> {
  const r = await execa("unshare", ["-m", "--propagation", "private", "/bin/sh", "-c", 'mount --bind "$1" "$2" && shift 2 && exec "$@"', "_", empty, over, LAUNCHER, ...args], { reject: false, encoding: "utf8", stdin: "ignore" });
  return { exitCode: r.exitCode ?? 128, stdout: String(r.stdout), stderr: String(r.stderr) };
}

describe("a fresh host (no /run/systemd/nspawn)", () => {
  const emptyDir = (name: string) => {
    const d = join(fx.root, name);
    mkdirSync(d);
    return d;
  };

  it("a build with a run step and a minic run work with an empty /run/systemd, which stays empty", async () => {
    const rs = emptyDir("run-systemd");
    const dir = join(fx.root, "recipe");
    mkdirSync(dir);
    writeFileSync(join(dir, "r.ts"), `import { defineRecipe, run } from "minic";\nexport default defineRecipe({ name: "fresh", base: "bb", steps: [run("echo built > /etc/fresh")] });\n`);
    const b = await runIn("/run/systemd", rs, ["build", join(dir, "r.ts"), "--store", fx.store]);
    expect(b.stderr).not.toContain("failed");
    expect(b.exitCode).toBe(0);
    const r = await runIn("/run/systemd", rs, ["run", "--store", fx.store, "--net", "none", "fresh", "--", "/bin/cat", "/etc/fresh"]);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("built");
    expect(r.exitCode).toBe(0);
    expect(readdirSync(rs)).toEqual([]);
  }, 120_000);

  it("a run works where /run/systemd holds other entries but no nspawn/, and nothing is added", async () => {
    const rs = emptyDir("run-systemd-used");
    mkdirSync(join(rs, "netif"));
    writeFileSync(join(rs, "a-file"), "x");
    const r = await runIn("/run/systemd", rs, ["run", "--store", fx.store, "--net", "none", "bb", "--", "/bin/true"]);
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    expect(readdirSync(rs).sort()).toEqual(["a-file", "netif"]);
  }, 60_000);

  it("a minic run works on a host without /run/systemd; /run's entries (the netns it joins) stay visible to nspawn", async () => {
    const run = emptyDir("run");
    mkdirSync(join(run, "lock"));
    writeFileSync(join(run, "a-file"), "x");
    // --net veth: nspawn joins /run/netns/NAME, which the tmpfs over /run would hide unless bound back.
    const r = await runIn("/run", run, ["run", "--store", fx.store, "--net", "veth", "bb", "--", "/bin/sh", "-c", "ip -o -4 addr show | grep -c 10.231."]);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("1");
    expect(r.exitCode).toBe(0);
    // `ip netns add` makes /run/netns (as on any host); minic adds nothing else.
    expect(readdirSync(run).sort()).toEqual(["a-file", "lock", "netns"]);
    expect(readdirSync(join(run, "netns"))).toEqual([]);
  }, 60_000);
});
