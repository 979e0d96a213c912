// A tree that changes between the walk and the pack cannot slip a host file into a layer.
import { afterEach, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { treeData, walkTree } from "../../src/archive/walk-tree.js";
import { putLayer } from "../../src/store/layers.js";
import { Store } from "../../src/store/store.js";
import { tempDir } from "../helpers/cli.js";

let t: { path: string; remove(): void };
afterEach(() => t?.remove());

async function setup() {
  t = tempDir("minic-swap-");
  const tree = join(t.path, "tree");
  mkdirSync(tree);
  writeFileSync(join(tree, "a"), "public!"); // 7 bytes, as the secret below
  const secret = join(t.path, "secret");
  writeFileSync(secret, "SECRET!");
  const store = await Store.open(join(t.path, "store"));
  const walked = await walkTree(tree);
  return { tree, secret, store, items: walked.map((w) => ({ entry: w.entry, data: treeData(w) })) };
}

describe("packing a tree that changed after the walk", () => {
  it("refuses a file swapped for a symlink to a host file of the same size", async () => {
    const { tree, secret, store, items } = await setup();
    rmSync(join(tree, "a"));
    symlinkSync(secret, join(tree, "a"));
    await expect(putLayer(store, items, 0)).rejects.toThrow(/'a' changed size while it was being packed|changed/);
  });

  it("refuses a file swapped for another file (a hard link to the host file)", async () => {
    const { tree, secret, store, items } = await setup();
    writeFileSync(join(tree, "b"), "x");
    renameSync(secret, join(tree, "b"));
    rmSync(join(tree, "a"));
    renameSync(join(tree, "b"), join(tree, "a"));
    await expect(putLayer(store, items, 0)).rejects.toThrow(/changed/);
  });

  it("does not hang on a file swapped for a fifo", async () => {
    const { tree, store, items } = await setup();
    rmSync(join(tree, "a"));
    execFileSync("mkfifo", [join(tree, "a")]);
    await expect(putLayer(store, items, 0)).rejects.toThrow(/changed/);
  });
});
