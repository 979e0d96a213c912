// minic run: start a container from an image (stacked layers, nspawn or chroot, cgroup limits,
// networking) and return its command's exit status.
import { hostArchitecture } from "../store/images.js";
import { randomBytes } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { envFileEntries } from "../core/env-file.js";
import { isatty } from "node:tty";
import { MinicError } from "../core/errors.js";
import { foreignArchNote } from "../core/image.js";
import { probeHost } from "../runtime/host.js";
import { cgroupManager } from "../runtime/cgroups.js";
import { warmUpCgroupMoves } from "../runtime/cgroup-warmup.js";
import { runContainer } from "../runtime/run-container.js";
import { resolveSpec, type RunFlags } from "../runtime/run-spec.js";
import { listContainers } from "../runtime/state.js";
import { str, type Command, type Values } from "./command.js";
import { sweep } from "./sweep.js";
import { stderr } from "../util/stdio.js";

/** --net, or podman's --network for it; both, naming two modes, is a usage error. */
function netOption(values: Values): string | undefined {
  const [net, network] = [str(values.net), str(values.network)];
  if (net !== undefined && network !== undefined && net !== network) throw new MinicError("EUSAGE", `--net ${net} and --network ${network} name two networks`, { hint: "give one of them (--network is another name for --net)" });
  return net ?? network;
}

/** The entries of `--env-file FILE` (podman's format, see env-file.ts); a file that cannot be read is one line. */
function envFile(file: string, cwd: string): string[] {
  let text: string;
  try {
    text = readFileSync(resolve(cwd, file), "utf8");
  } catch (e) {
    throw new MinicError("EUSAGE", `--env-file ${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message.split(", ")[0]}`, { hint: "give a file of NAME=VALUE lines" });
  }
  return envFileEntries(text, file);
}

const list = (v: Values[string]) => (Array.isArray(v) ? v.map(String) : typeof v === "string" ? [v] : []);

export const runCommand: Command = {
  name: "run",
  summary: "run a command in a container made from an image",
  usage: "[OPTIONS] IMAGE [COMMAND [ARG...]]  (options before the image: all after it goes to the command)  [-e|--env K=V] [--env-file FILE] [--name N] [--hostname H] [-w|--workdir DIR] [-u|--user USER] [--entrypoint CMD] [--bind SRC:DST[:ro]] [--read-only] " +
    "[--memory 64M|max] [--cpus 0.5|max] [--cpuset 0] [--pids 32|max] [--net|--network host|none|veth|bridge] [-p [IP:]HOSTPORT:PORT] " +
    "[--storage-driver overlay|aufs|copy] [--runtime nspawn|chroot] [--stop-timeout SECONDS] [--stop-signal SIG] " +
    "[--privileged] [--cap-add CAP] [--cap-drop CAP] [--userns host|auto] [--rm] [-i] [-t]  (-v/--volume, --pids-limit, --cpuset-cpus as in podman: --bind, --pids, --cpuset)",
  passthrough: true,
  aliases: { "-v": "--bind", "--volume": "--bind", "--pids-limit": "--pids", "--cpuset-cpus": "--cpuset" },
  // run passes SIGINT/SIGTERM to the container's PID 1 (not to every child, as the CLI does by
  // default) and cleans up even after a second signal.
  ownsSignals: true,
  options: {
    env: { type: "string", short: "e", multiple: true },
    "env-file": { type: "string", multiple: true },
    name: { type: "string" },
    hostname: { type: "string" },
    workdir: { type: "string", short: "w" },
    user: { type: "string", short: "u" },
    entrypoint: { type: "string" },
    bind: { type: "string", multiple: true },
    "read-only": { type: "boolean" },
    memory: { type: "string", short: "m" },
    cpus: { type: "string" },
    cpuset: { type: "string" },
    pids: { type: "string" },
    net: { type: "string" },
    network: { type: "string" },
    publish: { type: "string", short: "p", multiple: true },
    "storage-driver": { type: "string" },
    runtime: { type: "string" },
    "stop-timeout": { type: "string" },
    "stop-signal": { type: "string" },
    privileged: { type: "boolean" },
    "cap-add": { type: "string", multiple: true },
    "cap-drop": { type: "string", multiple: true },
    userns: { type: "string" },
    // podman's habits, taken for what minic does anyway: a container is always removed when its
    // command ends (--rm), stdin is always the container's (-i), and it gets a terminal console
    // whenever stdin and stdout are terminals (-t). -d is refused in one line (no daemon).
    rm: { type: "boolean" },
    interactive: { type: "boolean", short: "i" },
    tty: { type: "boolean", short: "t" },
    detach: { type: "boolean", short: "d" },
  },
  async run(values, positionals, ctx) {
    const [imageSpec, ...command] = positionals;
    if (!imageSpec) throw new MinicError("EUSAGE", "run needs an IMAGE", { hint: "minic run [OPTIONS] IMAGE [COMMAND [ARG...]]" });
    if (values.detach) {
      throw new MinicError("EUSAGE", "minic runs a container in the foreground: it has no daemon to hand a detached one to (-d)", {
        hint: "start it in the background from the shell (minic run --name web IMAGE … &) or as a systemd service; 'minic ps' lists it and 'minic rm -f web' stops it",
      });
    }
    const flags: RunFlags = {
      command,
      env: [...list(values["env-file"]).flatMap((f) => envFile(f, ctx.cwd)), ...list(values.env)],
      name: str(values.name),
      hostname: str(values.hostname),
      workdir: str(values.workdir),
      user: str(values.user),
      entrypoint: str(values.entrypoint),
      bind: list(values.bind),
      readOnly: values["read-only"] === true,
      memory: str(values.memory),
      cpus: str(values.cpus),
      cpuset: str(values.cpuset),
      pids: str(values.pids),
      net: netOption(values),
      publish: list(values.publish),
      driver: str(values["storage-driver"]),
      runtime: str(values.runtime),
      stopTimeout: str(values["stop-timeout"]),
      stopSignal: str(values["stop-signal"]),
      privileged: values.privileged === true,
      capAdd: list(values["cap-add"]),
      capDrop: list(values["cap-drop"]),
      userns: str(values.userns),
    };
    const host = probeHost();
    // From here on, in the background, until the wrapper has joined the container's cgroups.
    const warmUp = cgroupManager(host.cgroups, host.systemdInit) === "minic" ? warmUpCgroupMoves(host.cgroups) : undefined;
    try {
      const store = await ctx.store();
      await sweep(store, ctx);
      const image = await store.getImage(imageSpec);
      const kindOf = (p: string) => {
        const st = statSync(p, { throwIfNoEntry: false });
        return st ? (st.isDirectory() ? "dir" : "file") : undefined;
      };
      const spec = resolveSpec(randomBytes(6).toString("hex"), image.config.config, flags, { cpus: host.cpus, env: process.env, cwd: ctx.cwd, kindOf });
      if (listContainers(store.layout.containersDir).some((c) => c.state?.name === spec.name)) {
        throw new MinicError("EBUSY", `a container named '${spec.name}' is already running`, { hint: "pick another --name, or stop it ('minic ps', 'minic rm -f NAME')" });
      }
      // isatty, not process.stdin.isTTY: that getter opens a stream on fd 0 (the container's stdin).
      const tty = isatty(0) && isatty(1);
      if (values.tty && !tty) ctx.err("minic: warning: -t: stdin and stdout are not both terminals, so the container gets them as they are (no terminal console)");
      const archNote = foreignArchNote(image.config.architecture, hostArchitecture());
      if (archNote) ctx.err(`minic: warning: image ${imageSpec} ${archNote}`);
      return await runContainer(store, image, imageSpec, spec, host, { err: ctx.err, tty, stderrTty: isatty(2), relayErr: (b) => stderr().write(b), now: new Date().toISOString() }, warmUp);
    } finally {
      warmUp?.stop(); // a run that failed before its container started (runContainer stops it too)
    }
  },
};
