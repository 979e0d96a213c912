// Which directories of an unpacked overlay layer are opaque (trusted.overlay.opaque=y: they hide
// what the layers below have there). Kept beside the layer's directory as `<dir>.opaque`, a JSON
// list of relative names, written when the layer is unpacked, so that
// reading the image as a container sees it (runtime/storage.ts imageNode) reads no xattrs: Node
// has no getxattr, and getfattr is a program to run.
import { readFileSync } from "node:fs";
import { shapedOrUndefined } from "../core/json-shape.js";
import { OPAQUE_RECORD_SHAPE } from "../core/record-shapes.js";
import { writeFileAtomic } from "./atomic.js";

export const OPAQUE_RECORD_SUFFIX = ".opaque";

/** The opaque directories recorded for `layerDir`, or undefined when it has no (readable) record. */
export function readOpaqueRecord(layerDir: string): Set<string> | undefined {
  try {
    const list = shapedOrUndefined(OPAQUE_RECORD_SHAPE, JSON.parse(readFileSync(layerDir + OPAQUE_RECORD_SUFFIX, "utf8")));
    return list === undefined ? undefined : new Set(list);
  } catch {
    return undefined;
  }
}

/** Records `dirs` as the opaque directories of `layerDir` (atomically). */
export async function writeOpaqueRecord(layerDir: string, dirs: Iterable<string>): Promise<void> {
  await writeFileAtomic(layerDir + OPAQUE_RECORD_SUFFIX, JSON.stringify([...new Set(dirs)].sort()) + "\n");
}

/**
 * The record of `layerDir`, made first when it has none (unpacked before records existed) or a
 * damaged one, from its xattrs (getfattr, from the attr package).
 */
export async function ensureOpaqueRecord(layerDir: string): Promise<Set<string>> {
  const known = readOpaqueRecord(layerDir);
  if (known) return known;
  const { opaqueDirs } = await import("../archive/walk-tree.js");
  const dirs = await opaqueDirs(layerDir);
  await writeOpaqueRecord(layerDir, dirs);
  return dirs;
}
