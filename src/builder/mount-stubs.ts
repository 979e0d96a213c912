// Mount points a run step's binds need and its image lacks. nspawn creates them (and missing
// parents) in the build's upper dir before it mounts over them, and those stubs would enter the
// layer. They are noted before the step and removed after it, as BuildKit's mount stub cleaner
// does, through the build's view so that overlayfs semantics hold: a stub over a base file an
// earlier step deleted becomes its whiteout again, and a base directory copied up only to hold
// a stub goes back to being the base's.
import { lstatSync, readdirSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import type { RootfsView } from "../rootfs/rootfs-view.js";

/** A bind target the image did not have, and what of its parents nspawn creates or copies up. */
export interface MountStub {
  /** The target, a real path in the image (as resolveBindTarget gives it) without the leading `/`. */
  rel: string;
  /** The bind is of a directory (nspawn makes an empty directory there, else an empty file). */
  dir: boolean;
  /** Parent directories that did not exist (nspawn makes them), shallowest first. */
  missing: string[];
  /** Parent directories only the base had (making the stub copies them up), shallowest first, with their metadata. */
  copiedUp: { rel: string; mode: number; uid: number; gid: number }[];
}

/** Pure over the view's reads: the stubs nspawn will create for these binds (targets real absolute paths). */
export function noteMountStubs(view: Pick<RootfsView, "visible">, binds: readonly { target: string; dir: boolean }[]): MountStub[] {
  const out: MountStub[] = [];
  for (const { target, dir } of binds) {
    const rel = target.replace(/^\/+/, "");
    if (rel === "" || view.visible(rel)) continue;
    const parts = rel.split("/");
    const stub: MountStub = { rel, dir, missing: [], copiedUp: [] };
    for (let j = 1; j < parts.length; j++) {
      const prefix = parts.slice(0, j).join("/");
      const v = stub.missing.length > 0 ? null : view.visible(prefix);
      if (!v) stub.missing.push(prefix);
      else if (v.layer !== 0) stub.copiedUp.push({ rel: prefix, mode: v.st.mode & 0o7777, uid: v.st.uid, gid: v.st.gid });
    }
    out.push(stub);
  }
  return out;
}

/**
 * After the step (its mounts gone, the view's upper re-read): removes from the upper dir what
 * nspawn made for `stubs`, and only that: an empty regular file (or directory) at the target, empty missing
 * parents, and copied-up parents that are empty, not opaque and as the base had them (a step
 * that wrote into them or changed their mode keeps them). Reads the upper dir as it is now, so
 * a stub nspawn put on one of its own mounts (under /run) is simply not found.
 */
export async function removeMountStubs(view: RootfsView, stubs: readonly MountStub[]): Promise<void> {
  let removed = false;
  const upperStat = (rel: string) => lstatSync(join(view.upper, rel), { throwIfNoEntry: false });
  const emptyDir = (rel: string) => upperStat(rel)?.isDirectory() === true && readdirSync(join(view.upper, rel)).length === 0;
  for (const s of stubs) {
    const st = upperStat(s.rel);
    if (s.dir ? emptyDir(s.rel) : st?.isFile() && st.size === 0) {
      await view.remove(s.rel); // a whiteout again where the base has the path
      removed = true;
    }
    for (const rel of [...s.missing].reverse()) {
      if (!emptyDir(rel)) break;
      await view.remove(rel);
      removed = true;
    }
    for (const d of [...s.copiedUp].reverse()) {
      const u = upperStat(d.rel);
      if (!u || !emptyDir(d.rel) || view.opaqueInUpper(d.rel) || (u.mode & 0o7777) !== d.mode || u.uid !== d.uid || u.gid !== d.gid) break;
      rmdirSync(join(view.upper, d.rel));
      removed = true;
    }
  }
  if (removed) await view.refreshUpper();
}
