// Runs a recipe's run step the way `minic run` starts a container: in a private mount namespace
// the build's upper dir is stacked over the base layers and the command runs under
// systemd-nspawn with no network; what it changes lands in the upper dir. The mount goes away
// with the namespace, so neither a failing command nor a killed minic leaves it behind.
import { mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { MinicError } from "../core/errors.js";
import type { CanonicalStep } from "../core/recipe-canonical.js";
import { probeHost } from "../runtime/host.js";
import { launchHost } from "../runtime/run-container.js";
import { SETUP_ERR, SETUP_FAILED_STATUS, setupFailure, startScript, wrapperArgv, type LaunchSpec } from "../runtime/runtime-argv.js";
import { makeLinkFarm, overlayStack } from "../runtime/stack-options.js";
import { startWrapper } from "../runtime/wrapper.js";
import { interrupted } from "../util/exec.js";

type RunCanonical = Extract<CanonicalStep, { kind: "run" }>;

export interface RunStepDirs {
  /** The build's scratch dir (holds work/, merged/ and setup.err). */
  scratch: string;
  upper: string;
  /** Unpacked base layers, base first (as in a manifest). */
  lowers: readonly string[];
}

/**
 * Runs `step` over `dirs`. Throws ERUN with the command's exit status when it fails, EHOST when
 * the host cannot run it (not root, no systemd-nspawn, no overlayfs).
 */
export async function runStep(step: RunCanonical, dirs: RunStepDirs, where: string, onOutput: (line: string) => void): Promise<void> {
  if (process.getuid?.() !== 0) throw new MinicError("EHOST", `${where}: run steps need root`, { hint: "run minic build as root (sudo)" });
  const host = probeHost();
  if (!host.filesystems.has("overlay")) throw new MinicError("EHOST", `${where}: run steps need overlayfs`, { hint: "modprobe overlay" });
  const lh = launchHost(host, "nspawn", false);
  const { scratch, upper } = dirs;
  const work = join(scratch, "work");
  const merged = join(scratch, "merged");
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  await mkdir(merged, { recursive: true });
  let lowers = dirs.lowers;
  if (lowers.length === 0) {
    lowers = [join(scratch, "empty")];
    await mkdir(lowers[0]!, { recursive: true });
  }
  const stack = overlayStack(lowers, { dir: scratch, upper, work });
  makeLinkFarm(scratch, stack.links);
  const launch: LaunchSpec = {
    runtime: "nspawn", rootfs: merged, machine: `minic-build-${process.pid}`, argv: step.argv, env: step.env, workdir: step.workdir,
    user: "root", uid: 0, gid: 0, hostname: "", binds: [], readOnly: false, tty: false, network: { kind: "none" },
    // An interrupted build stops its step at once: a shell as PID 1 would ignore SIGTERM.
    killSignal: "SIGKILL",
  };
  const wrapper = startWrapper(wrapperArgv({ ...launch, netKind: launch.network.kind }, lh, scratch), scratch, { stdin: "ignore", stdout: "pipe", stderr: "pipe", work: true, newSession: true, onLine: onOutput });
  try {
    wrapper.go(startScript(launch, lh, { dir: scratch, procs: [], stack, mountName: `minic-build-${process.pid}` }));
  } catch (e) {
    wrapper.stop(); // the start script could not be written: the wrapper exits without starting
    await wrapper.running.done.catch(() => {});
    throw e;
  }
  const r = await wrapper.running.done;
  if (r.exitCode === SETUP_FAILED_STATUS) {
    const why = setupFailure(await readFile(join(scratch, SETUP_ERR), "utf8").catch(() => ""));
    if (why) throw new MinicError("EHOST", `${where}: ${why}`, { hint: "see 'minic doctor'" });
  }
  const sig = interrupted();
  if (r.exitCode !== 0 && sig) throw new MinicError("EINTERRUPTED", `${where}: stopped by ${sig}`);
  if (r.exitCode !== 0) {
    const tail = (r.stderr || r.stdout).trim().split("\n").slice(-2).join(" | ");
    throw new MinicError("ERUN", `${where}: command exited with status ${r.exitCode}${tail ? `: ${tail}` : ""}`, { hint: "fix the run step; nothing was stored" });
  }
}
