// Bundles the CLI into dist/bundle/ (ESM, one chunk per command, npm packages left as imports)
// and builds the startup snapshot bin/minic starts run, ps, rm and prune from (dist/snapshot/).
// Starting from one file instead of ~40 modules saves ~10 ms per command; starting `minic run`
// from a snapshot with its code already evaluated saves ~10 ms more. tsc still emits dist/ (the
// recipe API "minic" and its types, and the modules tests import).
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const common = { bundle: true, platform: "node", target: "node20", logLevel: "warning" };
const snap = `${root}/dist/snapshot`;

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

// The snapshot: one CommonJS script (what `node --build-snapshot` takes), made in a temp dir
// and renamed into place whole, so that bin/minic never sees a half-written blob.
// `import.meta.url` (used to find npm packages) is set by the snapshot's main at run time.
const tmp = `${snap}.tmp-${process.pid}`;
rmSync(tmp, { recursive: true, force: true });
mkdirSync(tmp, { recursive: true });
await build({
  ...common,
  entryPoints: [`${root}/src/snapshot.ts`],
  outfile: `${tmp}/minic.cjs`,
  format: "cjs",
  packages: "external",
  define: { "import.meta.url": "globalThis.__minicBundleUrl" },
});
writeFileSync(`${tmp}/import.cjs`, "// Imports an ES module for the startup snapshot's code, which cannot import() itself.\nmodule.exports = (url) => import(url);\n");
try {
  // Without NODE_OPTIONS: V8 loads a snapshot only with the flags that made it, and bin/minic
  // starts it without any.
  execFileSync(process.execPath, ["--snapshot-blob", `${tmp}/minic.blob`, "--build-snapshot", `${tmp}/minic.cjs`], {
    stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, NODE_OPTIONS: "" },
  });
  // bin/minic uses the snapshot only with the node binary that made it (same mtime as this stamp).
  writeFileSync(`${tmp}/node.stamp`, `${process.execPath} ${process.version}\n`);
  execFileSync("touch", ["-r", process.execPath, `${tmp}/node.stamp`]);
  renameSync(tmp, snap);
} catch (e) {
  rmSync(tmp, { recursive: true, force: true });
  const why = String(e.stderr ?? e.message).trim().split("\n").filter((l) => !/Warning|verified|issue tracker|trace-warnings|may still work/.test(l))[0] ?? "";
  process.stderr.write(`bundle: no startup snapshot (${why}); bin/minic works without it, each command starting ~20 ms slower\n`);
}
