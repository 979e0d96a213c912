// Pure: which copy inputs are hard links of an earlier one (the first name, in rel order, of
// each host inode carries the data).
import { describe, expect, it } from "vitest";
import { linkGroups, type CopyInput } from "../../src/builder/copy-inputs.js";

const input = (rel: string, kind: CopyInput["kind"] = "file"): CopyInput => ({ rel, hostPath: `/h/${rel}`, kind, digest: "sha256:0", executable: false, size: 0 });

describe("linkGroups", () => {
  it("points every later name of an inode at the first; other files and nodes are left alone", () => {
    const ins = ["a", "b", "d", "sub/c", "x", "y"].map((r) => input(r));
    const inode: Record<string, string> = { a: "1:10", "sub/c": "1:10", b: "1:10", x: "1:20", y: "1:20" };
    expect(linkGroups(ins, (i) => inode[i.rel]).map((i) => [i.rel, i.linkOf])).toEqual([
      ["a", undefined], ["b", "a"], ["d", undefined], ["sub/c", "a"], ["x", undefined], ["y", "x"],
    ]);
  });

  it("a single matched name of a linked host file is a plain file; directories and symlinks never link", () => {
    expect(linkGroups([input("a")], () => "1:10")[0]!.linkOf).toBeUndefined();
    expect(linkGroups([input("d", "dir"), input("l", "symlink")], () => "1:10").map((i) => i.linkOf)).toEqual([undefined, undefined]);
  });
});
