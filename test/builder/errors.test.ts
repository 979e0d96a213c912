// Bad recipes get a one-line error naming the file (and line), exit 1, and leave the store as it was.
import { afterAll, describe, expect, it } from "vitest";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { minic, tempDir } from "../helpers/cli.js";

const t = tempDir("minic-errors-");
afterAll(() => t.remove());

function storeFiles(store: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else out.push(join(d, e.name).slice(store.length));
    }
  };
  walk(store);
  return out.sort();
}

/**
 * What must not change: blobs, refs, build cache records. Left out: unpacked layers and
 * cache/recipes (type-stripped recipe sources by content hash), both derived caches.
 */
function storeContent(f: string): boolean {
  return !f.startsWith("/unpacked/") && !f.startsWith("/tmp/") && !f.startsWith("/cache/recipes/");
}

const BUSYBOX = new URL("../../recipes/busybox.ts", import.meta.url).pathname;

const cases: [string, string, RegExp][] = [
  ["syntax", `import { defineRecipe } from "minic";\nexport default defineRecipe({ name: "x", steps: [ });\n`, /syntax\.ts:2:\d+: error TS\d+/],
  ["type", `import { defineRecipe, file } from "minic";\nexport default defineRecipe({ name: "x", steps: [file("/a", 42)] });\n`, /type\.ts:2:\d+: error TS2345: Argument of type 'number'/],
  ["missing-copy", `import { copy, defineRecipe } from "minic";\nexport default defineRecipe({ name: "x", steps: [copy("nothere/**", "/a")] });\n`, /copy source 'nothere\/\*\*' matches no files/],
  ["unknown-base", `import { defineRecipe, file } from "minic";\nexport default defineRecipe({ name: "x", base: "nosuch:1", steps: [file("/a", "b")] });\n`, /base image 'nosuch:1' is not in the store/],
  ["bad-name", `import { defineRecipe, file } from "minic";\nexport default defineRecipe({ name: "Bad Name", steps: [file("/a", "b")] });\n`, /invalid image name 'Bad Name'/],
  ["dotdot", `import { defineRecipe, file } from "minic";\nexport default defineRecipe({ name: "x", steps: [file("/a/../../etc/passwd", "b")] });\n`, /contains '\.\.'/],
  ["relative-path", `import { defineRecipe, file } from "minic";\nexport default defineRecipe({ name: "x", steps: [file("etc/a", "b")] });\n`,
    /: relative-path\.ts:2:50: file path 'etc\/a' is not absolute \(hint: paths inside the image start with '\/', e\.g\. \/etc\/a\)$/],
  ["link-loop", `import { defineRecipe, file, symlink } from "minic";\nexport default defineRecipe({ name: "x", steps: [symlink("/l", "/l"), file("/l/x", "y")] });\n`,
    /: recipe 'x' step 2 \(file \/l\/x\): too many levels of symbolic links resolving \/l\/x \(hint: a symlink of the image points back into itself/],
  ["file-in-the-way", `import { defineRecipe, dir, file } from "minic";\nexport default defineRecipe({ name: "x", steps: [file("/a", "x"), dir("/a/b")] });\n`,
    /: recipe 'x' step 2 \(dir \/a\/b\): cannot create \/a: \/a exists and is not a directory \(hint: /],
  ["copy-dotdot", `import { copy, defineRecipe } from "minic";\nexport default defineRecipe({ name: "x", steps: [copy("../secret", "/a")] });\n`, /copy source '\.\.\/secret' contains '\.\.'/],
  ["bad-mode", `import { defineRecipe, file } from "minic";\nexport default defineRecipe({ name: "x", steps: [file("/a", "b", { mode: 0o170644 })] });\n`, /step 1: mode 0o170644 is not a permission value/],
  ["no-default", `import { defineRecipe } from "minic";\nexport const r = defineRecipe({ name: "x" });\n`, /the default export is not a recipe/],
  ["throws", `import { defineRecipe } from "minic";\nthrow new Error("boom");\n`, /: throws\.ts:2:7: failed to load: boom \(hint/],
  ["undefined-prop", `import { defineRecipe } from "minic";\nconst cfg: { x?: string } = {};\nconst name = (cfg.x as string).toUpperCase();\nexport default defineRecipe({ name });\n`,
    /: undefined-prop\.ts:3:32: failed to load: Cannot read properties of undefined \(reading 'toUpperCase'\)/],
  ["empty-name", `import { defineRecipe } from "minic";\nexport default defineRecipe({ name: "" });\n`, /: empty-name\.ts:2:16: defineRecipe needs a non-empty name \(hint: defineRecipe\(\{ name: "hello", \.\.\. \}\)\)$/],
  ["run-on-scratch", `import { defineRecipe, run } from "minic";\nexport default defineRecipe({ name: "x", steps: [run("true")] });\n`, /step 1: run steps need a \/usr directory/],
  ["run-workdir", `import { defineRecipe, run } from "minic";\nimport bb from ${JSON.stringify(BUSYBOX)};\nexport default defineRecipe({ name: "x", base: bb, steps: [run("pwd", { workdir: "/srv/app" })] });\n`,
    /step 1: run workdir \/srv\/app does not exist in the image \(hint: make it in an earlier step: dir\("\/srv\/app"\)\)$/],
  ["run-no-command", `import { defineRecipe, run } from "minic";\nimport bb from ${JSON.stringify(BUSYBOX)};\nexport default defineRecipe({ name: "x", base: bb, steps: [run(["bash", "-c", "true"])] });\n`,
    /step 1: command 'bash' is not in the image \(hint: copy or install it in an earlier step \(or in the base\), or give its path in the image\)$/],
  // What the types allow through an `any` (or a JavaScript value) is the recipe's error at its line, never an exit 0 that stores a damaged image, nor exit 70.
  ["config-null", `import { defineRecipe } from "minic";\nconst cfg: any = JSON.parse('{"cmd": ["/bin/sh", null]}');\nexport default defineRecipe({ name: "x", config: cfg });\n`,
    /: config-null\.ts:3:16: recipe 'x' config is malformed: cmd\[1\] is null, not a string \(hint: config takes cmd and entrypoint/],
  ["config-string-cmd", `import { defineRecipe } from "minic";\nconst cfg: any = { cmd: "echo hi", labels: { a: 5 } };\nexport default defineRecipe({ name: "x", config: cfg });\n`, /recipe 'x' config is malformed: cmd is the string "echo hi", not an array/],
  ["config-hostname", `import { defineRecipe } from "minic";\nexport default defineRecipe({ name: "x", config: { hostname: "web_1" } });\n`, /: config-hostname\.ts:2:16: recipe 'x' config: invalid hostname 'web_1' \(hint: use letters, digits and '-'/],
  ["config-env-name", `import { defineRecipe } from "minic";\nexport default defineRecipe({ name: "x", config: { env: { "1BAD": "v" } } });\n`,
    /: config-env-name\.ts:2:16: recipe 'x' config: invalid environment variable name '1BAD' \(hint: a name is letters, digits and '_', not starting with a digit\)$/],
  ["run-env-name", `import { defineRecipe, run } from "minic";\nexport default defineRecipe({ name: "x", steps: [run("true", { env: { "A B": "v" } })] });\n`,
    /: run-env-name\.ts:2:16: recipe 'x' step 1: invalid environment variable name 'A B' \(hint: /],
  ["config-limits", `import { defineRecipe } from "minic";\nexport default defineRecipe({ name: "x", config: { limits: { memory: "64Q" } } });\n`,
    /: config-limits\.ts:2:16: recipe 'x' config: limits: invalid memory limit '64Q' \(hint: use a size like 64M/],
  ["undefined-step", `import { defineRecipe, file } from "minic";\nconst steps: any[] = [file("/a", "x"), process.env.NOPE_NOT_SET ? file("/b", "y") : undefined];\nexport default defineRecipe({ name: "x", steps });\n`,
    /: undefined-step\.ts:3:16: recipe 'x' step 2 is undefined, not a step \(hint: /],
  ["base-number", `import { defineRecipe } from "minic";\nconst base: any = 5;\nexport default defineRecipe({ name: "x", base });\n`, /recipe 'x': base is the number 5, not a recipe, debian\(\{\.\.\.\}\) or an image name/],
  ["big-file", `import { defineRecipe, file } from "minic";\nexport default defineRecipe({ name: "x", steps: [file("/big", "x".repeat(20_000_000))] });\n`,
    /: big-file\.ts:2:50: file \/big: file content of 20000000 bytes is more than a recipe holds \(16 MiB\) \(hint: put it in a file beside the recipe and copy\(\) it\)$/],
  ["failing-run", `import { defineRecipe, run } from "minic";\nimport bb from ${JSON.stringify(BUSYBOX)};\nexport default defineRecipe({ name: "x", base: bb, steps: [run("exit 3")] });\n`, /step 1: command exited with status 3/],
];

describe("bad recipes", () => {
  for (const [name, source, message] of cases) {
    it(`${name}: one line, exit 1, store unchanged`, async () => {
      const dir = join(t.path, name);
      mkdirSync(dir);
      writeFileSync(join(dir, `${name}.ts`), source);
      const store = join(t.path, `store-${name}`);
      // A store that already holds something, to prove nothing is added or lost.
      const seed = await minic(["import", dir, "-t", "seed", "--store", store]);
      expect(seed.exitCode).toBe(0);
      // A base recipe that builds fine is kept (as podman keeps cached steps); build it first.
      if (["failing-run", "run-workdir", "run-no-command"].includes(name)) expect((await minic(["build", BUSYBOX, "--store", store])).exitCode).toBe(0);
      const before = storeFiles(store).filter(storeContent);
      const r = await minic(["build", join(dir, `${name}.ts`), "--store", store], { cwd: dir });
      expect(r.exitCode).toBe(1);
      expect(r.stderr.trim().split("\n").at(-1)).toMatch(message);
      expect(r.stderr).toMatch(/\(hint: /);
      const lines = r.stderr.trim().split("\n").filter((l) => l.startsWith("minic:"));
      expect(lines).toHaveLength(1);
      const after = storeFiles(store).filter(storeContent);
      expect(after).toEqual(before);
    });
  }

  it("what an imported base recipe throws names the base's file:line:col, relative to the working directory", async () => {
    const dir = join(t.path, "base-throws");
    mkdirSync(join(dir, "sub"), { recursive: true });
    writeFileSync(join(dir, "sub/base.ts"), `import { defineRecipe } from "minic";\nfunction pick(xs: string[]): string {\n  return xs[3]!.trim();\n}\nexport default defineRecipe({ name: pick(["a"]) });\n`);
    writeFileSync(join(dir, "top.ts"), `import { defineRecipe } from "minic";\nimport base from "./sub/base.ts";\nexport default defineRecipe({ name: "top", base });\n`);
    const r = await minic(["build", "base-throws/top.ts", "--store", join(t.path, "s-base-throws")], { cwd: t.path });
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim()).toBe("minic: base-throws/sub/base.ts:3:17: failed to load: Cannot read properties of undefined (reading 'trim') (hint: fix the recipe and build again)");
  });

  it("recipes importing each other in a circle: the cycle is named, with or without type annotations (tsc's TS7022 without)", async () => {
    for (const typed of [false, true]) {
      const dir = join(t.path, `cycle-${typed}`);
      mkdirSync(dir);
      const src = (name: string, other: string) => typed
        ? `import { defineRecipe, type Recipe } from "minic";\nimport o from "./${other}.ts";\nconst r: Recipe = defineRecipe({ name: "${name}", base: o });\nexport default r;\n`
        : `import { defineRecipe } from "minic";\nimport o from "./${other}.ts";\nexport default defineRecipe({ name: "${name}", base: o });\n`;
      writeFileSync(join(dir, "a.ts"), src("a", "b"));
      writeFileSync(join(dir, "b.ts"), src("b", "a"));
      const r = await minic(["build", join(dir, "a.ts"), "--store", join(t.path, `s-cycle-${typed}`)], { cwd: dir });
      expect(r.exitCode).toBe(1);
      const [a, b] = [join(dir, "a.ts"), join(dir, "b.ts")];
      expect(r.stderr.trim()).toBe(`minic: ${a}: import cycle (${a} -> ${b} -> ${a}) (hint: recipes may not import each other in a circle)`);
    }
  });

  it("a missing recipe file", async () => {
    const r = await minic(["build", join(t.path, "nope.ts"), "--store", join(t.path, "s-nope")]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/recipe '.*nope\.ts' does not exist/);
  });

  it("a directory given as the recipe: said so, with the recipes it holds", async () => {
    const dir = join(t.path, "a-dir");
    mkdirSync(join(dir, "empty"), { recursive: true });
    writeFileSync(join(dir, "web.ts"), "");
    writeFileSync(join(dir, "base.ts"), "");
    writeFileSync(join(dir, "notes.txt"), "");
    const store = join(t.path, "s-dir");
    const r = await minic(["build", "a-dir/", "--store", store], { cwd: t.path });
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim()).toBe("minic: recipe 'a-dir/' is a directory, not a recipe file (hint: give one of its recipe files, e.g. minic build a-dir/base.ts; it holds base.ts, web.ts)");
    const e = await minic(["build", "empty", "--store", store], { cwd: dir });
    expect(e.stderr.trim()).toBe("minic: recipe 'empty' is a directory, not a recipe file (hint: give the path of a .ts recipe file, e.g. recipes/hello.ts)");
  });

  it("an unknown option is a usage error (exit 2)", async () => {
    const r = await minic(["build", "--frobnicate"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/unknown option '--frobnicate' \(hint: usage: minic build/);
  });
});
