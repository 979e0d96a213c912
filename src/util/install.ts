// Where minic's own files are and what kind of install they are: a git checkout (development,
// the demo) or an installed npm package.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The root of minic's files, without a trailing slash (this module is in src/util/, dist/util/ or dist/bundle/). */
export function installRoot(): string {
  return fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "");
}

/** The install root when it is a git checkout (has .git), else undefined: an installed package has none. */
export function checkoutRoot(root = installRoot()): string | undefined {
  return existsSync(join(root, ".git")) ? root : undefined;
}

/** minic's version, from its package.json. */
export function minicVersion(root = installRoot()): string {
  try {
    return String((JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version?: unknown }).version ?? "unknown");
  } catch {
    return "unknown";
  }
}
