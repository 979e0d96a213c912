// Scratch space under the store's tmp/: every temp file and directory there is named after the
// process that owns it (`build-PID-…`, `.blob-PID-…`, `.save-PID-…`), so that what a killed
// minic left (a half-built upper dir, a half-written blob) is found and removed by the next
// build or gc. (Run steps mount in a private mount namespace: no mount outlives them.)
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Store } from "./store.js";

/** `build-PID-…` (makeScratch) and `.PREFIX-PID-…` (store/atomic tempName). */
const OWNED_RE = /^(?:build|\.[a-z-]+)-(\d+)-/;

/** True for a temp name that carries its owner's pid. */
export function ownedTempName(name: string): boolean {
  return OWNED_RE.test(name);
}

/** True for a temp name whose owner is still running (its file is being written). */
export function liveTempName(name: string): boolean {
  const m = OWNED_RE.exec(name);
  return m !== null && alive(Number(m[1]));
}

/** A new scratch directory owned by this process. */
export function makeScratch(store: Store): Promise<string> {
  return mkdtemp(join(store.layout.tmpDir, `build-${process.pid}-`));
}

/** Removes temp files and scratch dirs whose process is gone; returns how many. */
export async function sweepScratch(store: Store): Promise<number> {
  let swept = 0;
  for (const name of await readdir(store.layout.tmpDir).catch(() => [] as string[])) {
    const m = OWNED_RE.exec(name);
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
