// Which directories of an unpacked overlay layer are opaque (trusted.overlay.opaque=y: they hide
// what the layers below have there). Kept beside the layer's directory as `<dir>.opaque`, a JSON
// list of relative names ("" for the layer's root), written when the layer is unpacked, so that
// reading the image as a container sees it (runtime/storage.ts imageNode) reads no xattrs: Node
// has no getxattr, and getfattr is a program to run.
import { existsSync, readFileSync } from "node:fs";
import { writeFileAtomic } from "./atomic.js";

export const OPAQUE_RECORD_SUFFIX = ".opaque";

/** The opaque directories recorded for `layerDir`, or undefined when it has no record. */
export function readOpaqueRecord(layerDir: string): Set<string> | undefined {
  let text: string;
  try {
    text = readFileSync(layerDir + OPAQUE_RECORD_SUFFIX, "utf8");
  } catch {
    return undefined;
  }
  return new Set(JSON.parse(text) as string[]);
}

/** Records `dirs` as the opaque directories of `layerDir` (atomically). */
export async function writeOpaqueRecord(layerDir: string, dirs: Iterable<string>): Promise<void> {
  await writeFileAtomic(layerDir + OPAQUE_RECORD_SUFFIX, JSON.stringify([...new Set(dirs)].sort()) + "\n");
}

/** Makes the record of a layer unpacked before records existed, from its xattrs (getfattr). */
export async function ensureOpaqueRecord(layerDir: string): Promise<void> {
  if (existsSync(layerDir + OPAQUE_RECORD_SUFFIX)) return;
  const { opaqueDirs } = await import("../archive/walk-tree.js");
  await writeOpaqueRecord(layerDir, await opaqueDirs(layerDir, { root: true }));
}
