// Resolves bind destinations inside the image root before the container starts: a symlink of
// the image (/d1 -> /tmp/x) is followed inside the root, never on the host, and the wrapper
// mounts on the real path it resolved to.
import { mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { RootfsView } from "../rootfs/rootfs-view.js";
import { MinicError } from "../core/errors.js";
import type { Bind } from "./runtime-argv.js";
import type { RuntimeName } from "./run-spec.js";
import type { PreparedRoot } from "./storage.js";
import { NSPAWN_MOUNTS } from "./workdir.js";

/** Pure: nspawn's own mount a bind onto `target` would be or go into: one of them itself, or anything under /proc and /sys (chroot mounts none). */
export function systemMount(target: string): string | undefined {
  return NSPAWN_MOUNTS.find((m) => target === m || ((m === "/proc" || m === "/sys") && target.startsWith(`${m}/`)));
}

/** What resolving needs of the image's merged view (RootfsView, or a stand-in in tests). */
export type ImageView = Pick<RootfsView, "resolve" | "visible">;

/**
 * Returns `b` with its target replaced by the real in-image path it resolves to (every symlink,
 * the last one too, followed inside the root). Throws EPATH when the target is the root, when a
 * component on the way exists and is not a directory, or when an existing target is a directory
 * and the source a file (or the reverse). Does not touch the disk beyond `view`'s reads.
 */
export function resolveBindTarget(view: ImageView, b: Bind, runtime: RuntimeName = "nspawn"): Bind {
  const rel = view.resolve(b.target, true);
  if (rel === "") throw new MinicError("EPATH", `bind target ${b.target} is the container's root`, { hint: "bind onto a directory below /, e.g. /mnt/data" });
  const system = runtime === "nspawn" ? systemMount(`/${rel}`) : undefined;
  if (system) {
    // nspawn mounts its own file system there after the bind, inside the bound host directory:
    // the host's directory would get the container's /sys, /dev or /run mount points written into it.
    throw new MinicError("EPATH", system === `/${rel}` ? `bind target ${b.target} is where the runtime mounts its own ${system}` : `bind target ${b.target} is inside ${system}, which the runtime mounts itself`, {
      hint: "bind onto a directory of your own, e.g. /mnt/data (a file or device below /dev or /run, such as /dev/fuse, can be bound)",
    });
  }
  const parts = rel.split("/");
  for (let j = 0; j < parts.length; j++) {
    const prefix = parts.slice(0, j + 1).join("/");
    const v = view.visible(prefix);
    if (!v) break; // the rest does not exist yet: the wrapper creates it as real directories
    const isDir = v.st.isDirectory();
    if (j < parts.length - 1 && !isDir) {
      throw new MinicError("EPATH", `bind target ${b.target}: /${prefix} in the image is not a directory`, { hint: "bind onto a path whose parents are directories" });
    }
    if (j === parts.length - 1 && isDir !== b.dir) {
      throw new MinicError("EPATH", `bind target ${b.target} is ${isDir ? "a directory" : "not a directory"} in the image but ${b.source} is ${b.dir ? "a directory" : "a file"}`, {
        hint: "bind a directory onto a directory and a file onto a file (or onto a path that does not exist)",
      });
    }
  }
  return { ...b, target: `/${rel}` };
}

/**
 * Resolves every bind target over the container's image (see resolveBindTarget and
 * openImageView). Only called when there are binds: opening the view reads every layer's
 * opaque markers.
 *
 * aufs layers keep whiteouts as `.wh.` files, which the view does not read: a path deleted by
 * an upper layer may still resolve through the deleted node, but always inside the root.
 */
export async function resolveBinds(root: PreparedRoot, dir: string, binds: readonly Bind[], runtime: RuntimeName): Promise<Bind[]> {
  if (binds.length === 0) return [];
  const view = await openImageView(root, dir);
  return binds.map((b) => resolveBindTarget(view, b, runtime));
}

/**
 * A RootfsView of the container's image before it starts: its layers (top first) under the
 * still-empty upper dir, or for the copy driver the flattened tree under an empty dir made in
 * `dir`. Overlay layers' opaque directories come from the store's records (prepareRoot read
 * them), the upper dir being empty; otherwise opening it reads every layer's opaque markers
 * (one getfattr per layer, ~0.2 s for a 7,000-entry Debian tree).
 */
export async function openImageView(root: PreparedRoot, dir: string): Promise<RootfsView> {
  let upper = root.upper;
  if (!upper) {
    upper = join(dir, "view-upper");
    mkdirSync(upper, { recursive: true, mode: 0o755 });
  }
  const lowers = root.layerDirs.length > 0 ? [...root.layerDirs].reverse() : [root.rootfs];
  const records = root.opaqueDirs;
  if (records && root.layerDirs.length > 0 && readdirSync(upper).length === 0) {
    return RootfsView.open(upper, lowers, { opaque: [new Set<string>(), ...lowers.map((l) => records(l))] });
  }
  return RootfsView.open(upper, lowers);
}
