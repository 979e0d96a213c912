// Pure recipe normalisation, run-config merging and the cache key's explanations.
import { describe, expect, it } from "vitest";
import { canonicalStep, describeStep, mergeRunConfig, runUses } from "../../src/core/recipe-canonical.js";
import { cacheKey, explainInputs, explainMiss, inputRecords, keyParts, stepDigests, type CopyInputKey } from "../../src/core/cache-key.js";
import { digestOf } from "../../src/core/digest.js";
import { defaultRunConfig } from "../../src/core/image.js";
import { parseLimits } from "../../src/core/limits.js";
import { staticPrefix } from "../../src/builder/copy-inputs.js";
import { copy, defineRecipe, dir, file, remove, run, symlink } from "../../src/index.js";
import type { MinicError } from "../../src/core/errors.js";
import type { Step } from "../../src/core/recipe.js";
import type { Digest } from "../../src/core/digest.js";

describe("canonicalStep", () => {
  it("fills defaults and normalises paths", () => {
    expect(canonicalStep(dir("/srv//www/"), "s")).toEqual({ kind: "dir", path: "/srv/www", mode: 0o755, uid: 0, gid: 0 });
    expect(canonicalStep(file("/etc/./motd", "hi"), "s")).toEqual({ kind: "file", path: "/etc/motd", base64: "aGk=", mode: 0o644, uid: 0, gid: 0 });
    expect(canonicalStep(run("echo hi"), "s")).toEqual({ kind: "run", argv: ["/bin/sh", "-c", "echo hi"], env: [], workdir: "/" });
    expect(canonicalStep(run(["/bin/true"], { env: { B: "2", A: "1" } }), "s")).toMatchObject({ argv: ["/bin/true"], env: ["A=1", "B=2"] });
  });

  it("rejects '..', bad modes, empty copies, / replaced and unknown kinds with the step named", () => {
    expect(() => canonicalStep({ kind: "file", path: "/a/../b", content: "" }, "step 2")).toThrow(/^step 2: file path '\/a\/\.\.\/b' contains '\.\.'$/);
    expect(() => canonicalStep(dir("/a", { mode: 0o17777 }), "step 1")).toThrow(/step 1: mode 0o17777 is not a permission value/);
    // A full st_mode (file type bits too) is printed in octal, as it would be written.
    expect(() => canonicalStep(file("/a", "", { mode: 0o170644 }), "step 2")).toThrow(/^step 2: mode 0o170644 is not a permission value$/);
    expect(() => canonicalStep(copy("a", "/b", { mode: 61860 }), "step 3")).toThrow(/mode 0o170644 /);
    expect(() => canonicalStep(dir("/a", { mode: -1 }), "s")).toThrow(/mode -1 /);
    expect(() => canonicalStep(dir("/a", { mode: 1.5 }), "s")).toThrow(/mode 1\.5 /);
    expect(() => canonicalStep(dir("/a", { mode: "755" as never }), "s")).toThrow(/mode "755" /);
    expect(() => canonicalStep(copy([], "/a"), "step 1")).toThrow(/at least one source pattern/);
    expect(() => canonicalStep(copy("../x", "/a"), "step 1")).toThrow(/contains '\.\.'/);
    expect(() => canonicalStep(remove("/"), "step 1")).toThrow(/cannot remove \//);
    expect(() => canonicalStep(file("/a", { base64: "!!!" }), "step 4")).toThrow(/^step 4: file content \{ base64 \} is not base64$/);
    expect(canonicalStep(file("/a", { base64: "aGk=\n" }), "s")).toMatchObject({ base64: "aGk=\n" });
    expect(canonicalStep(file("/a", { base64: "aGk" }), "s")).toMatchObject({ base64: "aGk" });
    expect(() => canonicalStep(file("/", "x"), "step 2")).toThrow(/^step 2: a file cannot replace the image's root \/$/);
    expect(() => canonicalStep(symlink("//", "/bin"), "step 3")).toThrow(/^step 3: a symlink cannot replace the image's root \/$/);
    expect(() => canonicalStep({ kind: "bogus" } as never, "step 9")).toThrow(/step 9: unknown step kind 'bogus'/);
    expect(() => canonicalStep(symlink("/a", ""), "s")).toThrow(/symlink target/);
  });

  it("refuses a relative image path in every step kind, naming the step", () => {
    const steps: [Step, string][] = [
      [{ kind: "dir", path: "srv" }, "dir path 'srv'"],
      [{ kind: "file", path: "etc/a", content: "" }, "file path 'etc/a'"],
      [{ kind: "symlink", path: "bin/sh", target: "busybox" }, "symlink path 'bin/sh'"],
      [{ kind: "copy", from: ["a"], to: "srv/www" }, "copy destination 'srv/www'"],
      [{ kind: "remove", path: "./etc/a" }, "remove path './etc/a'"],
      [{ kind: "run", command: "true", workdir: "srv" }, "run workdir 'srv'"],
    ];
    for (const [step, what] of steps) {
      expect(() => canonicalStep(step, "recipe 'x' step 4")).toThrow(`recipe 'x' step 4: ${what} is not absolute`);
    }
    expect(() => mergeRunConfig(defaultRunConfig(), { workdir: "srv" }, () => ({}))).toThrow("config workdir 'srv' is not absolute");
  });

  it("the recipe API refuses a relative image path where the recipe writes it, with the absolute one as hint", () => {
    const refused: [() => unknown, string][] = [
      [() => dir("srv"), "dir path 'srv'"],
      [() => file("etc/a", "x"), "file path 'etc/a'"],
      [() => symlink("bin/sh", "/bin/busybox"), "symlink path 'bin/sh'"],
      [() => copy("www/**", "srv/www"), "copy destination 'srv/www'"],
      [() => remove("etc/a"), "remove path 'etc/a'"],
      [() => run("true", { workdir: "srv" }), "run workdir 'srv'"],
      [() => defineRecipe({ name: "x", config: { workdir: "srv" } }), "config workdir 'srv'"],
    ];
    for (const [make, what] of refused) {
      expect(make).toThrow(`${what} is not absolute`);
      try {
        make();
      } catch (e) {
        expect((e as MinicError).hint).toMatch(/^paths inside the image start with '\/', e\.g\. \//);
      }
    }
    expect(() => file("/a/../b", "")).toThrow("file path '/a/../b' contains '..'");
    expect(symlink("/bin/sh", "busybox")).toEqual({ kind: "symlink", path: "/bin/sh", target: "busybox" });
  });

  it("describes steps in one line", () => {
    expect(describeStep(canonicalStep(copy(["a/**", "b"], "/x"), "s"))).toBe("copy a/** b -> /x");
    expect(describeStep(canonicalStep(run("make"), "s"))).toBe("run make");
  });
});

describe("run steps over the image's config", () => {
  it("take the image's env and workdir; the step's own env (by name) and workdir win", () => {
    const image = { env: ["PATH=/bin", "FLAVOR=prod", "odd.name=kept as it is"], workdir: "/srv" };
    expect(canonicalStep(run("true"), "s", image)).toEqual({ kind: "run", argv: ["/bin/sh", "-c", "true"], env: ["FLAVOR=prod", "PATH=/bin", "odd.name=kept as it is"], workdir: "/srv" });
    expect(canonicalStep(run("true", { env: { FLAVOR: "dev", A: "1" }, workdir: "/tmp" }), "s", image)).toMatchObject({ env: ["A=1", "FLAVOR=dev", "PATH=/bin", "odd.name=kept as it is"], workdir: "/tmp" });
    expect(canonicalStep(run("true"), "s", { env: [], workdir: "" })).toMatchObject({ workdir: "/" });
  });
});

describe("run cache paths", () => {
  it("are normalised, sorted and kept once, and only in the canonical form of a step that has some (so the key of others stays)", () => {
    expect(canonicalStep(run("true", { cache: ["/root/.npm/", "/var/cache//apt", "/root/.npm"] }), "s")).toMatchObject({ cache: ["/root/.npm", "/var/cache/apt"] });
    expect(canonicalStep(run("true", { cache: [] }), "s")).toEqual(canonicalStep(run("true"), "s"));
    expect(canonicalStep(run("true", { cache: ["/a"] }), "s")).not.toEqual(canonicalStep(run("true"), "s"));
  });

  it("refuses a relative path, '..', the root and a non-list with one ERECIPE line naming the step", () => {
    const err = (cache: unknown) => {
      try {
        canonicalStep(run("true", { cache: cache as string[] }), "recipe 'a' step 2");
      } catch (e) {
        return `${(e as MinicError).code}: ${(e as MinicError).message}`;
      }
      return "no error";
    };
    expect(err(["var/cache/apt"])).toBe("ERECIPE: recipe 'a' step 2: run cache path 'var/cache/apt' is not absolute");
    expect(err(["/a/../b"])).toBe("ERECIPE: recipe 'a' step 2: run cache path '/a/../b' contains '..'");
    expect(err(["/"])).toBe("ERECIPE: recipe 'a' step 2: run cache path '/' is the image's root");
    expect(err("/var/cache")).toBe("ERECIPE: recipe 'a' step 2: run cache must be a list of paths");
    expect(err([3])).toBe("ERECIPE: recipe 'a' step 2: run cache path 3 is not a string");
  });
});

describe("runUses (what a run step uses besides its command; not in its canonical form)", () => {
  it("the host's network unless the step says none; the canonical step (the cache key's part) is the same either way", () => {
    expect(runUses(run("true"), "s")).toEqual({ network: "host", secrets: [] });
    expect(runUses(run("true", { network: "none" }), "s")).toEqual({ network: "none", secrets: [] });
    expect(canonicalStep(run("true", { network: "none" }), "s")).toEqual(canonicalStep(run("true"), "s"));
  });

  it("an unknown network is one line naming the step", () => {
    expect(() => runUses(run("true", { network: "veth" as never }), "recipe 'a' step 2")).toThrow(/^recipe 'a' step 2: run network "veth" is not one of host, none$/);
  });

  it("secret ids: sorted, once each, not in the canonical step; a bad id is one line naming the step", () => {
    expect(runUses(run("true", { secrets: ["tok", "npm.rc", "tok"] }), "s").secrets).toEqual(["npm.rc", "tok"]);
    expect(canonicalStep(run("true", { secrets: ["tok"] }), "s")).toEqual(canonicalStep(run("true"), "s"));
    expect(() => runUses(run("true", { secrets: ["../etc/passwd"] }), "recipe 'a' step 1")).toThrow(/^recipe 'a' step 1: run secret id "\.\.\/etc\/passwd" is not a name of letters/);
    expect(() => runUses(run("true", { secrets: "tok" as never }), "recipe 'a' step 1")).toThrow(/^recipe 'a' step 1: run secrets must be a list of secret ids$/);
  });
});

describe("mergeRunConfig", () => {
  it("puts the recipe's settings over the base's; env merges by key, sorted", () => {
    const base = { ...defaultRunConfig(), env: ["PATH=/bin", "A=1"], limits: { pids: 10 } };
    const out = mergeRunConfig(base, { env: { A: "2", Z: "3" }, workdir: "/srv", limits: { memory: "64M" } }, (l, b) => parseLimits(l, 2, b));
    expect(out.env).toEqual(["A=2", "PATH=/bin", "Z=3"]);
    expect(out.workdir).toBe("/srv");
    expect(out.cmd).toEqual(base.cmd);
    expect(out.limits).toEqual({ pids: 10, memoryBytes: 64 << 20 });
  });

  it("a base env entry without '=' is dropped, not mangled into a name (AWS_SECRE=AWS_SECRET) or refused", () => {
    const base = { ...defaultRunConfig(), env: ["PATH=/bin", "AWS_SECRET", "=x"] };
    expect(mergeRunConfig(base, { env: { Z: "3" } }, () => ({})).env).toEqual(["PATH=/bin", "Z=3"]);
  });

  it("a limit of max lifts the base's", () => {
    const base = { ...defaultRunConfig(), limits: { pids: 10, memoryBytes: 64 << 20, cpus: 0.5, cpuset: "0" } };
    const out = mergeRunConfig(base, { limits: { memory: "max", pids: "max", cpus: "max" } }, (l, b) => parseLimits(l, 2, b));
    expect(out.limits).toEqual({ cpuset: "0" });
    expect(Object.keys(out.limits)).toEqual(["cpuset"]);
    expect(() => parseLimits({ memory: "-1" }, 2)).toThrow(/invalid memory limit '-1'/);
  });
});

describe("cache key", () => {
  const d = (c: string) => `sha256:${c.repeat(64)}` as Digest;
  it("changes with the base, any step and the epoch", () => {
    const k = cacheKey(keyParts([d("a")], [d("1"), d("2")], 0));
    expect(cacheKey(keyParts([d("a")], [d("1"), d("2")], 0))).toBe(k);
    expect(cacheKey(keyParts([d("b")], [d("1"), d("2")], 0))).not.toBe(k);
    expect(cacheKey(keyParts([d("a")], [d("1"), d("3")], 0))).not.toBe(k);
    expect(cacheKey(keyParts([d("a")], [d("1"), d("2")], 1))).not.toBe(k);
  });

  it("explains the first difference", () => {
    const before = keyParts([d("a")], [d("1"), d("2")], 0);
    expect(explainMiss(undefined, before, () => "")).toEqual(["no earlier build of this recipe in this store"]);
    expect(explainMiss(before, keyParts([d("a")], [d("1"), d("9")], 0), (i) => `s${i}`)).toEqual(["step 2 (s1) changed"]);
    expect(explainMiss(before, keyParts([d("b")], [d("1"), d("2")], 5), () => "")).toEqual([
      "SOURCE_DATE_EPOCH changed (0 → 5)", "the base image's layers changed",
    ]);
    expect(explainMiss(before, keyParts([d("a")], [d("1"), d("2"), d("3")], 0), () => "new")).toEqual(["step 3 (new) is new"]);
  });

  it("names what changed in a copy step's inputs: content, mode (the executable bit), type, link target", () => {
    const k = (rel: string, digest: Digest, executable = false, kind: CopyInputKey["kind"] = "file"): CopyInputKey => ({ rel, digest, executable, kind });
    const before = inputRecords([k("a.txt", d("1")), k("b", d("2")), k("c", d("3")), k("gone", d("4")), k("l", d("5"), false, "symlink"), k("t", d("6"))]);
    const now = [k("a.txt", d("1"), true), k("b", d("9")), k("c", d("8"), true), k("l", d("7"), false, "symlink"), k("new", d("0"), false, "dir"), k("t", d("6"), false, "symlink")];
    expect(explainInputs(before, now)).toEqual([
      "a.txt mode changed", "b content changed", "c content and mode changed", "gone was removed", "l target changed", "new is new", "t is now a symlink",
    ]);
    expect(explainInputs(before, [...now.slice(0, 3), k("gone", d("4")), k("l", d("5"), false, "symlink"), k("t", d("6"))])).toEqual([
      "a.txt mode changed", "b content changed", "c content and mode changed",
    ]);
  });

  it("names a file that became, or stopped being, a hard link of another input", () => {
    const k = (rel: string, linkOf?: string): CopyInputKey => ({ rel, digest: d("1"), executable: false, kind: "file", ...(linkOf ? { linkOf } : {}) });
    expect(explainInputs(inputRecords([k("a"), k("b"), k("c", "a")]), [k("a"), k("b", "a"), k("c")])).toEqual(["b is now a hard link of a", "c is no longer a hard link of a"]);
    expect(explainInputs(inputRecords([k("a"), k("b", "a")]), [k("a"), k("b", "a")])).toEqual([]);
    // No link: the record (and so the cache key) is what it was before links were kept.
    expect(inputRecords([k("a")])).toEqual({ a: { kind: "file", digest: d("1"), executable: false } });
  });

  it("names a file whose carried xattrs changed; a file without any keeps the key it had before xattrs were covered", () => {
    const k = (rel: string, xattrs?: Digest): CopyInputKey => ({ rel, digest: d("1"), executable: false, kind: "file", ...(xattrs ? { xattrs } : {}) });
    expect(explainInputs(inputRecords([k("a"), k("b", d("2")), k("c", d("3"))]), [k("a", d("4")), k("b"), k("c", d("3"))])).toEqual(["a extended attributes changed", "b extended attributes changed"]);
    expect(inputRecords([k("a")])).toEqual({ a: { kind: "file", digest: d("1"), executable: false } });
    // The key of a copy step whose files have no xattrs: the same digest as before this change.
    const step = canonicalStep(copy("a", "/x"), "/r");
    expect(stepDigests([step], new Map([[0, [k("a")]]]))).toEqual([digestOf({ step, inputs: [{ rel: "a", digest: d("1"), executable: false, kind: "file" }] })]);
    expect(stepDigests([step], new Map([[0, [k("a", d("2"))]]]))).not.toEqual(stepDigests([step], new Map([[0, [k("a")]]])));
  });

  it("reads the bare digests of records written before modes were kept", () => {
    expect(explainInputs({ "a.txt": d("1"), b: d("2") }, [{ rel: "a.txt", digest: d("1"), executable: true, kind: "file" }, { rel: "b", digest: d("3"), executable: false, kind: "file" }])).toEqual(["b content changed"]);
  });
});

describe("staticPrefix (where copied files land)", () => {
  it("is the pattern's directory part before the first glob", () => {
    expect(staticPrefix("www/**", false)).toBe("www");
    expect(staticPrefix("files/*.txt", false)).toBe("files");
    expect(staticPrefix("a/b/**/c", false)).toBe("a/b");
    expect(staticPrefix("conf/app.conf", true)).toBe("conf");
    expect(staticPrefix("bin/busybox", true)).toBe("bin");
    expect(staticPrefix("*.txt", false)).toBe("");
  });
});
