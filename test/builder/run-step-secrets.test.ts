// Build secrets: `minic build --secret id=token,src=FILE` and `run(cmd, { secrets: ["token"] })`
// make the file readable at /run/secrets/token in that step only. Its content is never in the
// layer, the cache records, `inspect --json`, the build's output (a step printing it shows
// ***) or an error message; an unknown id is one line naming the recipe and step, exit 1,
// nothing written.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { minic } from "../helpers/cli.js";
import { buildJson, freshDirs, writeRecipe } from "../helpers/run-steps.js";
import { runtimeSuite } from "../runtime/fixtures.js";

const SECRET = `s3cr3t-${Math.random().toString(36).slice(2)}-value`;
const { fx, run } = runtimeSuite(async () => {});

const dir = freshDirs(() => fx.root, "s");

const build = (recipe: string, args: string[] = []) => buildJson(fx.store, recipe, args);

/** Every file under `root` whose bytes contain `needle` (blobs decompressed: layers are bzip2). */
function filesHolding(root: string, needle: string): string[] {
  const hits: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        let bytes = readFileSync(p);
        if (bytes.subarray(0, 3).toString() === "BZh") bytes = execFileSync("bzip2", ["-dc", p], { maxBuffer: 1 << 30 });
        if (bytes.includes(needle)) hits.push(p);
      }
    }
  };
  walk(root);
  return hits;
}

const cat = async (image: string, path: string) => (await run(["--net", "none", image, "--", "/bin/sh", "-c", `cat ${path} 2>/dev/null || true`])).stdout;

describe("run step secrets", () => {
  it("readable in its step only; never in the layer, the cache records, inspect or the build's output", async () => {
    const d = dir();
    writeFileSync(join(d, "token"), `${SECRET}\n`, { mode: 0o600 });
    const recipe = writeRecipe(d, "sec", [
      `run("grep -q '^s3cr3t-' /run/secrets/token && echo readable > /seen; cat /run/secrets/token", { secrets: ["token"] })`,
      `run("[ -e /run/secrets/token ] && echo present > /seen2 || echo absent > /seen2")`,
    ].join(", "));
    const r = await build(recipe, ["--secret", `id=token,src=${join(d, "token")}`]);
    expect(r.exitCode, r.out).toBe(0);
    expect(await cat("sec", "/seen")).toBe("readable");
    expect(await cat("sec", "/seen2")).toBe("absent");
    // Its mount point was on nspawn's /run tmpfs: nothing of /run is in the layer.
    const blob = join(fx.store, "blobs", "sha256", r.top!.layer!.digest.replace(/^sha256:/, ""));
    expect(execFileSync("sh", ["-c", `bzip2 -dc '${blob}' | cpio -t --quiet`], { encoding: "utf8" }).split("\n").filter(Boolean).sort()).toEqual(["seen", "seen2"]);
    expect(r.out).not.toContain(SECRET);
    expect(r.out).toContain("  | ***"); // what the step printed, with the secret replaced
    const inspect = await minic(["inspect", "--json", "--store", fx.store, "sec"]);
    expect(inspect.exitCode).toBe(0);
    expect(inspect.stdout).not.toContain(SECRET);
    expect(filesHolding(fx.store, SECRET)).toEqual([]);
    // A secret's content is not in the cache key: another one reuses the layer.
    writeFileSync(join(d, "token2"), "another\n");
    expect((await build(recipe, ["--secret", `id=token,src=${join(d, "token2")}`])).top?.cached).toBe(true);
  });

  it("an unknown secret id is one line naming the recipe and step, exit 1, nothing written; a missing file names the file only", async () => {
    const d = dir();
    writeFileSync(join(d, "token"), `${SECRET}\n`);
    const recipe = writeRecipe(d, "secbad", `run("true"), run("cat /run/secrets/npmrc", { secrets: ["npmrc"] })`);
    const refsBefore = readdirSync(join(fx.store, "refs"));
    const r = await build(recipe, ["--secret", `id=token,src=${join(d, "token")}`]);
    expect(r.exitCode).toBe(1);
    expect(r.out.split("\n").filter((l) => l.startsWith("minic:"))).toEqual([
      "minic: recipe 'secbad' step 2: secret 'npmrc' is not given to this build (hint: minic build --secret id=npmrc,src=FILE)",
    ]);
    expect(readdirSync(join(fx.store, "refs"))).toEqual(refsBefore);
    expect(existsSync(join(fx.store, "cache", "last", "secbad.json"))).toBe(false);
    expect(readdirSync(join(fx.store, "tmp"))).toEqual([]);
    const missing = await build(recipe, ["--secret", `id=npmrc,src=${join(d, "nope")}`]);
    expect(missing.exitCode).toBe(1);
    expect(missing.out.trim()).toBe(`minic: secret 'npmrc': ${join(d, "nope")} is not a readable file (hint: give the file that holds the secret: --secret id=npmrc,src=FILE)`);
    const usage = await build(recipe, ["--secret", "npmrc"]);
    expect(usage.exitCode).toBe(2);
  });

  it("a failing step's error message shows its output with the secret replaced", async () => {
    const d = dir();
    writeFileSync(join(d, "token"), SECRET);
    const r = await build(writeRecipe(d, "secfail", `run("echo token is $(cat /run/secrets/token); exit 3", { secrets: ["token"] })`), ["--secret", `id=token,src=${join(d, "token")}`]);
    expect(r.exitCode).toBe(1);
    expect(r.out).not.toContain(SECRET);
    expect(r.out.split("\n").filter((l) => l.startsWith("minic:"))).toEqual([
      "minic: recipe 'secfail' step 1: command exited with status 3: token is *** (hint: fix the run step; nothing was stored)",
    ]);
  });
});
