// Bundles the CLI into dist/bundle/ (ESM, one chunk per command, npm packages left as imports)
// and the startup snapshot's source (dist/snapshot/), then has scripts/snapshot.mjs make the
// snapshot bin/minic starts run, build, ps, rm and prune from.
// Starting from one file instead of ~40 modules saves ~10 ms per command (and the recipe API's
// own bundle, dist/recipe-api.js, ~9 ms of every build's worker); starting `minic run`
// from a snapshot with its code already evaluated saves ~10 ms more. tsc still emits dist/ (the
// recipe API "minic" and its types, and the modules tests import).
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const common = { bundle: true, platform: "node", target: "node20", logLevel: "warning" };
const snap = `${root}/dist/snapshot`;
/** The snapshots made (scripts/snapshot.mjs makes dist/snapshot/NAME.blob of each NAME.cjs). */
const SNAPSHOTS = ["minic", "build"];

// The old snapshot goes first: it must never outlive the bundle it was made with.
rmSync(snap, { recursive: true, force: true });
rmSync(`${root}/dist/bundle`, { recursive: true, force: true });
await build({
  ...common,
  entryPoints: [`${root}/src/entry.ts`],
  outdir: `${root}/dist/bundle`,
  splitting: true,
  format: "esm",
  packages: "external",
  sourcemap: "linked",
});

// The recipe API as one file, which a recipe's worker imports as "minic" (builder/load-recipe.ts):
// ~5 ms instead of ~14 ms for dist/index.js and its modules, on every build's path. Beside
// dist/index.js, so that "minic/recipes/NAME.ts" resolves from either alike; dist/index.js stays
// the package's export (and its types).
await build({
  ...common,
  entryPoints: [`${root}/src/index.ts`],
  outfile: `${root}/dist/recipe-api.js`,
  format: "esm",
  packages: "external",
});

// The snapshots' sources: one CommonJS script each (what `node --build-snapshot` takes), written in a
// temp dir and renamed into place whole; scripts/snapshot.mjs then makes the blobs from them (also
// at install time, for the node binary of the machine it is installed on).
// `import.meta.url` (used to find npm packages) is set by the snapshot's main at run time.
const tmp = `${snap}.tmp-${process.pid}`;
rmSync(tmp, { recursive: true, force: true });
mkdirSync(tmp, { recursive: true });
await build({
  ...common,
  entryPoints: { minic: `${root}/src/snapshot.ts`, build: `${root}/src/snapshot-build.ts` },
  outdir: tmp,
  outExtension: { ".js": ".cjs" },
  format: "cjs",
  packages: "external",
  define: { "import.meta.url": "globalThis.__minicBundleUrl" },
});
// Code in a snapshot cannot import() (Node gives it no dynamic-import hook), and what is left of
// import() in a snapshot's bundle are npm packages loaded on first use (esbuild, fast-glob, ora:
// the build path's). Each goes through the importer the snapshot's main sets (import.cjs, a
// module Node loads at run time), resolved from dist/snapshot/ as from dist/bundle/.
for (const name of SNAPSHOTS) {
  const file = `${tmp}/${name}.cjs`;
  const routed = readFileSync(file, "utf8").replace(/\bimport\(("[^"./][^"]*")\)/g, "globalThis.__minicImport($1)");
  const left = /\bimport\([^)]/.exec(routed.replace(/^\s*(\/\/|\*).*$/gm, ""));
  if (left) throw new Error(`scripts/bundle.mjs: ${name}.cjs still calls import() (${routed.slice(left.index, left.index + 60)}): route it through globalThis.__minicImport`);
  writeFileSync(file, routed);
}
writeFileSync(`${tmp}/import.cjs`, "// Imports an ES module for the startup snapshot's code, which cannot import() itself.\nmodule.exports = (url) => import(url);\n");
renameSync(tmp, snap);
execFileSync(process.execPath, [`${root}/scripts/snapshot.mjs`], { stdio: "inherit" });
