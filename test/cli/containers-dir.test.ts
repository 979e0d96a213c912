// The store's containers/ directory is walked by every run, ps, rm and prune (to remove what a
// killed minic left): a symlink there is not a container, and removing a stale container never
// follows a symlink out of the store.
import { afterAll, describe, expect, it } from "vitest";
import { existsSync, mkdirSync, readdirSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { removeTreeSync } from "../../src/util/remove-tree.js";
import { minicOk, tempDir } from "../helpers/cli.js";

const t = tempDir("minic-containers-dir-");
afterAll(() => t.remove());

function sentinel(name: string): string {
  const d = join(t.path, name);
  mkdirSync(d);
  writeFileSync(join(d, "precious"), "keep me\n");
  return d;
}

describe("containers/ and its symlinks", () => {
  it("removeTreeSync removes links, never what they point to", () => {
    const outside = sentinel("outside-1");
    const link = join(t.path, "link");
    symlinkSync(outside, link);
    removeTreeSync(link);
    expect(existsSync(link)).toBe(false);
    const tree = join(t.path, "tree");
    mkdirSync(join(tree, "sub"), { recursive: true });
    symlinkSync(outside, join(tree, "sub", "to-outside"));
    removeTreeSync(tree);
    expect(existsSync(tree)).toBe(false);
    expect(readdirSync(outside)).toEqual(["precious"]);
  });

  it("ps removes a stale container dir but leaves a planted symlink and its target alone", async () => {
    const store = join(t.path, "store");
    const containers = join(store, "containers");
    mkdirSync(containers, { recursive: true });
    const outside = sentinel("outside-2");
    symlinkSync(outside, join(containers, "0123456789ab"));
    const stale = join(containers, "ba9876543210"); // no state, older than a minute: a dead run's
    mkdirSync(join(stale, "upper"), { recursive: true });
    const old = new Date(Date.now() - 3_600_000);
    for (const d of [stale, outside]) utimesSync(d, old, old); // the link's target looks stale too
    await minicOk(["ps", "--store", store]);
    expect(readdirSync(containers)).toEqual(["0123456789ab"]);
    expect(readdirSync(outside)).toEqual(["precious"]);
  });
});
