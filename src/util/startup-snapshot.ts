// Whether bin/minic can start Node from minic's startup snapshot (dist/snapshot/, made by
// `npm run build`): the test the launcher makes, for `minic doctor` to report.
import { statSync } from "node:fs";
import { join } from "node:path";

export type SnapshotState = "used" | "stale" | "missing";

/**
 * `used` when `dir` holds minic.blob and a node.stamp with the same mtime as `node` (the binary
 * that made the blob), `stale` when the stamp is another binary's, `missing` otherwise.
 */
export function startupSnapshotState(dir: string, node: string): SnapshotState {
  const mtime = (p: string) => statSync(p, { bigint: true, throwIfNoEntry: false })?.mtimeNs;
  if (mtime(join(dir, "minic.blob")) === undefined) return "missing";
  const stamp = mtime(join(dir, "node.stamp"));
  return stamp !== undefined && stamp === mtime(node) ? "used" : "stale";
}
