// bzip2 of a buffer with the system tool (for archives the tests build in memory).
import { execFileSync } from "node:child_process";

export function bzip2Sync(data: Buffer): Buffer {
  return execFileSync("bzip2", ["-9", "-c"], { input: data, maxBuffer: 1 << 30 });
}
