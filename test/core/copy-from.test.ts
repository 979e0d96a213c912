// Pure parts of copies from a stage: from() and copy() as data, the canonical step (the stage's
// diff ids and the source paths are in it, so in the cache key), its description, the name globs.
import { describe, expect, it } from "vitest";
import { canonicalStep, canonicalSteps, describeStep, type StageLookup } from "../../src/core/recipe-canonical.js";
import { stepDigests } from "../../src/core/cache-key.js";
import { partMatcher } from "../../src/rootfs/stage-tree.js";
import { copy, defineRecipe, from } from "../../src/index.js";
import type { Digest } from "../../src/core/digest.js";

const L1 = `sha256:${"1".repeat(64)}` as Digest;
const L2 = `sha256:${"2".repeat(64)}` as Digest;
const L3 = `sha256:${"3".repeat(64)}` as Digest;

const builder = defineRecipe({ name: "builder", base: "bb" });
const lookup = (layers: Digest[]): StageLookup => (stage) => (stage === builder ? { name: "builder", layers } : stage === "busybox:latest" ? { name: "busybox:latest", layers: [L1] } : undefined);

describe("copy(from(stage, path), to)", () => {
  it("is a copy-from step holding the stage and its paths", () => {
    const s = copy(from(builder, "/out/app"), "/usr/local/bin");
    expect(s).toEqual({ kind: "copy-from", from: { kind: "stage", stage: builder, paths: ["/out/app"] }, to: "/usr/local/bin" });
    expect(copy(from("busybox:latest", ["/bin/busybox", "/etc/os-release"]), "/x", { uid: 5 })).toMatchObject({ from: { paths: ["/bin/busybox", "/etc/os-release"] }, uid: 5 });
  });

  it("refuses a stage that is neither a recipe nor a name, no paths, and relative or climbing paths", () => {
    expect(() => from(undefined as never, "/a")).toThrow(/^from\(\) needs a recipe or the name of an image as its stage$/);
    expect(() => from("", "/a")).toThrow(/needs a recipe or the name of an image/);
    expect(() => from(builder, [])).toThrow(/^from\(\) needs at least one path of the stage$/);
    expect(() => from(builder, "out/app")).toThrow(/^from\(\) path 'out\/app' is not absolute$/);
    expect(() => from(builder, "/out/../etc")).toThrow(/contains '\.\.'/);
  });

  it("is canonical with the stage's name and diff ids, normalised paths, and the owner only where given", () => {
    const s = copy(from(builder, ["/out//app/", "/out/app"]), "/usr/local/bin/");
    expect(canonicalStep(s, "step 1", undefined, lookup([L1, L2]))).toEqual({ kind: "copy-from", stage: "builder", layers: [L1, L2], from: ["/out/app"], to: "/usr/local/bin" });
    expect(canonicalStep(copy(from(builder, "/a"), "/b", { mode: 0o755, gid: 0 }), "s", undefined, lookup([L1]))).toEqual({ kind: "copy-from", stage: "builder", layers: [L1], from: ["/a"], to: "/b", mode: 0o755, gid: 0 });
    expect(describeStep(canonicalStep(s, "s", undefined, lookup([L1])))).toBe("copy /out/app from stage builder -> /usr/local/bin");
    expect(() => canonicalStep(copy(from(builder, "/a"), "/b", { mode: 0o170755 }), "step 2", undefined, lookup([L1]))).toThrow(/^step 2: mode 0o170755 is not a permission value$/);
    expect(() => canonicalStep(copy(from("other:1", "/a"), "/b"), "step 3")).toThrow(/^step 3: stage image 'other:1' of the copy was not resolved$/);
  });

  it("has the stage's layers and the source paths in its cache key, not the stage recipe's text", () => {
    const recipe = defineRecipe({ name: "app", steps: [copy(from(builder, "/out/app"), "/bin")] });
    const key = (layers: Digest[], r = recipe) => stepDigests(canonicalSteps(r, undefined, lookup(layers)), new Map())[0];
    expect(key([L1, L2])).toBe(key([L1, L2]));
    expect(key([L1, L3])).not.toBe(key([L1, L2]));
    expect(key([L1, L2], defineRecipe({ name: "app", steps: [copy(from(builder, "/out/other"), "/bin")] }))).not.toBe(key([L1, L2]));
  });
});

describe("partMatcher", () => {
  it("matches * and ? within one name, as the shell does, and nothing else specially", () => {
    const so = partMatcher("*.so");
    expect(["a.so", "libc.so", ".so"].map(so)).toEqual([true, true, false]);
    expect(partMatcher("?.txt")("a.txt")).toBe(true);
    expect(partMatcher("?.txt")("ab.txt")).toBe(false);
    expect(partMatcher("*")(".hidden")).toBe(false);
    expect(partMatcher(".*")(".hidden")).toBe(true);
    expect(partMatcher("a+b(c)*")("a+b(c)x")).toBe(true);
    expect(partMatcher("a+b*")("aab")).toBe(false);
  });
});
