// Whether bin/minic can start Node from minic's startup snapshot (dist/snapshot/, made by
// `npm run build`): the test the launcher makes, for `minic doctor` to report, and the stamp
// scripts/snapshot.mjs writes beside the blobs for that test.
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";

export type SnapshotState = "used" | "stale" | "other-cpu" | "missing" | "node-options";

/** Where the kernel names this machine's CPU: vendor, family, model and every feature flag, on one line. */
const CPU_MODALIAS = "/sys/devices/system/cpu/modalias";

/**
 * The CPU a snapshot is made on, as bin/minic reads it (`read -r`: one line, outer blanks
 * dropped): V8 refuses a snapshot made with other CPU features (node exits 14). "" where the
 * kernel does not say (the launcher then goes by the node binary alone).
 */
export function cpuIdentity(path = CPU_MODALIAS): string {
  try {
    return readFileSync(path, "utf8").split("\n")[0]!.trim();
  } catch {
    return "";
  }
}

/** node.stamp's first line for `cpu`, the line bin/minic compares (`cpu${cpu:+ $cpu}`). */
function cpuLine(cpu: string): string {
  return cpu === "" ? "cpu" : `cpu ${cpu}`;
}

/** node.stamp's text: the CPU first, then the node that made the blobs (for whoever reads it). */
export function snapshotStamp(cpu: string, node: string, version: string): string {
  return `${cpuLine(cpu)}\n${node} ${version}\n`;
}

/**
 * `missing` unless `dir` holds minic.blob, build.blob and their node.stamp; `stale` when the
 * stamp's mtime is not `node`'s (another binary made the blob); `other-cpu` when its first line
 * names another CPU than `cpu` (an install copied from another machine); `node-options` when
 * NODE_OPTIONS is set (the launcher then starts without it: V8 refuses a snapshot made with
 * other flags); else `used`.
 */
export function startupSnapshotState(dir: string, node: string, env: NodeJS.ProcessEnv = process.env, cpu = cpuIdentity()): SnapshotState {
  const mtime = (p: string) => statSync(p, { bigint: true, throwIfNoEntry: false })?.mtimeNs;
  const stamp = mtime(join(dir, "node.stamp"));
  if (mtime(join(dir, "minic.blob")) === undefined || mtime(join(dir, "build.blob")) === undefined || stamp === undefined) return "missing";
  if (stamp !== mtime(node)) return "stale";
  const made = readFileSync(join(dir, "node.stamp"), "utf8").split("\n")[0]!.trim();
  if (made !== cpuLine(cpu)) return "other-cpu";
  return env.NODE_OPTIONS ? "node-options" : "used";
}
