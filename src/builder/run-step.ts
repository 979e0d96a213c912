// Runs a recipe's run step: overlay-mounts the build's upper dir over the base layers and
// starts the command under systemd-nspawn; what it changes lands in the upper dir.
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { MinicError } from "../core/errors.js";
import { run, status } from "../util/exec.js";
import { findProgram } from "../util/which.js";
import type { CanonicalStep } from "../core/recipe-canonical.js";
import { overlayMountData } from "./overlay-options.js";
import { nspawnHostArgs, prepareNspawnHost } from "./nspawn-host.js";

type RunCanonical = Extract<CanonicalStep, { kind: "run" }>;

/**
 * Runs `step` with the merged tree `lowers` (top first) + `upper` as root. `work` is an empty
 * scratch dir on the upper's filesystem. Throws ERUN (with the command's exit status) on failure.
 * The mount is always released, also when the command fails.
 */
export async function runStep(step: RunCanonical, upper: string, work: string, lowers: readonly string[], scratch: string, where: string, onOutput: (line: string) => void): Promise<void> {
  if (process.getuid?.() !== 0) throw new MinicError("EHOST", `${where}: run steps need root`, { hint: "run minic build as root (sudo)" });
  if (!findProgram("systemd-nspawn")) throw new MinicError("EHOST", `${where}: run steps need systemd-nspawn`, { hint: "apt-get install systemd-container" });
  await prepareNspawnHost();
  const merged = join(scratch, "merged");
  await mkdir(merged, { recursive: true });
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  const lowerList = lowers.length > 0 ? lowers : [join(scratch, "empty")];
  if (lowers.length === 0) await mkdir(lowerList[0]!, { recursive: true });
  await run(["mount", "-t", "overlay", "overlay", "-o", overlayMountData(lowerList, upper, work), merged]);
  try {
    const argv = [
      "systemd-nspawn", "--quiet", ...nspawnHostArgs(), "--directory", merged, "--private-network",
      "--resolv-conf=off", "--timezone=off", "--link-journal=no", "--console=pipe",
      "--chdir", step.workdir, ...step.env.flatMap((e) => ["--setenv", e]), "--", ...step.argv,
    ];
    const r = await status(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe", work: true, onLine: onOutput });
    if (r.exitCode !== 0) {
      const tail = (r.stderr || r.stdout).trim().split("\n").slice(-2).join(" | ");
      throw new MinicError("ERUN", `${where}: command exited with status ${r.exitCode}${tail ? `: ${tail}` : ""}`, { hint: "fix the run step; nothing was stored" });
    }
  } finally {
    await run(["umount", merged]).catch(() => run(["umount", "-l", merged]));
  }
}
