// Cache mounts: run(cmd, { cache: [PATH] }) binds a persistent directory of the store (one per
// recipe name and path) over PATH for the step. What a step writes there is seen by the next
// build of the recipe (--no-cache: the step runs again) and never enters the layer; the
// image's own files at PATH are hidden during the step only. gc keeps cache mounts and lists
// them (as does info); gc --cache-mounts removes them. A path that is not absolute is one line
// naming the recipe and the step, before anything is made.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { minic, minicOk } from "../helpers/cli.js";
import { buildJson, freshDirs, writeRecipe } from "../helpers/run-steps.js";
import { runtimeSuite, stackedImage } from "../runtime/fixtures.js";

const { fx, run } = runtimeSuite(async (fx) => {
  await stackedImage(fx.store, fx.tree, "bbcache", [{ "var/cache/apt/own": "the image's\n" }]);
});

const dir = freshDirs(() => fx.root, "m");

const build = (recipe: string, args: string[] = []) => buildJson(fx.store, recipe, args);

function layerEntries(digest: string): string[] {
  const blob = join(fx.store, "blobs", "sha256", digest.replace(/^sha256:/, ""));
  return execFileSync("sh", ["-c", `bzip2 -dc '${blob}' | cpio -t --quiet`], { encoding: "utf8" }).split("\n").filter(Boolean).sort();
}

const cat = async (image: string, path: string) => (await run(["--net", "none", image, "--", "/bin/sh", "-c", `cat ${path} 2>/dev/null || true`])).stdout;
const mountsDir = () => join(fx.store, "cache-mounts");

describe("run step cache mounts", () => {
  it("what a step writes into its cache is there in the next build, and never in the layer", async () => {
    const recipe = writeRecipe(dir(), "cm", `run("echo built >> /var/cache/demo/log && cat /var/cache/demo/log > /seen; grep -c ' /var/cache/demo ' /proc/self/mountinfo > /mounted", { cache: ["/var/cache/demo"] })`);
    const first = await build(recipe);
    expect(first.exitCode, first.out).toBe(0);
    expect(await cat("cm", "/seen")).toBe("built");
    expect(await cat("cm", "/mounted")).toBe("1"); // a bind mount in the step's own mount namespace
    // bb has no /var/cache: nspawn's mount point for it, and the /var it copied up, are gone.
    expect(layerEntries(first.top!.layer!.digest)).toEqual(["mounted", "seen"]);
    const second = await build(recipe, ["--no-cache"]);
    expect(second.exitCode, second.out).toBe(0);
    expect(await cat("cm", "/seen")).toBe("built\nbuilt");
    expect(layerEntries(second.top!.layer!.digest)).toEqual(["mounted", "seen"]);
    expect(await cat("cm", "/var/cache/demo/log")).toBe("");
    // What the cache holds is not part of the cache key.
    expect((await build(recipe)).top?.cached).toBe(true);
  });

  it("over a directory the image has: its files are hidden during the step and kept in the image", async () => {
    const d = dir();
    const recipe = join(d, "cmown.ts");
    writeFileSync(recipe, `import { defineRecipe, run } from "minic";\nexport default defineRecipe({ name: "cmown", base: "bbcache", steps: [run("ls -A /var/cache/apt > /seen; echo pkg > /var/cache/apt/pkg.deb", { cache: ["/var/cache/apt"] })] });\n`);
    const r = await build(recipe);
    expect(r.exitCode, r.out).toBe(0);
    expect(await cat("cmown", "/seen")).toBe("");
    expect(layerEntries(r.top!.layer!.digest)).toEqual(["seen"]);
    expect(await cat("cmown", "/var/cache/apt/own")).toBe("the image's");
    expect(await cat("cmown", "/var/cache/apt/pkg.deb")).toBe("");
  });

  it("gc keeps and lists them (so does info); gc --cache-mounts removes them, and the next build starts empty", async () => {
    const recipe = writeRecipe(dir(), "cmgc", `run("echo x >> /root/.npm/log && wc -l < /root/.npm/log > /count", { cache: ["/root/.npm"] })`);
    expect((await build(recipe)).exitCode).toBe(0);
    expect((await build(recipe, ["--no-cache"])).exitCode).toBe(0);
    expect((await cat("cmgc", "/count")).trim()).toBe("2");
    const kept = JSON.parse((await minicOk(["gc", "--json", "--store", fx.store])).stdout) as { cacheMounts: { removed: number; kept: { recipe: string; path: string; bytes: number }[] } };
    expect(kept.cacheMounts.removed).toBe(0);
    expect(kept.cacheMounts.kept).toContainEqual({ recipe: "cmgc", path: "/root/.npm", bytes: 4 });
    const info = JSON.parse((await minicOk(["info", "--json", "--store", fx.store])).stdout) as { cacheMounts: { recipe: string; path: string }[] };
    expect(info.cacheMounts).toContainEqual({ recipe: "cmgc", path: "/root/.npm", bytes: 4 });
    const gone = JSON.parse((await minicOk(["gc", "--cache-mounts", "--json", "--store", fx.store])).stdout) as { cacheMounts: { removed: number; kept: unknown[] } };
    expect(gone.cacheMounts.removed).toBeGreaterThanOrEqual(1);
    expect(gone.cacheMounts.kept).toEqual([]);
    expect(readdirSync(mountsDir())).toEqual([]);
    expect(readdirSync(join(fx.store, "tmp"))).toEqual([]);
    expect((await build(recipe, ["--no-cache"])).exitCode).toBe(0);
    expect((await cat("cmgc", "/count")).trim()).toBe("1");
  });

  it("a cache path that is not absolute is one line naming the recipe and the step; nothing is made", async () => {
    const before = existsSync(mountsDir()) ? readdirSync(mountsDir()) : [];
    const r = await build(writeRecipe(dir(), "cmbad", `run("true"), run("true", { cache: ["/ok", "var/cache/apt"] })`));
    expect(r.exitCode).toBe(1);
    expect(r.out.split("\n").filter((l) => l.startsWith("minic:"))).toEqual([
      "minic: recipe 'cmbad' step 2: run cache path 'var/cache/apt' is not absolute (hint: paths inside the image start with '/', e.g. /var/cache/apt)",
    ]);
    expect(readdirSync(join(fx.store, "refs"))).not.toContain("cmbad");
    expect(existsSync(mountsDir()) ? readdirSync(mountsDir()) : []).toEqual(before);
    const usage = await minic(["gc", "--store", fx.store, "--cache-mount"]);
    expect(usage.exitCode).toBe(2);
  });
});
