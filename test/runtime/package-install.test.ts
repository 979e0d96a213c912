// The npm package, as a new user gets it: `npm pack` of this checkout, installed globally into a
// temporary prefix and as a project's dependency, then used from directories outside the
// checkout: a recipe stacked on the busybox recipe the package ships is type-checked (with
// only the runtime dependencies installed), built and run; the startup snapshot is made at
// install time for this machine's node; the store is the machine's, whatever the directory.
// Regressions: the tarball had no dist/ ("the CLI is not built"), the type-check needed the
// devDependency @types/node (exit 70), and the packed snapshot stamp never matched.
import { execa } from "execa";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, tempDir } from "../helpers/cli.js";
import { runtimeSuite } from "./fixtures.js";

runtimeSuite(async () => {});

const RECIPE = `import { defineRecipe, file, run } from "minic";
import busybox from "minic/recipes/busybox.ts";

export default defineRecipe({
  name: "pkgapp",
  base: busybox,
  steps: [file("/etc/greeting", "hello from the package\\n"), run("tr a-z A-Z < /etc/greeting > /etc/shout")],
  config: { cmd: ["/bin/cat", "/etc/shout"] },
});
`;

const npmOpts = { reject: false, encoding: "utf8", stdin: "ignore", env: { ...process.env, npm_config_update_notifier: "false" } } as const;

describe("the npm package", () => {
  it("installs globally and as a dependency; builds and runs a recipe on its busybox base from outside the checkout", async () => {
    const t = tempDir("minic-pkg-");
    try {
      // dist/ is built (the suite's global setup); --ignore-scripts: prepack would rebuild it under running tests.
      const pack = await execa("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", t.path], { ...npmOpts, cwd: ROOT });
      expect(pack.stderr).not.toMatch(/ERR!/);
      const tgz = join(t.path, (JSON.parse(pack.stdout) as { filename: string }[])[0]!.filename);
      const files = (JSON.parse(pack.stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
      expect(files).toEqual(expect.arrayContaining(["bin/minic", "bin/minic.js", "dist/bundle/entry.js", "dist/index.js", "dist/index.d.ts", "dist/recipe-api.js", "dist/snapshot/minic.cjs", "dist/snapshot/build.cjs", "recipes/busybox.ts", "scripts/snapshot.mjs"]));
      expect(files.filter((f) => /node\.stamp|minic\.blob|^test\/|^src\//.test(f))).toEqual([]);

      const prefix = join(t.path, "prefix");
      const install = await execa("npm", ["install", "-g", "--prefix", prefix, "--prefer-offline", "--no-audit", "--no-fund", tgz], npmOpts);
      expect(install.exitCode, install.stderr).toBe(0);
      const minic = join(prefix, "bin", "minic");
      const app = join(t.path, "app");
      mkdirSync(app);
      writeFileSync(join(app, "app.ts"), RECIPE);
      const store = join(t.path, "store");
      const use = (args: string[], cwd: string, env: NodeJS.ProcessEnv = { MINIC_STORE: store }) =>
        execa(minic, args, { reject: false, encoding: "utf8", stdin: "ignore", cwd, env: { ...process.env, ...env } });

      // Without --store or MINIC_STORE: the machine's store, from any directory (and info makes none).
      const env = { MINIC_STORE: "" };
      const infos = await Promise.all([app, t.path].map(async (cwd) => JSON.parse((await use(["info", "--json"], cwd, env)).stdout) as { store: { root: string; source: string }; snapshot: string; install: { kind: string } }));
      for (const info of infos) expect(info).toMatchObject({ store: { root: "/var/lib/minic", source: "machine" }, snapshot: "used", install: { kind: "package" } });

      const b = await use(["build", "app.ts"], app);
      expect(b.stderr).not.toMatch(/exit 70|Cannot find module|not built|TS\d+/);
      expect(b.exitCode, b.stderr).toBe(0);
      const r = await use(["run", "pkgapp"], t.path);
      expect(r.stderr).toBe("");
      expect(r.stdout.trim()).toBe("HELLO FROM THE PACKAGE");

      // A type error is reported against the package's API, with the recipe's file:line:col.
      writeFileSync(join(app, "bad.ts"), RECIPE.replace('file("/etc/greeting", "hello from the package\\n")', "file(42)"));
      const bad = await use(["build", "bad.ts"], app);
      expect(bad.exitCode).toBe(1);
      expect(bad.stderr).toMatch(/^minic: bad\.ts:7:\d+: error TS\d+: /);

      // As a project's dependency: npx minic, the same recipe, the same store.
      const proj = join(t.path, "proj");
      mkdirSync(proj);
      writeFileSync(join(proj, "package.json"), JSON.stringify({ name: "proj", private: true, type: "module" }));
      writeFileSync(join(proj, "app.ts"), RECIPE.replace('"pkgapp"', '"projapp"'));
      const dep = await execa("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", tgz], { ...npmOpts, cwd: proj });
      expect(dep.exitCode, dep.stderr).toBe(0);
      const nb = await execa("npx", ["minic", "build", "app.ts"], { reject: false, encoding: "utf8", stdin: "ignore", cwd: proj, env: { ...process.env, MINIC_STORE: store } });
      expect(nb.exitCode, nb.stderr).toBe(0);
      const nr = await execa("npx", ["minic", "run", "projapp"], { reject: false, encoding: "utf8", stdin: "ignore", cwd: proj, env: { ...process.env, MINIC_STORE: store } });
      expect(nr.stdout.trim()).toBe("HELLO FROM THE PACKAGE");
      expect(existsSync(join(proj, "layers"))).toBe(false);
      expect(readdirSync(app).sort()).toEqual(["app.ts", "bad.ts"]);
    } finally {
      t.remove();
    }
  }, 300_000);
});
