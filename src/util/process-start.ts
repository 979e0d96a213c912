// Who a process is over time: its pid and its start time, so that a pid the kernel has given to
// a new process is not taken for the one that had it (container states, store leases).
import { readFileSync } from "node:fs";

/** Pure: the start time (field 22, clock ticks since boot) from /proc/PID/stat text. */
export function startTimeFromStat(stat: string): string {
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return rest[19] ?? "";
}

/** Start time of a process, or undefined when it does not exist. */
export function processStart(pid: number): string | undefined {
  try {
    return startTimeFromStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return undefined;
  }
}
