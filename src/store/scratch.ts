// Scratch directories of builds under the store's tmp/, named after the process that owns
// them, so that what a killed minic left (a half-built upper dir) is found and removed by the
// next build or gc. (Run steps mount in a private mount namespace: no mount outlives them.)
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Store } from "./store.js";

const SCRATCH_RE = /^build-(\d+)-/;

/** A new scratch directory owned by this process. */
export function makeScratch(store: Store): Promise<string> {
  return mkdtemp(join(store.layout.tmpDir, `build-${process.pid}-`));
}

/** Removes scratch dirs whose process is gone. */
export async function sweepScratch(store: Store): Promise<number> {
  let swept = 0;
  for (const name of await readdir(store.layout.tmpDir).catch(() => [] as string[])) {
    const m = SCRATCH_RE.exec(name);
    if (!m || alive(Number(m[1]))) continue;
    await rm(join(store.layout.tmpDir, name), { recursive: true, force: true });
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
