// images, inspect, rmi and gc against a real store.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { minic, minicOk, tempDir } from "../helpers/cli.js";

const t = tempDir("minic-store-cmds-");
afterAll(() => t.remove());
const store = join(t.path, "s");
const S = ["--store", store];

beforeAll(async () => {
  for (const [name, content] of [["one", "1"], ["two", "2"]] as const) {
    const d = join(t.path, name);
    mkdirSync(d);
    writeFileSync(join(d, "f"), content);
    await minicOk(["import", d, "-t", `${name}:v1`, ...S]);
  }
});

describe("store commands", () => {
  it("images lists names, tags, layers and sizes, as a table and as JSON", async () => {
    const text = (await minicOk(["images", ...S])).stdout.split("\n");
    expect(text[0]).toMatch(/^IMAGE\s+MANIFEST\s+LAYERS\s+SIZE$/);
    expect(text.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(["one:v1", "two:v1"]);
    const json = JSON.parse((await minicOk(["images", "--json", ...S])).stdout);
    expect(json).toHaveLength(2);
    expect(json[0]).toMatchObject({ name: "one", tag: "v1", layers: 1 });
    expect(json[0].manifest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it("inspect finds an image by name, full digest and digest prefix", async () => {
    const byName = JSON.parse((await minicOk(["inspect", "one:v1", "--json", ...S])).stdout);
    const byDigest = JSON.parse((await minicOk(["inspect", byName.manifest, "--json", ...S])).stdout);
    const byPrefix = JSON.parse((await minicOk(["inspect", byName.manifest.slice(7, 19), "--json", ...S])).stdout);
    expect(byDigest.layers).toEqual(byName.layers);
    expect(byPrefix.manifest).toBe(byName.manifest);
    expect(byName.layers[0].createdBy).toBe("import");
    const text = (await minicOk(["inspect", "one:v1", ...S])).stdout;
    expect(text).toMatch(/diff id sha256:[0-9a-f]{64}/);
  });

  it("inspect by digest lists every name of the image, not (untagged)", async () => {
    const other = "uno:1";
    const one = JSON.parse((await minicOk(["inspect", "one:v1", "--json", ...S])).stdout);
    await minicOk(["import", join(t.path, "one"), "-t", other, ...S]); // same tree, same manifest
    try {
      const byDigest = JSON.parse((await minicOk(["inspect", one.manifest, "--json", ...S])).stdout);
      expect(byDigest.names).toEqual(["one:v1", other]);
      expect((await minicOk(["inspect", one.manifest, ...S])).stdout).toMatch(/^image\s+one:v1, uno:1$/m);
      // by name: the name asked for first, then the others
      expect(JSON.parse((await minicOk(["inspect", "uno:1", "--json", ...S])).stdout)).toMatchObject({ ref: "uno:1", names: ["uno:1", "one:v1"] });
    } finally {
      await minicOk(["rmi", other, ...S]);
    }
  });

  it("unknown images are a one-line error with a hint", async () => {
    const r = await minic(["inspect", "nope", ...S]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim()).toMatch(/^minic: no image 'nope:latest' .* \(hint: .*\)$/);
    expect((await minic(["rmi", "nope", ...S])).exitCode).toBe(1);
  });

  it("rmi takes the image ID images shows (or the whole digest): every name, with -f when it has several", async () => {
    const d = join(t.path, "three");
    mkdirSync(d);
    writeFileSync(join(d, "f"), "3");
    await minicOk(["import", d, "-t", "three:v1", ...S]);
    await minicOk(["import", d, "-t", "tres:v1", ...S]);
    const id = (await minicOk(["images", ...S])).stdout.split("\n").find((l) => l.startsWith("three:v1"))!.split(/\s+/)[1]!;
    expect(id).toMatch(/^[0-9a-f]{12}$/);
    const two = await minic(["rmi", id, ...S]);
    expect([two.exitCode, two.stderr.trim()]).toEqual([2, `minic: image ${id} has 2 names (three:v1, tres:v1) (hint: remove the names one by one, or all of them with 'minic rmi -f')`]);
    expect((await minicOk(["rmi", "-f", id, "three:v1", ...S])).stdout.trim().split("\n")).toEqual(["untagged three:v1", "untagged tres:v1"]);
    await minicOk(["import", d, "-t", "three:v1", ...S]);
    const full = JSON.parse((await minicOk(["inspect", "three:v1", "--json", ...S])).stdout).manifest;
    expect((await minicOk(["rmi", full, ...S])).stdout.trim()).toBe("untagged three:v1");
    const gone = await minic(["rmi", id, ...S]);
    // An ID is not a name: no ':latest' after it.
    const idHint = "(hint: see 'minic images' (an image whose names were all removed is gone; 'minic gc' frees its blobs))";
    expect([gone.exitCode, gone.stderr.trim()]).toEqual([1, `minic: no image with ID ${id} ${idHint}`]);
    const run = await minic(["inspect", id, ...S]);
    expect([run.exitCode, run.stderr.trim()]).toEqual([1, `minic: no image with ID ${id} in store ${S[1]} ${idHint}`]);
    await minicOk(["gc", ...S]); // its blobs, for the gc count below
  });

  it("an ID prefix that two images share may still be a name: rmi takes it as inspect and run do", async () => {
    const s = ["--store", join(t.path, "s-prefix")];
    await minicOk(["import", join(t.path, "one"), "-t", "abcabcabcabc", ...s]);
    const real = JSON.parse((await minicOk(["inspect", "abcabcabcabc", "--json", ...s])).stdout).manifest as string;
    // Two more names whose manifest digests both start with the name's 12 hex digits.
    for (const [name, fill] of [["p1", "1"], ["p2", "2"]]) {
      mkdirSync(join(t.path, "s-prefix", "refs", name));
      writeFileSync(join(t.path, "s-prefix", "refs", name, "latest"), real.slice(0, 7) + "abcabcabcabc" + fill.repeat(52) + "\n");
    }
    expect(JSON.parse((await minicOk(["inspect", "abcabcabcabc", "--json", ...s])).stdout).manifest).toBe(real);
    expect((await minicOk(["rmi", "abcabcabcabc", ...s])).stdout.trim()).toBe("untagged abcabcabcabc:latest");
    const ambiguous = await minic(["rmi", "abcabcabcabc", ...s]);
    expect([ambiguous.exitCode, ambiguous.stderr.trim()]).toEqual([1, "minic: 'abcabcabcabc' is the start of 2 image digests (hint: give more digits of the digest, or the image name)"]);
  });

  it("rmi drops the name; gc then frees exactly what nothing references", async () => {
    const two = JSON.parse((await minicOk(["inspect", "two:v1", "--json", ...S])).stdout);
    const one = JSON.parse((await minicOk(["inspect", "one:v1", "--json", ...S])).stdout);
    expect((await minicOk(["rmi", "two:v1", ...S])).stdout.trim()).toBe("untagged two:v1");
    expect(existsSync(join(store, "refs/two"))).toBe(false);
    expect(existsSync(join(store, "blobs/sha256", two.layers[0].digest.slice(7)))).toBe(true);
    const r = JSON.parse((await minicOk(["gc", "--json", ...S])).stdout);
    expect(r.blobs).toBe(3); // layer, config, manifest of two:v1
    const left = readdirSync(join(store, "blobs/sha256"));
    expect(left).toContain(one.layers[0].digest.slice(7));
    expect(left).toContain(one.manifest.slice(7));
    expect(left).not.toContain(two.layers[0].digest.slice(7));
    expect((await minicOk(["inspect", "one:v1", ...S])).exitCode).toBe(0);
    expect(JSON.parse((await minicOk(["gc", "--json", ...S])).stdout).blobs).toBe(0);
  });
});
