// Building an app tags its base recipe's image NAME:latest only when that name is free or holds
// an image of the same recipe file; a name holding another recipe's (or an imported) image is kept.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { minic, minicOk, tempDir } from "../helpers/cli.js";

const t = tempDir("minic-base-tags-");
afterAll(() => t.remove());

const recipe = (name: string, content: string, base?: string) =>
  `import { defineRecipe, file } from "minic";\n${base ? `import base from "${base}";\n` : ""}` +
  `export default defineRecipe({ name: "${name}", ${base ? "base, " : ""}steps: [file("/etc/${name}", ${JSON.stringify(content)})] });\n`;

beforeAll(() => {
  mkdirSync(join(t.path, "a"));
  mkdirSync(join(t.path, "other"));
  writeFileSync(join(t.path, "a/base.ts"), recipe("base", "v1\n"));
  writeFileSync(join(t.path, "a/app.ts"), recipe("app", "app\n", "./base.ts"));
  writeFileSync(join(t.path, "other/base.ts"), recipe("base", "another base\n"));
});

/** Runs minic in the test dir with `store`; returns the result. */
const build = (store: string, file: string, ...more: string[]) => minic(["build", file, "--store", store, "-q", ...more], { cwd: t.path });
const manifest = async (store: string, ref: string) => JSON.parse((await minicOk(["inspect", ref, "--json", "--store", store])).stdout).manifest as string;
const firstLayer = async (store: string, ref: string) => JSON.parse((await minicOk(["inspect", ref, "--json", "--store", store])).stdout).layers[0].diffId as string;

describe("tagging base images", () => {
  it("a base takes a free name and follows its own recipe file; a name holding another recipe file's image is kept, with one note", async () => {
    const dir = join(t.path, "same");
    mkdirSync(dir);
    writeFileSync(join(dir, "base.ts"), recipe("base", "v1\n"));
    writeFileSync(join(dir, "app.ts"), recipe("app", "app\n", "./base.ts"));
    const store = join(t.path, "s-other");
    // Free: the base gets the name, silently.
    const free = await build(store, "same/app.ts");
    expect([free.exitCode, free.stderr]).toEqual([0, ""]);
    const v1 = await manifest(store, "base");
    expect(await firstLayer(store, "base")).toBe(await firstLayer(store, "app"));
    // The same recipe file changed: its name follows.
    writeFileSync(join(dir, "base.ts"), recipe("base", "v2\n"));
    const again = await build(store, "same/app.ts");
    expect(again.stderr).toBe("");
    expect(await manifest(store, "base")).not.toBe(v1);
    expect(await firstLayer(store, "base")).toBe(await firstLayer(store, "app"));
    // Another recipe file named "base", built on purpose, takes the name; an app on the first one keeps it.
    await minicOk(["build", "other/base.ts", "--store", store, "-q"], { cwd: t.path });
    const held = await manifest(store, "base");
    const r = await build(store, "a/app.ts", "--json");
    expect(r.exitCode).toBe(0);
    expect(r.stderr.trim()).toBe("minic: note: base:latest is kept: it holds an image built from other/base.ts; the base built from a/base.ts is not tagged "
      + "(hint: 'minic build a/base.ts' gives it the name; 'minic build a/base.ts -t NAME' another one)");
    expect(await manifest(store, "base")).toBe(held);
    const images = JSON.parse(r.stdout).images as { ref: string; tagged: boolean }[];
    expect(images.map((i) => `${i.ref}:${i.tagged}`)).toEqual(["base:latest:false", "app:latest:true"]);
    // Building the base itself is asking for the name.
    await minicOk(["build", "a/base.ts", "--store", store, "-q"], { cwd: t.path });
    expect(await manifest(store, "base")).not.toBe(held);
  });

  it("a name holding an imported image is kept; gc forgets names that hold another image now", async () => {
    const store = join(t.path, "s-import");
    mkdirSync(join(t.path, "tree"));
    writeFileSync(join(t.path, "tree/x"), "x\n");
    await minicOk(["import", join(t.path, "tree"), "-t", "base", "--store", store]);
    const r = await build(store, "a/app.ts");
    expect(r.stderr.trim()).toMatch(/^minic: note: base:latest is kept: it holds an image not built from it \(imported, loaded, pulled or tagged otherwise\); the base built from a\/base\.ts is not tagged \(hint: /);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    const record = join(store, "cache/tags", `${encodeURIComponent("app:latest")}.json`);
    expect(existsSync(record)).toBe(true);
    await minicOk(["import", join(t.path, "tree"), "-t", "app", "--store", store]);
    await minicOk(["gc", "--store", store]);
    expect(existsSync(record)).toBe(false);
    // The name holds an imported image now: an app build tags its top image anyway (it was asked for).
    await minicOk(["build", "a/app.ts", "--store", store, "-q"], { cwd: t.path });
    expect(existsSync(record)).toBe(true);
  });

  it("two recipes of one build named alike are refused before anything is built; -t for the top is the user's name", async () => {
    const dir = join(t.path, "clash");
    mkdirSync(dir);
    writeFileSync(join(dir, "base.ts"), recipe("base", "v1\n"));
    // An app that kept its base's name: it would retag the base's image, silently.
    writeFileSync(join(dir, "app.ts"), recipe("base", "app\n", "./base.ts"));
    // Two stages of one file with one name (the final recipe copies from both).
    writeFileSync(join(dir, "stages.ts"), `import { copy, defineRecipe, file, from } from "minic";\n`
      + `const a = defineRecipe({ name: "stage", steps: [file("/a", "a\\n")] });\n`
      + `const b = defineRecipe({ name: "stage", steps: [file("/b", "b\\n")] });\n`
      + `export default defineRecipe({ name: "final", steps: [copy(from(a, "/a"), "/"), copy(from(b, "/b"), "/")] });\n`);
    const store = join(t.path, "s-clash");
    const r = await build(store, "clash/app.ts");
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim()).toBe(`minic: two recipes of this build are named 'base:latest' (in ${join(dir, "app.ts")} and ${join(dir, "base.ts")}): one's image would take the other's name `
      + "(hint: give one of them another name (defineRecipe({ name: … })), or build with -t NAME)");
    const s = await build(store, "clash/stages.ts");
    expect(s.exitCode).toBe(1);
    expect(s.stderr.trim()).toBe(`minic: two recipes of this build are named 'stage:latest' (both in ${join(dir, "stages.ts")}): one's image would take the other's name `
      + "(hint: give one of them another name (defineRecipe({ name: … })))");
    // Nothing was built or named.
    expect((await minicOk(["images", "--store", store])).stdout.trim().split("\n")).toHaveLength(1);
    // With -t the top's name is the user's: the base keeps its own.
    await minicOk(["build", "clash/app.ts", "-t", "app2", "--store", store, "-q"], { cwd: t.path });
    expect(await manifest(store, "base")).not.toBe(await manifest(store, "app2"));
  });
});
