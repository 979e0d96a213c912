// Whether a command can be started from an image: the first of its candidate paths (see
// commandCandidates) that is an executable file, symlinks followed inside the image.
import { mayExecute, type Runner } from "../core/exec-permission.js";
import type { RootfsView } from "./rootfs-view.js";

/**
 * What the image holds for a command: an executable (for `who`), only files whose x bits are
 * another user's, only non-executable nodes, or nothing.
 */
export type CommandLookup = "found" | "denied" | "not-executable" | "missing";

/** Looks `candidates` (absolute in-image paths) up in `view`, in order; with `who`, an executable must be theirs to run. */
export function findCommand(view: Pick<RootfsView, "resolve" | "visible">, candidates: readonly string[], who?: Runner): CommandLookup {
  let seen = false;
  let denied = false;
  for (const c of candidates) {
    let v;
    try {
      v = view.visible(view.resolve(c, true));
    } catch {
      continue; // a symlink loop: execvp finds nothing there either
    }
    if (!v) continue;
    if (v.st.isFile() && (v.st.mode & 0o111) !== 0) {
      if (!who || mayExecute(v.st, who)) return "found";
      denied = true;
    }
    seen = true;
  }
  return denied ? "denied" : seen ? "not-executable" : "missing";
}
