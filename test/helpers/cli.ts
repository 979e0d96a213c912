// Runs the real minic CLI as a child process: bin/minic, the launcher users run (it starts Node
// from the startup snapshot for run/build/ps/rm/prune, from the ESM bundle for the rest).
import { execa, type Options } from "execa";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** The plain Node entry (`node bin/minic.js`), for tests that need minic's own pid. */
export const BIN = join(ROOT, "bin", "minic.js");
/** The launcher. */
export const LAUNCHER = join(ROOT, "bin", "minic");

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs `minic ...args`; never throws on a non-zero exit. */
export async function minic(args: string[], opts: Options = {}): Promise<CliResult> {
  const r = await execa(LAUNCHER, args, { reject: false, encoding: "utf8", stdin: "ignore", ...opts });
  return { exitCode: r.exitCode ?? 128, stdout: String(r.stdout ?? ""), stderr: String(r.stderr ?? "") };
}

/** Like minic() but throws with stderr when the exit status is not 0. */
export async function minicOk(args: string[], opts: Options = {}): Promise<CliResult> {
  const r = await minic(args, opts);
  if (r.exitCode !== 0) throw new Error(`minic ${args.join(" ")} exited ${r.exitCode}: ${r.stderr}`);
  return r;
}

/** A fresh temp directory and its remover. */
export function tempDir(prefix = "minic-test-"): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
