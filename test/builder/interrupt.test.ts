// A build interrupted during a run step stops the step, unmounts, removes its scratch space.
import { afterAll, describe, expect, it } from "vitest";
import { execa } from "execa";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, ROOT, tempDir } from "../helpers/cli.js";
import { killPids, markerPids } from "../helpers/run-steps.js";

const t = tempDir("minic-interrupt-");
afterAll(() => t.remove());

/** Starts building a recipe whose run step sleeps; resolves once the step has started. */
async function startSlowBuild(name: string, store: string) {
  const dir = join(t.path, name);
  mkdirSync(dir);
  writeFileSync(
    join(dir, "slow.ts"),
    `import { defineRecipe, run } from "minic";\nimport bb from ${JSON.stringify(join(ROOT, "recipes/busybox.ts"))};\nexport default defineRecipe({ name: "slow", base: bb, steps: [run("echo started; sleep 60")] });\n`,
  );
  const child = execa(process.execPath, [BIN, "build", join(dir, "slow.ts"), "--store", store], { reject: false, all: true, forceKillAfterDelay: false });
  let out = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`run step never started: ${out}`)), 30_000);
    child.all!.on("data", (d: Buffer) => {
      out += d.toString();
      if (/^  \| started$/m.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return { child }; // wrapped: a subprocess is a promise, and returning it would await its end
}

describe("interrupting a build", () => {
  it("SIGTERM during a run step: exit 143, nothing mounted, no scratch left, no image", async () => {
    const store = join(t.path, "s");
    const { child } = await startSlowBuild("r", store);
    const t0 = Date.now();
    child.kill("SIGTERM");
    const r = await child;
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect({ exitCode: r.exitCode, signal: r.signal }).toEqual({ exitCode: 143, signal: undefined });
    expect(r.all).toMatch(/interrupted by SIGTERM/);
    expect(readFileSync("/proc/mounts", "utf8")).not.toContain(store);
    expect(readdirSync(join(store, "tmp"))).toEqual([]);
    expect(readdirSync(join(store, "refs"))).toEqual(["busybox"]);
  });
});

describe("a build killed outright", () => {
  it("SIGKILL during a run step leaves a scratch dir (but no mount) that the next build removes, with the step's processes", async () => {
    const store = join(t.path, "s-kill");
    const { child } = await startSlowBuild("k", store);
    child.kill("SIGKILL");
    await child;
    // The step's overlay lives in a private mount namespace: nothing stays mounted on the host.
    expect(readFileSync("/proc/mounts", "utf8")).not.toContain(store);
    const stale = readdirSync(join(store, "tmp")).filter((n) => n.startsWith("build-"));
    expect(stale).toHaveLength(1);
    try {
      const again = await execa(process.execPath, [BIN, "build", join(ROOT, "recipes/busybox.ts"), "--store", store, "--no-cache"], { reject: false });
      expect(again.exitCode).toBe(0);
      expect(readdirSync(join(store, "tmp")).filter((n) => n.startsWith("build-"))).toEqual([]);
      expect(readFileSync("/proc/mounts", "utf8")).not.toContain(store);
      // The killed build's step (nspawn names the scratch dir) was killed by the next build.
      expect(markerPids(`${store}/tmp/`)).toEqual([]);
    } finally {
      // whatever happened above, leave no container or mount behind
      killPids(markerPids(`${store}/tmp/`));
      for (const line of readFileSync("/proc/mounts", "utf8").split("\n")) {
        const p = line.split(" ")[1];
        if (p?.startsWith(store)) await execa("umount", ["-l", p], { reject: false });
      }
    }
  });
});
