// Builds the startup snapshot bin/minic starts run, build, ps, rm and prune from: dist/snapshot/minic.blob
// from dist/snapshot/minic.cjs (written by scripts/bundle.mjs), for the node running this script,
// plus node.stamp, whose mtime is that node binary's (bin/minic uses the blob only with the node
// whose mtime matches: a snapshot loads only into the Node build that wrote it). Run by
// `npm run build` in a checkout and by npm when the package is installed (postinstall): npm
// resets every packed file's mtime, so a packed stamp could never match; none is packed.
// Never fails the install: without a snapshot bin/minic runs bin/minic.js, ~20 ms slower.
import { execFileSync } from "node:child_process";
import { existsSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const snap = fileURLToPath(new URL("../dist/snapshot/", import.meta.url));
const blob = `${snap}minic.blob`;
const stamp = `${snap}node.stamp`;
// The stamp goes first: bin/minic needs both, so a half-made snapshot is never used.
rmSync(stamp, { force: true });
rmSync(blob, { force: true });
// Nothing to make it from: a checkout before its first `npm run build` (npm ci runs this too).
if (!existsSync(`${snap}minic.cjs`)) process.exit(0);
const tmp = `${blob}.tmp-${process.pid}`;
try {
  // Without NODE_OPTIONS: V8 loads a snapshot only with the flags that made it, and bin/minic
  // starts it without any.
  execFileSync(process.execPath, ["--snapshot-blob", tmp, "--build-snapshot", `${snap}minic.cjs`], {
    cwd: snap, stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, NODE_OPTIONS: "" },
  });
  renameSync(tmp, blob);
  writeFileSync(`${stamp}.tmp`, `${process.execPath} ${process.version}\n`);
  const { atime, mtime } = statSync(process.execPath);
  utimesSync(`${stamp}.tmp`, atime, mtime);
  renameSync(`${stamp}.tmp`, stamp);
} catch (e) {
  rmSync(tmp, { force: true });
  rmSync(`${stamp}.tmp`, { force: true });
  const why = String(e.stderr ?? e.message).trim().split("\n").filter((l) => !/Warning|verified|issue tracker|trace-warnings|may still work/.test(l))[0] ?? "";
  process.stderr.write(`minic: no startup snapshot (${why}); bin/minic works without it, each command starting ~20 ms slower\n`);
}
