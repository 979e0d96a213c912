// The container's command, looked up in the image before anything starts (nspawn and unshare
// would fail with their own execv message once the container is set up).
import { readlinkSync, type Stats } from "node:fs";
import { posix } from "node:path";
import { commandCandidates } from "../core/command-path.js";
import { MinicError } from "../core/errors.js";
import { mayExecute, type Runner } from "../core/exec-permission.js";
import { findCommand } from "../rootfs/find-command.js";
import type { ContainerSpec } from "./run-spec.js";
import { imageNode, type PreparedRoot } from "./storage.js";
import { providedByRuntime } from "./workdir.js";

/**
 * Throws ERUN when no candidate path of `spec.argv[0]` (itself, or each PATH directory) is an
 * executable file of the image, symlinks followed inside it (a dangling link or a loop is no
 * command): exit 127 when the image has nothing there, 126 when only what cannot be run (a
 * directory, a file without x bits, or whose x bits are not for `who`: a user other than root
 * runs a 0700 file of root's no more than a shell would), as a shell, podman and Docker end. A
 * path a bind or nspawn's own mounts provide is not checked.
 */
export async function checkCommand(root: PreparedRoot, dir: string, spec: ContainerSpec, image: string, who: Runner): Promise<void> {
  const cmd = spec.argv[0]!;
  if (cmd === "") {
    throw new MinicError("ERUN", "the command is an empty word", { hint: "give a command the image has, e.g. minic run IMAGE -- /bin/sh -c '…'", exitStatus: 127 });
  }
  const candidates = commandCandidates(cmd, spec.env, spec.workdir);
  if (candidates.some((c) => providedByRuntime(spec, c))) return;
  // Most commands are found at once: a regular executable, or a symlink to one in the same
  // layer's terms (busybox's applets, /bin/sh -> busybox).
  const executable = (st: Stats | undefined) => st !== undefined && st.isFile() && mayExecute(st, who);
  for (const c of candidates) {
    const n = imageNode(root, c.slice(1));
    if (n && executable(n.st)) return;
    if (n?.st.isSymbolicLink()) {
      const t = readlinkSync(n.path);
      const target = posix.normalize(t.startsWith("/") ? t : `${posix.dirname(c)}/${t}`);
      if (!target.split("/").includes("..") && executable(imageNode(root, target.slice(1))?.st)) return;
    }
  }
  // A symlinked directory on the way (/bin -> usr/bin): looked up through the image's links.
  const view = await (await import("./bind-targets.js")).openImageView(root, dir);
  const found = findCommand(view, candidates, who);
  if (found === "found") return;
  const where = cmd.includes("/") ? "" : ` (looked in PATH ${candidates.map((c) => c.slice(0, c.lastIndexOf("/")) || "/").join(":")})`;
  if (found === "denied") {
    throw new MinicError("ERUN", `command '${cmd}' of image '${image}' is not executable by user '${spec.user}' (uid ${who.uid}, gid ${who.gid})${where}`, {
      hint: "its mode bits do not let that user run it: run as a user they do (-u), or change its mode in the image's recipe (chmod)",
      exitStatus: 126,
    });
  }
  // Everything after IMAGE is the command's, as in podman: an option there is the command's word.
  const hint = cmd.startsWith("-")
    ? "minic's options go before the image, as in podman: minic run [OPTIONS] IMAGE [COMMAND [ARG...]]"
    : "give a command the image has, e.g. minic run IMAGE -- /bin/sh -c '…', or add it to the image's recipe";
  throw new MinicError("ERUN", `command '${cmd}' ${found === "missing" ? "is not in" : "is not an executable file in"} image '${image}'${where}`, {
    hint,
    exitStatus: found === "missing" ? 127 : 126,
  });
}
