// The container's command, looked up in the image before anything starts (nspawn and unshare
// would fail with their own execv message once the container is set up).
import { commandCandidates } from "../core/command-path.js";
import { MinicError } from "../core/errors.js";
import { findCommand } from "../rootfs/find-command.js";
import type { ContainerSpec } from "./run-spec.js";
import { imageNode, type PreparedRoot } from "./storage.js";
import { providedByRuntime } from "./workdir.js";

/**
 * Throws ERUN when no candidate path of `spec.argv[0]` (itself, or each PATH directory) is an
 * executable file of the image. A path a bind or nspawn's own mounts provide is not checked.
 */
export async function checkCommand(root: PreparedRoot, dir: string, spec: ContainerSpec, image: string): Promise<void> {
  const cmd = spec.argv[0]!;
  const candidates = commandCandidates(cmd, spec.env, spec.workdir);
  if (candidates.some((c) => providedByRuntime(spec, c))) return;
  // Most commands are found at once: a regular executable or a symlink (busybox's applets).
  for (const c of candidates) {
    const n = imageNode(root, c.slice(1));
    if (n && (n.st.isSymbolicLink() || (n.st.isFile() && (n.st.mode & 0o111) !== 0))) return;
  }
  // A symlinked directory on the way (/bin -> usr/bin): looked up through the image's links.
  const view = await (await import("./bind-targets.js")).openImageView(root, dir);
  const found = findCommand(view, candidates);
  if (found === "found") return;
  const where = cmd.includes("/") ? "" : ` (looked in PATH ${candidates.map((c) => c.slice(0, c.lastIndexOf("/")) || "/").join(":")})`;
  throw new MinicError("ERUN", `command '${cmd}' ${found === "missing" ? "is not in" : "is not an executable file in"} image '${image}'${where}`, {
    hint: "give a command the image has, e.g. minic run IMAGE -- /bin/sh -c '…', or add it to the image's recipe",
  });
}
