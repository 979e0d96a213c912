// Storage drivers: give a container a root filesystem made of the image's layers.
// overlay and aufs stack the layers unpacked once in the store (read-only to every container)
// under a fresh upper dir; copy flattens them into a private directory and works anywhere.
import { existsSync, lstatSync, mkdirSync, readFileSync, type Stats } from "node:fs";
import { join } from "node:path";
import { MinicError } from "../core/errors.js";
import type { LayerDescriptor } from "../core/image.js";
import type { Store } from "../store/store.js";
import { OPAQUE_MARKER } from "../archive/entry.js";
import { ensureOpaqueRecord, readOpaqueRecord } from "../store/opaque-record.js";
import { unpackedProblem } from "../store/unpacked-seal.js";
import { aufsStack, makeLinkFarm, overlayStack, type StackMount } from "./stack-options.js";
import type { StorageDriver } from "./run-spec.js";

/** The container's root and, for stacking drivers, the mount that makes it. */
export interface PreparedRoot {
  rootfs: string;
  stack?: StackMount;
  /** Layer dirs, base first (stacking drivers). */
  layerDirs: string[];
  /** The opaque directories of a layer dir (overlay: its record; aufs layers keep `.wh..wh..opq` files). */
  opaqueDirs?: (layerDir: string) => Set<string>;
  /** The container's upper dir, empty until it starts (stacking drivers). */
  upper?: string;
}

/** Where a layer's aufs form (`.wh.` files kept as they are) lives in the store. */
export function aufsLayerDir(store: Store, layer: LayerDescriptor): string {
  return `${store.layout.unpacked(layer.diffId)}.aufs`;
}

/**
 * Prepares `dir` (the container's directory, existing) for `driver`. Layers that load, pull,
 * import or build did not unpack (an older store, a gc'd unpacked dir, the aufs form) are
 * unpacked into the store on first use (verified against their digests, side by side) and
 * reused afterwards while they match their seal (a changed one is unpacked again, and `note` is
 * told); only then are the archive modules loaded, so a run of an unpacked image stays cheap.
 */
export async function prepareRoot(store: Store, layers: readonly LayerDescriptor[], driver: StorageDriver, dir: string, note?: (line: string) => void): Promise<PreparedRoot> {
  if (driver === "copy") {
    const rootfs = join(dir, "rootfs");
    mkdirSync(rootfs, { mode: 0o755 });
    await (await import("../store/layers.js")).flattenLayers(store, layers, rootfs);
    return { rootfs, layerDirs: [] };
  }
  const want = (l: LayerDescriptor) => (driver === "overlay" ? store.layout.unpacked(l.diffId) : aufsLayerDir(store, l));
  // Checked against its seal before every use: a changed tree is unpacked again. From inside
  // each tree (see unpackedProblem): nothing else of minic run is under way meanwhile.
  const missing = layers.filter((l) => !(existsSync(want(l)) && unpackedProblem(want(l), { fromInside: true }) === undefined));
  if (missing.length > 0) {
    const { trustedOptions, unpackedLayers } = await import("../store/layers.js");
    const opts = trustedOptions(driver === "overlay" ? "overlay" : "keep");
    await unpackedLayers(store, missing, (l) => ({ opts, dest: want(l) }), note);
  }
  const layerDirs = layers.map(want);
  // Each layer's opaque dirs (a small read per layer); a layer unpacked before records existed,
  // or whose record is damaged, gets one now (once, with getfattr).
  const records = new Map<string, Set<string>>();
  if (driver === "overlay") {
    for (const l of layerDirs) records.set(l, readOpaqueRecord(l) ?? (await ensureOpaqueRecord(l)));
  }
  const d = { dir, upper: join(dir, "upper"), work: join(dir, "work") };
  const rootfs = join(dir, "merged");
  for (const p of [d.upper, d.work, rootfs]) mkdirSync(p, { mode: 0o755 });
  const stack = driver === "overlay" ? overlayStack(layerDirs, d) : aufsStack(layerDirs, d);
  makeLinkFarm(dir, stack.links);
  const opaqueDirs = driver === "overlay" ? (l: string) => records.get(l) ?? new Set<string>() : undefined;
  return { rootfs, stack, layerDirs, upper: d.upper, opaqueDirs };
}

/**
 * The node at `rel` (no leading `/`) as the container will see it: looked up layer by layer, top
 * first, without following any symlink on the host. A whiteout (overlay 0/0 device or aufs
 * `.wh.` file) hides what lies below; so does a parent that is a file or a symlink in a layer
 * (a symlinked parent is not resolved: undefined), and a parent that is an opaque directory in
 * a layer (the layers below do not show through it). Undefined when absent.
 */
export function imageNode(root: PreparedRoot, rel: string): { path: string; st: Stats } | undefined {
  const dirs = root.layerDirs.length > 0 ? [...root.layerDirs].reverse() : [root.rootfs];
  const parts = rel.split("/").filter(Boolean);
  const opaque = (d: string, dir: string) => Boolean(root.opaqueDirs?.(d).has(dir)) || existsSync(join(d, dir, OPAQUE_MARKER));
  for (const d of dirs) {
    let hidesBelow = false; // a layer's root is never opaque: overlayfs merges the roots
    for (let j = 0; j < parts.length; j++) {
      const parent = parts.slice(0, j).join("/");
      if (existsSync(join(d, parent, `.wh.${parts[j]}`))) return undefined;
      const path = join(d, parent, parts[j]!);
      const st = lstatSync(path, { throwIfNoEntry: false });
      if (!st) break; // not in this layer: look in the one below, unless a parent here is opaque
      if (st.isCharacterDevice() && st.rdev === 0) return undefined;
      if (j === parts.length - 1) return { path, st };
      if (!st.isDirectory()) return undefined;
      if (opaque(d, parent ? `${parent}/${parts[j]}` : parts[j]!)) hidesBelow = true;
    }
    if (hidesBelow) return undefined;
  }
  return undefined;
}

/**
 * Reads a regular file of the image as the container will see it (see imageNode). Used to
 * resolve user names and to look for getent. Undefined when absent or not a regular file.
 */
export function readImageFile(root: PreparedRoot, rel: string): string | undefined {
  const n = imageNode(root, rel);
  return n?.st.isFile() ? readFileSync(n.path, "utf8") : undefined;
}

/**
 * systemd-nspawn refuses a tree without /usr ("doesn't look like it has an OS tree"). Throws
 * ERUN saying what to add to the recipe, before anything starts.
 */
export function checkOsTree(root: PreparedRoot, image: string): void {
  const usr = imageNode(root, "usr");
  if (usr && (usr.st.isDirectory() || usr.st.isSymbolicLink())) return;
  throw new MinicError("ERUN", `image '${image}' has no /usr, and systemd-nspawn refuses a tree without one`, {
    hint: 'add dir("/usr") (and a file("/etc/os-release", …)) to its recipe, or run it with --runtime chroot',
  });
}
