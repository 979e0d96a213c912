// The container's working directory, checked in the image before anything starts (nspawn and
// unshare would fail with their own message once the container is set up). It is not made when
// missing, as podman does: minic's images come from recipes, where dir() makes it, and a
// mistyped -w should not quietly run the command in a new empty directory.
import { MinicError } from "../core/errors.js";
import type { ContainerSpec } from "./run-spec.js";
import { imageNode, type PreparedRoot } from "./storage.js";

/** Directories nspawn mounts its own file systems on (its /run, /dev, /proc, /sys). */
export const NSPAWN_MOUNTS = ["/run", "/dev", "/proc", "/sys"];

/** Whether in-image path `p` lies in a directory bind or under one of nspawn's own mounts (the runtime provides it, not the image). */
export function providedByRuntime(spec: ContainerSpec, p: string): boolean {
  const under = (d: string) => p === d || p.startsWith(`${d}/`);
  return spec.binds.some((b) => under(b.target) && (b.dir || p === b.target)) || (spec.runtime === "nspawn" && NSPAWN_MOUNTS.some(under));
}

/**
 * Throws EPATH when `spec.workdir` is not a directory of the image as the container will see it:
 * symlinks on the way are followed inside the image. Directories a directory bind provides, and
 * those under nspawn's own mounts, are the runtime's to make: they are not checked.
 */
export async function checkWorkdir(root: PreparedRoot, dir: string, spec: ContainerSpec, image: string): Promise<void> {
  const wd = spec.workdir;
  if (wd === "/" || providedByRuntime(spec, wd)) return;
  if (imageNode(root, wd.slice(1))?.st.isDirectory()) return;
  // A symlink on the way (/lib -> usr/lib): resolved inside the image, as the container does.
  const view = await (await import("./bind-targets.js")).openImageView(root, dir);
  const node = view.visible(view.resolve(wd, true));
  if (node?.st.isDirectory()) return;
  throw new MinicError("EPATH", `workdir ${wd} ${node ? "is not a directory" : "does not exist"} in image '${image}'`, {
    hint: node ? "give -w a directory of the image" : `give -w a directory of the image, or make it in the recipe: dir("${wd}")`,
  });
}
