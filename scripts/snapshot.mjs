// Builds the startup snapshots bin/minic starts commands from: dist/snapshot/minic.blob (run, ps,
// rm, prune) and build.blob (build) from minic.cjs and build.cjs (written by
// scripts/bundle.mjs), for the node running this script, plus node.stamp, whose mtime is that
// node binary's and whose first line names this machine's CPU (bin/minic uses a blob only with
// the node whose mtime matches, on that CPU: a snapshot loads only into the Node build and the
// CPU features that wrote it). Run by `npm run build` in a checkout and by npm when
// the package is installed (postinstall): npm resets every packed file's mtime, so a packed
// stamp could never match; none is packed.
// Never fails the install: without a snapshot bin/minic runs bin/minic.js, ~20 ms slower.
import { execFileSync } from "node:child_process";
import { existsSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const snap = fileURLToPath(new URL("../dist/snapshot/", import.meta.url));
const NAMES = ["minic", "build"];
const stamp = `${snap}node.stamp`;
// The stamp goes first: bin/minic needs it with a blob, so a half-made snapshot is never used.
rmSync(stamp, { force: true });
for (const n of NAMES) rmSync(`${snap}${n}.blob`, { force: true });
// Nothing to make them from: a checkout before its first `npm run build` (npm ci runs this too).
if (!NAMES.every((n) => existsSync(`${snap}${n}.cjs`))) process.exit(0);
const made = [];
try {
  for (const n of NAMES) {
    const tmp = `${snap}${n}.blob.tmp-${process.pid}`;
    made.push(tmp);
    // Without NODE_OPTIONS: V8 loads a snapshot only with the flags that made it, and bin/minic
    // starts it without any.
    execFileSync(process.execPath, ["--snapshot-blob", tmp, "--build-snapshot", `${snap}${n}.cjs`], {
      cwd: snap, stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, NODE_OPTIONS: "" },
    });
  }
  for (const n of NAMES) renameSync(`${snap}${n}.blob.tmp-${process.pid}`, `${snap}${n}.blob`);
  // The CPU goes in it too (bin/minic compares it): the one place that says how is dist's own.
  const { cpuIdentity, snapshotStamp } = await import("../dist/util/startup-snapshot.js");
  writeFileSync(`${stamp}.tmp`, snapshotStamp(cpuIdentity(), process.execPath, process.version));
  const { atime, mtime } = statSync(process.execPath);
  utimesSync(`${stamp}.tmp`, atime, mtime);
  renameSync(`${stamp}.tmp`, stamp);
} catch (e) {
  for (const t of made) rmSync(t, { force: true });
  for (const n of NAMES) rmSync(`${snap}${n}.blob`, { force: true });
  rmSync(`${stamp}.tmp`, { force: true });
  const why = String(e.stderr ?? e.message).trim().split("\n").filter((l) => !/Warning|verified|issue tracker|trace-warnings|may still work/.test(l))[0] ?? "";
  process.stderr.write(`minic: no startup snapshot (${why}); bin/minic works without it, each command starting ~20 ms slower\n`);
}
