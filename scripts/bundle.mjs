// Bundles the CLI into dist/bundle/ (ESM, one chunk per command, npm packages left as imports)
// and builds the startup snapshot bin/minic starts from (dist/snapshot/). Starting from one
// file instead of ~40 modules saves ~10 ms per command; starting `minic run` from a snapshot
// with its code already evaluated saves ~20 ms more. tsc still emits dist/ (the recipe API
// "minic" and its types, and the modules tests import).
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const common = { bundle: true, platform: "node", target: "node20", logLevel: "warning" };

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

// The snapshot: one CommonJS script (what `node --build-snapshot` takes). `import.meta.url`
// (used to find npm packages) is set by the snapshot's main at run time, not frozen at build.
const snap = `${root}/dist/snapshot`;
rmSync(snap, { recursive: true, force: true });
mkdirSync(snap, { recursive: true });
await build({
  ...common,
  entryPoints: [`${root}/src/snapshot.ts`],
  outfile: `${snap}/minic.cjs`,
  format: "cjs",
  packages: "external",
  define: { "import.meta.url": "globalThis.__minicBundleUrl" },
});
writeFileSync(`${snap}/import.cjs`, "// Imports an ES module for the startup snapshot's code, which cannot import() itself.\nmodule.exports = (url) => import(url);\n");
try {
  execFileSync(process.execPath, ["--snapshot-blob", `${snap}/minic.blob`, "--build-snapshot", `${snap}/minic.cjs`], { stdio: ["ignore", "ignore", "pipe"] });
  // bin/minic uses the snapshot only with the node binary that made it (same mtime as this stamp).
  writeFileSync(`${snap}/node.stamp`, `${process.execPath} ${process.version}\n`);
  execFileSync("touch", ["-r", process.execPath, `${snap}/node.stamp`]);
} catch (e) {
  rmSync(`${snap}/minic.blob`, { force: true });
  const why = String(e.stderr ?? e.message).trim().split("\n").filter((l) => !/Warning|verified|issue tracker|trace-warnings|may still work/.test(l))[0] ?? "";
  process.stderr.write(`bundle: no startup snapshot (${why}); bin/minic works without it, each command starting ~20 ms slower\n`);
}
