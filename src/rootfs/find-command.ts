// Whether a command can be started from an image: the first of its candidate paths (see
// commandCandidates) that is an executable file, symlinks followed inside the image.
import type { RootfsView } from "./rootfs-view.js";

/** What the image holds for a command: an executable, only non-executable nodes, or nothing. */
export type CommandLookup = "found" | "not-executable" | "missing";

/** Looks `candidates` (absolute in-image paths) up in `view`, in order. */
export function findCommand(view: Pick<RootfsView, "resolve" | "visible">, candidates: readonly string[]): CommandLookup {
  let seen = false;
  for (const c of candidates) {
    let v;
    try {
      v = view.visible(view.resolve(c, true));
    } catch {
      continue; // a symlink loop: execvp finds nothing there either
    }
    if (!v) continue;
    if (v.st.isFile() && (v.st.mode & 0o111) !== 0) return "found";
    seen = true;
  }
  return seen ? "not-executable" : "missing";
}
