// Releases what a container holds on the host (processes, cgroups, netns, veths, its
// directory), from its state record. Used after every run and for containers whose minic died.
import { readFileSync } from "node:fs";
import { MinicError } from "../core/errors.js";
import { removeTreeSync } from "../util/remove-tree.js";
import { killCgroups, removeCgroups } from "./cgroups.js";
import { teardownNetwork } from "./network.js";
import { stopScope } from "./systemd-scope.js";
import { listContainers, processStart, supervisorAlive, type ContainerState } from "./state.js";

/** Pure: mount points at or below `dir` in mountinfo text. */
export function mountsUnder(mountinfo: string, dir: string): string[] {
  const out: string[] = [];
  for (const line of mountinfo.split("\n")) {
    const mp = line.split(" ")[4];
    if (!mp) continue;
    const p = mp.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (p === dir || p.startsWith(dir + "/")) out.push(p);
  }
  return out;
}

/** Removes a container's directory, refusing when anything is still mounted inside it. */
export function removeContainerDir(dir: string): void {
  const left = mountsUnder(readFileSync("/proc/self/mountinfo", "utf8"), dir);
  if (left.length > 0) {
    throw new MinicError("EBUSY", `${left[0]} is still mounted; not removing ${dir}`, { hint: `umount it (umount -R ${left[0]}), then run 'minic prune'` });
  }
  removeTreeSync(dir);
}

function killUnlessGone(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw e;
  }
}

/**
 * Kills whatever is left of the container and releases its host objects, then its directory.
 * Idempotent; objects already gone are skipped. Errors are collected and the first rethrown
 * after every step was tried.
 */
export async function releaseContainer(dir: string, s: Partial<ContainerState>): Promise<void> {
  const errors: unknown[] = [];
  const step = async (f: () => unknown) => {
    try {
      await f();
    } catch (e) {
      errors.push(e);
    }
  };
  const cgroups = s.cgroups ?? [];
  await step(() => killCgroups(cgroups));
  // nspawn may exit between the check and the kill: ESRCH then means the work is done.
  if (s.pid && s.pidStart && processStart(s.pid) === s.pidStart) await step(() => killUnlessGone(s.pid!));
  await step(() => removeCgroups(cgroups));
  if (s.scope) await step(() => stopScope(s.scope!));
  if (s.netns || (s.veths ?? []).length > 0) await step(() => teardownNetwork({ netns: s.netns, hostVeth: s.veths?.[0], mode: s.net }));
  await step(() => removeContainerDir(dir));
  if (errors.length > 0) throw errors[0];
}

/** A container found stale and removed, for the caller's report. */
export interface SweptContainer {
  id: string;
  name: string;
  minicPid?: number;
  /** It was a build's run step. */
  build?: { recipe: string; step: number };
}

/**
 * Finds containers whose minic is gone (killed, crashed) and releases them. Directories without
 * a state file are left alone for a minute (a run may be creating them). Returns what it removed.
 */
export async function sweepStale(containersDir: string, now = Date.now()): Promise<SweptContainer[]> {
  const out: SweptContainer[] = [];
  for (const c of listContainers(containersDir)) {
    if (c.state ? supervisorAlive(c.state) : now - c.mtimeMs < 60_000) continue;
    await releaseContainer(c.dir, c.state ?? {});
    out.push({ id: c.id, name: c.state?.name ?? c.id, minicPid: c.state?.minicPid, ...(c.state?.build ? { build: c.state.build } : {}) });
  }
  return out;
}
