// Whether bin/minic can start Node from minic's startup snapshot (dist/snapshot/, made by
// `npm run build`): the test the launcher makes, for `minic doctor` to report.
import { statSync } from "node:fs";
import { join } from "node:path";

export type SnapshotState = "used" | "stale" | "missing" | "node-options";

/**
 * `missing` unless `dir` holds minic.blob, build.blob and their node.stamp; `stale` when the stamp's mtime is
 * not `node`'s (another binary made the blob); `node-options` when NODE_OPTIONS is set (the
 * launcher then starts without it: V8 refuses a snapshot made with other flags); else `used`.
 */
export function startupSnapshotState(dir: string, node: string, env: NodeJS.ProcessEnv = process.env): SnapshotState {
  const mtime = (p: string) => statSync(p, { bigint: true, throwIfNoEntry: false })?.mtimeNs;
  const stamp = mtime(join(dir, "node.stamp"));
  if (mtime(join(dir, "minic.blob")) === undefined || mtime(join(dir, "build.blob")) === undefined || stamp === undefined) return "missing";
  if (stamp !== mtime(node)) return "stale";
  return env.NODE_OPTIONS ? "node-options" : "used";
}
