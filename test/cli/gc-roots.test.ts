// gc keeps both unpacked forms of a referenced layer (overlay HEX with its opaque record
// HEX.opaque, and aufs HEX.aufs) and removes all of an unreferenced one. (Live containers as roots: test/runtime/gc-live.test.ts.)
import { afterAll, describe, expect, it } from "vitest";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { minicOk, tempDir } from "../helpers/cli.js";

const t = tempDir("minic-gc-roots-");
afterAll(() => t.remove());

describe("gc and unpacked layers", () => {
  it("keeps HEX, HEX.opaque and HEX.aufs of a named image's layers, removes those of nothing", async () => {
    const store = join(t.path, "s");
    const src = join(t.path, "src");
    mkdirSync(src);
    writeFileSync(join(src, "f"), "x");
    await minicOk(["import", src, "-t", "one", "--store", store]);
    const diff = (JSON.parse((await minicOk(["inspect", "one", "--json", "--store", store])).stdout).layers[0].diffId as string).slice(7);
    const unpacked = join(store, "unpacked");
    mkdirSync(unpacked, { recursive: true });
    const orphan = "0".repeat(64);
    for (const d of [diff, `${diff}.aufs`, orphan, `${orphan}.aufs`]) mkdirSync(join(unpacked, d), { recursive: true });
    for (const d of [diff, orphan]) writeFileSync(join(unpacked, `${d}.opaque`), "[]\n");
    // A record being written (its temp file names a live process) stays; a dead writer's goes.
    writeFileSync(join(unpacked, `.tmp-${process.pid}-abcdef`), "[");
    writeFileSync(join(unpacked, ".tmp-999999999-abcdef"), "[");
    const r = JSON.parse((await minicOk(["gc", "--json", "--store", store])).stdout);
    expect(r.unpacked).toBe(4);
    expect(existsSync(join(unpacked, `.tmp-${process.pid}-abcdef`))).toBe(true);
    expect(existsSync(join(unpacked, ".tmp-999999999-abcdef"))).toBe(false);
    expect(existsSync(join(unpacked, `${diff}.opaque`))).toBe(true);
    expect(existsSync(join(unpacked, `${orphan}.opaque`))).toBe(false);
    expect(existsSync(join(unpacked, diff))).toBe(true);
    expect(existsSync(join(unpacked, `${diff}.aufs`))).toBe(true);
    expect(existsSync(join(unpacked, orphan))).toBe(false);
  });
});
