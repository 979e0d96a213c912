// Runs a recipe's run step as `minic run` starts a container (runtime/launch.ts): recorded in
// the store's containers/ (so that the next minic, or `minic prune`, kills and removes what a
// killed build left), in its own cgroups with the step's limits, under systemd-nspawn on the
// host's network or none, in a private mount namespace where the build's upper dir is stacked over the base
// layers; what it changes lands in the upper dir. Its output streams to the build's progress;
// only a bounded tail is kept, for the error message.
import { randomBytes } from "node:crypto";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { MinicError, withContext } from "../core/errors.js";
import type { StepNetwork } from "../core/recipe.js";
import type { CanonicalStep } from "../core/recipe-canonical.js";
import type { RunControl } from "../core/run-control.js";
import { planCgroups, readCgroupHost } from "../runtime/cgroups.js";
import { probeHost } from "../runtime/host.js";
import { Launch, launchHost, requireRoot } from "../runtime/launch.js";
import { startScript, wrapperArgv, type Bind, type LaunchSpec } from "../runtime/runtime-argv.js";
import type { SecurityProfile } from "../runtime/security-profile.js";
import { makeLinkFarm, overlayStack } from "../runtime/stack-options.js";
import { processStart } from "../runtime/state.js";
import type { Store } from "../store/store.js";
import { interrupted } from "../util/exec.js";
import type { OutputSink } from "../util/progress.js";
import { TailBuffer } from "../util/tail-buffer.js";
import { stepFailure } from "./run-step-outcome.js";

type RunCanonical = Extract<CanonicalStep, { kind: "run" }>;

/** Bytes of each output stream kept for the error message. */
const TAIL_BYTES = 8 * 1024;

/** Where a run step's layers are: the build's scratch and upper dir, and the base's unpacked layers. */
export interface RunStepDirs {
  /** The build's scratch dir (holds work/, merged/ and the link farm). */
  scratch: string;
  upper: string;
  /** Unpacked base layers, base first (as in a manifest). */
  lowers: readonly string[];
}

/** What a run step runs with besides its command. */
export interface RunStepRuntime {
  /** The container's security profile (the build's: the default unless --privileged/--cap-add). */
  security: SecurityProfile;
  /** The host's network, or none (private, loopback only). */
  network: StepNetwork;
  /** Binds for the step (the network's resolv.conf and hosts), targets resolved inside the image. */
  binds: readonly Bind[];
}

/** One run step to run, with what its record says about it. */
export interface RunStepJob extends RunStepRuntime {
  step: RunCanonical;
  control: RunControl;
  /** Names the step in messages: "recipe 'hello' step 3". */
  where: string;
  recipe: string;
  /** 1-based index of the step in its recipe. */
  index: number;
  /** The image the step runs on ("" for scratch), for the record (ps, gc). */
  base: { name: string; manifestDigest: string };
  dirs: RunStepDirs;
  /** Current time, ISO (passed in). */
  now: string;
  /** Applied to each chunk of the step's output before it is shown or kept (its secrets become `***`). */
  redact: (chunk: Buffer) => Buffer;
}

/**
 * Pure: the runtime spec of a run step (root, the host's network or none, killed at once when
 * stopped). nspawn never handles resolv.conf itself (it would copy the host's into the layer):
 * a step on the host's network has it among its binds.
 */
export function runStepSpec(step: RunCanonical, rootfs: string, name: string, rt: RunStepRuntime): LaunchSpec {
  return {
    runtime: "nspawn", rootfs, machine: name, argv: step.argv, env: step.env, workdir: step.workdir,
    user: "root", uid: 0, gid: 0, hostname: "", binds: [...rt.binds], readOnly: false, tty: false, network: { kind: rt.network },
    resolvConfOff: true,
    // An interrupted build stops its step at once: a shell as PID 1 would ignore SIGTERM.
    killSignal: "SIGKILL",
    security: rt.security,
  };
}

/**
 * Runs the step. Throws ERUN when the command fails, exceeds a limit or its timeout (with a
 * tail of its output), EINTERRUPTED when minic was interrupted, EHOST when the host cannot run
 * it (not root, no systemd-nspawn, no overlayfs, a controller a limit needs). Its record,
 * cgroups and processes are gone when it returns or throws.
 */
export async function runStep(store: Store, job: RunStepJob, out: OutputSink): Promise<void> {
  const { where, control } = job;
  requireRoot(`${where}: run steps`);
  const host = probeHost();
  if (!host.filesystems.has("overlay")) throw new MinicError("EHOST", `${where}: run steps need overlayfs`, { hint: "modprobe overlay" });
  const lh = launchHost(host, "nspawn", false);
  const id = randomBytes(6).toString("hex");
  // Not `minic-ID` as containers: a host check for leftover containers must not count the
  // cgroups of a build running beside it.
  const name = `minic-step-${id}`;
  let cgroups;
  try {
    cgroups = planCgroups(control.limits, readCgroupHost(host.cgroups, control.limits, host.systemdInit), name, job.security.devices);
  } catch (e) {
    throw withContext(e, where);
  }
  const { scratch, upper } = job.dirs;
  const work = join(scratch, "work");
  const merged = join(scratch, "merged");
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  await mkdir(merged, { recursive: true });
  let lowers = job.dirs.lowers;
  if (lowers.length === 0) {
    lowers = [join(scratch, "empty")];
    await mkdir(lowers[0]!, { recursive: true });
  }
  const stack = overlayStack(lowers, { dir: scratch, upper, work });
  makeLinkFarm(scratch, stack.links);
  const launch = Launch.create(store.layout.container(id), {
    id, name, image: job.base.name, manifestDigest: job.base.manifestDigest, command: job.step.argv,
    driver: "overlay", runtime: "nspawn", net: job.network, created: job.now,
    minicPid: process.pid, minicStart: processStart(process.pid) ?? "", veths: [], ports: [],
    build: { recipe: job.recipe, step: job.index },
  }, cgroups);
  const tails = { stdout: new TailBuffer(TAIL_BYTES), stderr: new TailBuffer(TAIL_BYTES) };
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  try {
    // The cgroups exist before the wrapper is let go, which joins them then (Launch.limitsFirst).
    if (launch.limitsFirst) await launch.applyLimits();
    launch.startWrapper(wrapperArgv({ runtime: "nspawn", hostname: "", netKind: job.network, procs: launch.wrapperProcs }, lh, launch.dir), {
      stdin: "ignore", stdout: "pipe", stderr: "pipe", work: true, collect: false,
      // A session of its own: a closed terminal's hang-up reaches minic only, which stops the step.
      newSession: true,
      onOutput: (raw, stream) => {
        const chunk = job.redact(raw);
        tails[stream].push(chunk);
        return out.write(chunk, stream);
      },
    });
    if (!launch.limitsFirst) await launch.applyLimits();
    launch.go(startScript(runStepSpec(job.step, merged, name, job), lh, { dir: launch.dir, stack, mountName: name }));
    if (control.timeoutMs !== undefined) {
      timer = setTimeout(() => {
        timedOut = true;
        launch.kill();
      }, control.timeoutMs);
    }
    const r = await launch.wait();
    out.end();
    const failure = stepFailure({
      ...r, where, limits: control.limits, timeoutMs: control.timeoutMs, timedOut, interrupted: interrupted(),
      tail: tails.stderr.text().trim() ? tails.stderr.text() : tails.stdout.text(),
    });
    if (failure) throw failure;
  } finally {
    clearTimeout(timer);
    await launch.release();
  }
}
