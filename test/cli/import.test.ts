import { afterEach, describe, expect, it } from "vitest";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { minic, minicOk, tempDir } from "../helpers/cli.js";
import { makeBusyboxTree } from "../helpers/busybox-tree.js";

describe("minic import DIR", () => {
  const dirs: { remove(): void }[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

  it("gives the same digest in two empty stores", async () => {
    const t = tempDir();
    dirs.push(t);
    const tree = join(t.path, "tree");
    mkdirSync(tree);
    makeBusyboxTree(tree);
    const a = await minicOk(["import", tree, "-t", "bb", "--store", join(t.path, "s1")]);
    const b = await minicOk(["import", tree, "-t", "bb", "--store", join(t.path, "s2")]);
    expect(a.stdout).toMatch(/^bb:latest sha256:[0-9a-f]{64}$/);
    expect(b.stdout).toBe(a.stdout);
  });

  it("refuses a missing source with a one-line error and exit 1", async () => {
    const t = tempDir();
    dirs.push(t);
    const r = await minic(["import", join(t.path, "nope"), "-t", "x", "--store", join(t.path, "s")]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/does not exist/);
  });
});
