// Scratch directories of builds under the store's tmp/, named after the process that owns
// them, so that what a killed minic left (a mounted overlay, a half-built upper dir) is found
// and removed by the next build or gc.
import { readFileSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { run } from "../util/exec.js";
import type { Store } from "./store.js";

const SCRATCH_RE = /^build-(\d+)-/;

/** A new scratch directory owned by this process. */
export function makeScratch(store: Store): Promise<string> {
  return mkdtemp(join(store.layout.tmpDir, `build-${process.pid}-`));
}

/** Removes scratch dirs whose process is gone, unmounting anything still mounted inside them. */
export async function sweepScratch(store: Store): Promise<number> {
  let swept = 0;
  for (const name of await readdir(store.layout.tmpDir).catch(() => [] as string[])) {
    const m = SCRATCH_RE.exec(name);
    if (!m || alive(Number(m[1]))) continue;
    const dir = join(store.layout.tmpDir, name);
    const mounts = readFileSync("/proc/mounts", "utf8").split("\n").map((l) => l.split(" ")[1] ?? "").filter((p) => p.startsWith(dir + "/"));
    for (const p of mounts.sort().reverse()) await run(["umount", "-l", p.replace(/\\040/g, " ")]).catch(() => {});
    await rm(dir, { recursive: true, force: true });
    swept++;
  }
  return swept;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
