// An unpacked layer changed on disk is noticed before it is used and unpacked again: by minic
// run (every way a tree can be changed: a file's bytes, its mode, an entry added, a symlink
// replaced, an opaque record edited) and by a build's run step stacked on it. Issue 11: a
// changed file in unpacked/<diff id>/ was served by every later run and never detected.
import { describe, expect, it } from "vitest";
import { chmodSync, readdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { minic } from "../helpers/cli.js";
import { runtimeSuite } from "./fixtures.js";

const { fx, run } = runtimeSuite(async () => {});

/** The busybox layer's directory (unpacked by the first run). */
function layerDir(): string {
  const dirs = readdirSync(join(fx.store, "unpacked")).filter((n) => /^[0-9a-f]{64}$/.test(n));
  expect(dirs).toHaveLength(1);
  return join(fx.store, "unpacked", dirs[0]!);
}

describe("a changed unpacked layer", () => {
  it("is unpacked again before a run uses it, whichever way it was changed", async () => {
    expect((await run(["bb", "--", "cat", "/etc/os-release"])).stdout).toBe("ID=busybox\nNAME=busybox");
    const changes: [string, (dir: string) => void, string[]][] = [
      ["a file's bytes", (d) => writeFileSync(join(d, "etc/os-release"), "ID=tampered\n"), ["cat", "/etc/os-release"]],
      ["a file's mode", (d) => chmodSync(join(d, "etc/os-release"), 0o600), ["ls", "-l", "/etc/os-release"]],
      ["an entry added", (d) => writeFileSync(join(d, "etc/planted"), "x"), ["ls", "/etc"]],
      ["a symlink replaced", (d) => (unlinkSync(join(d, "bin/cat")), symlinkSync("/bin/false", join(d, "bin/cat"))), ["cat", "/etc/os-release"]],
      ["an entry removed", (d) => rmSync(join(d, "etc/group")), ["ls", "/etc"]],
    ];
    for (const [what, change, argv] of changes) {
      const before = await run(["bb", "--", ...argv]);
      change(layerDir());
      const r = await run(["bb", "--", ...argv]);
      expect(r.stdout, what).toBe(before.stdout);
      expect(r.stderr, what).toMatch(/^minic: unpacked layer sha256:[0-9a-f]{12}… no longer matches its seal \(.+\); unpacking it again$/m);
      const again = await run(["bb", "--", ...argv]);
      expect(again.stderr, what).toBe("");
    }
  });

  it("a damaged seal or opaque record counts as a change too; fsck finds and repairs it", async () => {
    await run(["bb", "/bin/true"]);
    writeFileSync(`${layerDir()}.opaque`, '["etc"]\n');
    expect((await run(["bb", "/bin/true"])).stderr).toMatch(/no longer matches its seal \(its opaque record was changed\)/);
    writeFileSync(`${layerDir()}.seal`, "{}");
    expect((await run(["bb", "/bin/true"])).stderr).toMatch(/no longer matches its seal \(its seal is damaged\)/);
    writeFileSync(join(layerDir(), "etc/os-release"), "ID=tampered\n");
    const dry = await minic(["fsck", "--dry-run", "--store", fx.store]);
    expect(dry.exitCode).toBe(1);
    expect(dry.stdout).toMatch(/^unpacked\/[0-9a-f]{64}: etc\/os-release was changed; it is unpacked again when next used \(would be repaired\)$/m);
    expect((await minic(["fsck", "--store", fx.store])).exitCode).toBe(0);
    expect(readdirSync(join(fx.store, "unpacked"))).toEqual([]);
    expect((await run(["bb", "--", "cat", "/etc/os-release"])).stdout).toBe("ID=busybox\nNAME=busybox");
    expect((await minic(["fsck", "--dry-run", "--store", fx.store])).exitCode).toBe(0);
  });

  it("a build's run step stacked on a changed base layer sees the layer as it is", async () => {
    await run(["bb", "/bin/true"]);
    const base = layerDir();
    writeFileSync(join(base, "etc/os-release"), "ID=tampered\n");
    const recipe = join(fx.root, "step.ts");
    writeFileSync(recipe, `import { defineRecipe, run } from "minic";\nexport default defineRecipe({ name: "step", base: "bb", steps: [run("cat /etc/os-release > /seen")] });\n`);
    const b = await minic(["build", recipe, "--store", fx.store]);
    expect(b.exitCode, b.stderr).toBe(0);
    expect(b.stderr).toMatch(/unpacked layer sha256:[0-9a-f]{12}… no longer matches its seal \(etc\/os-release was changed\)/);
    expect((await run(["step", "--", "cat", "/seen"])).stdout).toBe("ID=busybox\nNAME=busybox");
    expect(readFileSync(join(base, "etc/os-release"), "utf8")).toBe("ID=busybox\nNAME=busybox\n");
  });
});
