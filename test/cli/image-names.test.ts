// Full references (`HOST[:PORT]/REPO:TAG`, `localhost/NAME`) wherever an image is named: import -t,
// build -t, a recipe's base string, images, inspect, export, save, load -t, rmi; bad names are a
// one-line error (exit 1, never 70).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { minic, minicOk, tempDir } from "../helpers/cli.js";

const t = tempDir("minic-names-");
afterAll(() => t.remove());
const store = join(t.path, "s");
const S = ["--store", store];
const PM = "127.0.0.1:15555/qa/pm";
let pmDigest = "";

beforeAll(async () => {
  const d = join(t.path, "tree");
  mkdirSync(d);
  writeFileSync(join(d, "f"), "pm\n");
  const r = await minicOk(["import", d, "-t", `${PM}:1`, ...S]);
  pmDigest = r.stdout.trim().split(" ")[1]!;
});

describe("full references", () => {
  it("import -t keeps the whole name; images, inspect and export take it", async () => {
    const out = await minicOk(["import", join(t.path, "tree"), "-t", `${PM}:1`, ...S]);
    expect(out.stdout.trim()).toBe(`${PM}:1 ${pmDigest}`);
    expect((await minicOk(["images", ...S])).stdout.split("\n")[1]!.split(/\s+/)[0]).toBe(`${PM}:1`);
    expect(JSON.parse((await minicOk(["images", "--json", ...S])).stdout)[0]).toMatchObject({ name: PM, tag: "1" });
    expect(JSON.parse((await minicOk(["inspect", `${PM}:1`, "--json", ...S])).stdout)).toMatchObject({ ref: `${PM}:1`, manifest: pmDigest });
    await minicOk(["export", `${PM}:1`, "-o", join(t.path, "pm.cpio.bz2"), ...S]);
    expect(existsSync(join(t.path, "pm.cpio.bz2"))).toBe(true);
    // no tag after the port's ':' means :latest, which does not exist
    const r = await minic(["inspect", PM, ...S]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim()).toMatch(new RegExp(`^minic: no image '${PM.replace(/\./g, "\\.")}:latest' .*\\(hint: `));
  });

  it("build -t takes a full reference and a recipe's base string may be one; minic's own names get no localhost/", async () => {
    const recipe = join(t.path, "on-pm.ts");
    writeFileSync(recipe, `import { defineRecipe, file } from "minic";\nexport default defineRecipe({ name: "onpm", base: ${JSON.stringify(`${PM}:1`)}, steps: [file("/app.txt", "hi\\n")] });\n`);
    const tagged = await minicOk(["build", recipe, "-t", "localhost:5000/apps/onpm:2", ...S]);
    expect(tagged.stdout.trim()).toMatch(/^localhost:5000\/apps\/onpm:2 sha256:[0-9a-f]{64}$/);
    const plain = await minicOk(["build", recipe, ...S]);
    expect(plain.stdout.trim()).toMatch(/^onpm:latest sha256:/);
    const img = JSON.parse((await minicOk(["inspect", "localhost:5000/apps/onpm:2", "--json", ...S])).stdout);
    const base = JSON.parse((await minicOk(["inspect", `${PM}:1`, "--json", ...S])).stdout);
    expect(img.layers[0]).toEqual(base.layers[0]);
  });

  it("save and load -t carry full references between stores; rmi takes them", async () => {
    const tar = join(t.path, "pm.tar");
    await minicOk(["save", `${PM}:1`, "-o", tar, ...S]);
    const other = join(t.path, "other");
    expect((await minicOk(["load", tar, "--store", other])).stdout.trim()).toBe(`${PM}:1 ${pmDigest}`);
    expect((await minicOk(["load", tar, "-t", "localhost:5000/copy:3", "--store", other])).stdout.trim()).toBe(`localhost:5000/copy:3 ${pmDigest}`);
    expect((await minicOk(["rmi", `${PM}:1`, "--store", other])).stdout.trim()).toBe(`untagged ${PM}:1`);
    expect(readdirSync(join(other, "refs"))).toEqual([encodeURIComponent("localhost:5000/copy")]);
  });

  it.each([
    ["uppercase", "Hello", /^minic: -t: invalid image name 'Hello' \(hint: image names are lowercase: 'hello'\)$/],
    ["uppercase after a host", `${PM.toUpperCase()}:1`, /^minic: -t: invalid image name .* \(hint: image names are lowercase: '127\.0\.0\.1:15555\/qa\/pm:1'\)$/],
    ["a bad host", "local_host:5000/x", /^minic: -t: invalid image name 'local_host:5000\/x' \(hint: 'local_host:5000' is not a registry host/],
    ["too long for the store", Array(120).fill("a").join("/"), /^minic: -t: image name 'a\/a.*' is too long .*\(hint: /],
  ])("a bad name (%s) given with -t is a one-line usage error, exit 2", async (_what, name, msg) => {
    const r = await minic(["import", join(t.path, "tree"), "-t", name, ...S]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim()).toMatch(msg);
  });
});
