// bin/minic, the launcher: it starts Node from the startup snapshot (dist/snapshot/) when the
// snapshot was made by the node on PATH, hands the commands the snapshot does not carry to the
// ESM bundle, and falls back to bin/minic.js when the snapshot is missing, another node's or
// another CPU's.
import { execa } from "execa";
import { copyFileSync, cpSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BIN, LAUNCHER, minic, ROOT } from "../helpers/cli.js";
import { cpuIdentity, startupSnapshotState } from "../../src/util/startup-snapshot.js";
import { runtimeSuite } from "./fixtures.js";

const SNAPSHOT_LINE = /^\+ (run|ps): started from the startup snapshot$/m;
const BUILD_SNAPSHOT_LINE = /^\+ build: started from the startup snapshot$/m;
const { fx, run } = runtimeSuite(async () => {});

/** An install of minic in `dir` whose dist/snapshot/ is a copy the test can spoil. */
function install(dir: string): string {
  mkdirSync(join(dir, "bin"), { recursive: true });
  mkdirSync(join(dir, "dist"), { recursive: true });
  copyFileSync(LAUNCHER, join(dir, "bin", "minic"));
  copyFileSync(BIN, join(dir, "bin", "minic.js"));
  symlinkSync(join(ROOT, "dist", "bundle"), join(dir, "dist", "bundle"));
  cpSync(join(ROOT, "dist", "snapshot"), join(dir, "dist", "snapshot"), { recursive: true, preserveTimestamps: true });
  return join(dir, "bin", "minic");
}

describe("bin/minic", () => {
  it("starts run from the startup snapshot; the container runs", async () => {
    const r = await run(["bb", "--", "/bin/sh", "-c", "echo hi; exit 3"], { MINIC_DEBUG: "1" });
    expect(r.exitCode).toBe(3);
    expect(r.stdout).toBe("hi");
    expect(r.stderr).toMatch(SNAPSHOT_LINE);
  });

  it("starts build from the startup snapshot: the recipe's worker, esbuild and a cache hit work as from bin/minic.js", async () => {
    const dir = join(fx.root, "snap-build");
    mkdirSync(dir);
    const recipe = join(dir, "app.ts");
    writeFileSync(recipe, 'import { defineRecipe, file } from "minic";\nexport default defineRecipe({ name: "snapapp", steps: [file("/hi", "hi\\n")] });\n');
    const store = join(dir, "store");
    // The first build compiles the recipe (esbuild, loaded on first use) and makes the layer.
    const first = await minic(["build", recipe, "--store", store], { env: { MINIC_DEBUG: "1" } });
    expect(first.exitCode).toBe(0);
    expect(first.stderr).toMatch(BUILD_SNAPSHOT_LINE);
    expect(first.stderr).toMatch(/^snapapp: built layer sha256:/m);
    expect((await minic(["build", recipe, "--store", store], { env: { MINIC_DEBUG: "1" } })).stderr).toMatch(BUILD_SNAPSHOT_LINE);
    const hit = await minic(["build", recipe, "--store", store, "--explain"]);
    const viaNode = await execa(process.execPath, [BIN, "build", recipe, "--store", store, "--explain"], { reject: false, encoding: "utf8", stdin: "ignore" });
    expect({ code: hit.exitCode, out: hit.stdout, err: hit.stderr }).toEqual({ code: 0, out: viaNode.stdout, err: viaNode.stderr });
    expect(hit.stderr).toMatch(/snapapp: cache hit/);
    // A recipe error is the same one line from the snapshot as from the bundle.
    writeFileSync(recipe, 'import { defineRecipe } from "minic";\nthrow new Error("no");\nexport default defineRecipe({ name: "snapapp", steps: [] });\n');
    const bad = await minic(["build", recipe, "--store", store]);
    const badNode = await execa(process.execPath, [BIN, "build", recipe, "--store", store], { reject: false, encoding: "utf8", stdin: "ignore" });
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toBe(badNode.stderr);
  });

  it("hands other commands to the ESM bundle, with the same output as bin/minic.js", async () => {
    for (const args of [["images", "--store", fx.store], ["help", "run"], ["--version"], ["inspect", "nosuch", "--store", fx.store]]) {
      const viaLauncher = await minic(args);
      const viaNode = await execa(process.execPath, [BIN, ...args], { reject: false, encoding: "utf8", stdin: "ignore" });
      expect({ code: viaLauncher.exitCode, out: viaLauncher.stdout, err: viaLauncher.stderr }).toEqual({ code: viaNode.exitCode, out: viaNode.stdout, err: viaNode.stderr });
    }
    expect((await minic(["images", "--store", fx.store])).stdout).toMatch(/^bb:latest /m);
  });

  it("routes exactly the snapshot's commands to it; the snapshot itself hands others on", async () => {
    const launcher = readFileSync(LAUNCHER, "utf8");
    // Each snapshot's commands, as the launcher routes them and as its entry carries them.
    const routes = [...launcher.matchAll(/^(\S.*)\) blob=(\w+) ;; # SNAPSHOT_COMMANDS in (src\/[\w-]+\.ts)$/gm)];
    expect(routes.map((m) => [m[2], m[3]])).toEqual([["minic", "src/snapshot.ts"], ["build", "src/snapshot-build.ts"]]);
    for (const [, words, , entry] of routes) {
      const carried = [...readFileSync(join(ROOT, entry!), "utf8").matchAll(/^ {2}(\w+): async \(\) => \w+Command,$/gm)].map((m) => m[1]);
      expect(words!.split("|").map((w) => w.trim())).toEqual(carried);
    }
    expect(routes.flatMap((m) => m[1]!.split("|").map((w) => w.trim()))).toEqual(["run", "ps", "rm", "prune", "build"]);
    // Started from the snapshot directly (as the launcher does for its commands), `images` still works.
    const direct = await execa(process.execPath, ["--snapshot-blob", join(ROOT, "dist", "snapshot", "minic.blob"), ROOT, "images", "--store", fx.store], { reject: false, encoding: "utf8" });
    expect(direct.exitCode).toBe(0);
    expect(direct.stdout).toMatch(/^bb:latest /m);
    const fromBuild = await execa(process.execPath, ["--snapshot-blob", join(ROOT, "dist", "snapshot", "build.blob"), ROOT, "images", "--store", fx.store], { reject: false, encoding: "utf8" });
    expect(fromBuild.exitCode).toBe(0);
    expect(fromBuild.stdout).toBe(direct.stdout);
  });

  it("gives the same one-line error from the snapshot as from the bundle", async () => {
    const viaLauncher = await run(["nosuch"]);
    const viaNode = await execa(process.execPath, [BIN, "run", "--store", fx.store, "nosuch"], { reject: false, encoding: "utf8", stdin: "ignore" });
    expect(viaLauncher.exitCode).toBe(1);
    expect(viaLauncher.stderr).toBe(viaNode.stderr);
    expect(viaLauncher.stderr).toMatch(/^minic: no image 'nosuch:latest' in store .*\(hint: /);
  });

  it("through a symlink (npm link, node_modules/.bin) finds its install", async () => {
    const link = join(fx.root, "link");
    mkdirSync(link);
    symlinkSync(LAUNCHER, join(link, "minic"));
    const r = await execa(join(link, "minic"), ["ps", "--store", fx.store], { reject: false, encoding: "utf8", env: { MINIC_DEBUG: "1" } });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(SNAPSHOT_LINE);
  });

  it("runs bin/minic.js when the snapshot is another node's or missing, and the container still runs", async () => {
    const dir = join(fx.root, "install");
    const bin = install(dir);
    const go = () => execa(bin, ["run", "--store", fx.store, "bb", "--", "/bin/sh", "-c", "echo fallback"], { reject: false, encoding: "utf8", stdin: "ignore", env: { MINIC_DEBUG: "1" } });
    const fresh = await go();
    expect(fresh.stdout).toBe("fallback");
    expect(fresh.stderr).toMatch(SNAPSHOT_LINE); // the copy is as good as the original
    utimesSync(join(dir, "dist", "snapshot", "node.stamp"), new Date(0), new Date(0)); // another node's
    const stale = await go();
    expect(stale.exitCode).toBe(0);
    expect(stale.stdout).toBe("fallback");
    expect(stale.stderr).not.toMatch(SNAPSHOT_LINE);
    const stamp = join(dir, "dist", "snapshot", "node.stamp");
    rmSync(stamp); // a blob without its stamp (a build that stopped half-way)
    const unstamped = await go();
    expect(unstamped.stdout).toBe("fallback");
    expect(unstamped.stderr).not.toMatch(SNAPSHOT_LINE);
    rmSync(join(dir, "dist", "snapshot"), { recursive: true });
    const none = await go();
    expect(none.exitCode).toBe(0);
    expect(none.stdout).toBe("fallback");
    expect(none.stderr).not.toMatch(SNAPSHOT_LINE);
  });

  it("runs bin/minic.js when the snapshot was made on another CPU (V8 refuses it: node exits 14); doctor's state says other-cpu", async () => {
    const dir = join(fx.root, "install-cpu");
    const bin = install(dir);
    const snap = join(dir, "dist", "snapshot");
    const stamp = join(snap, "node.stamp");
    // The stamp names this machine's CPU, first, as the launcher reads it.
    expect(readFileSync(stamp, "utf8").split("\n")[0]).toBe(cpuIdentity() === "" ? "cpu" : `cpu ${cpuIdentity()}`);
    expect(startupSnapshotState(snap, process.execPath)).toBe("used");
    // Blobs as another CPU's are to this node: made with other V8 flags, which a CPU's features
    // set (the same refusal, exit 14, as an install copied from a machine with other features).
    for (const n of ["minic", "build"]) {
      rmSync(join(snap, `${n}.blob`));
      await execa(process.execPath, ["--no-opt", "--snapshot-blob", join(snap, `${n}.blob`), "--build-snapshot", join(snap, `${n}.cjs`)], { cwd: snap });
    }
    const go = () => execa(bin, ["run", "--store", fx.store, "bb", "--", "/bin/sh", "-c", "echo other-cpu"], { reject: false, encoding: "utf8", stdin: "ignore", env: { MINIC_DEBUG: "1" } });
    const refused = await go(); // the stamp still says this CPU: the launcher uses the blob
    expect(refused.exitCode).toBe(14);
    expect(refused.stderr).toMatch(/Failed to load the startup snapshot/);
    const { atime, mtime } = statSync(stamp);
    writeFileSync(stamp, "cpu cpu:type:x86,ven0000fam0006mod0001:feature:,0000\nnode v0\n"); // another CPU's
    utimesSync(stamp, atime, mtime); // the same node binary
    expect(startupSnapshotState(snap, process.execPath)).toBe("other-cpu");
    const other = await go();
    expect(other.exitCode).toBe(0);
    expect(other.stdout).toBe("other-cpu");
    expect(other.stderr).not.toMatch(SNAPSHOT_LINE);
  });

  it("with NODE_OPTIONS set starts without the snapshot (V8 would refuse it) and still works", async () => {
    const r = await execa(LAUNCHER, ["run", "--store", fx.store, "bb", "--", "/bin/sh", "-c", "echo ok"], {
      reject: false, encoding: "utf8", stdin: "ignore", env: { MINIC_DEBUG: "1", NODE_OPTIONS: "--max-old-space-size=512" },
    });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe("ok");
    expect(r.stderr).not.toMatch(SNAPSHOT_LINE);
  });

  it("without node on PATH says so in one line and exits 127", async () => {
    const r = await execa(LAUNCHER, ["--version"], { reject: false, encoding: "utf8", env: { PATH: "/nonexistent" }, extendEnv: false });
    expect(r.exitCode).toBe(127);
    expect(r.stderr).toBe("minic: node is not on PATH (hint: install Node.js 20 or newer)");
  });
});
