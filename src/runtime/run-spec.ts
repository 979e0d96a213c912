// Pure: a complete description of one container from the image's run config and the command
// line. Defaults are resolved here once; later code never checks for undefined.
import { constants } from "node:os";
import { containerPath } from "../core/container-path.js";
import { MinicError } from "../core/errors.js";
import { HOSTNAME_HINT, isHostname } from "../core/hostname.js";
import { defaultRunConfig, ENV_NAME_HINT, isEnvName, type RunConfig } from "../core/image.js";
import { parseCpus, parseCpuset, parseMemory, parsePids, setOnly, type Limits } from "../core/limits.js";
import { NET_MODES, type NetMode } from "./network.js";
import { parsePortMapping, type PortMapping } from "./port-proxy.js";
import type { Bind } from "./runtime-argv.js";
import { resolveSecurity, type SecurityProfile } from "./security-profile.js";

export type StorageDriver = "overlay" | "aufs" | "copy";
export const DRIVERS: readonly StorageDriver[] = ["overlay", "aufs", "copy"];
export type RuntimeName = "nspawn" | "chroot";
export const RUNTIMES: readonly RuntimeName[] = ["nspawn", "chroot"];

/** Everything about one container, resolved. */
export interface ContainerSpec {
  id: string;
  name: string;
  argv: string[];
  env: string[];
  workdir: string;
  user: string;
  hostname: string;
  /** nspawn's machine name (a host name too): the name, or the default host name when the name is none. */
  machine: string;
  binds: Bind[];
  readOnly: boolean;
  limits: Limits;
  net: NetMode;
  ports: PortMapping[];
  driver: StorageDriver;
  runtime: RuntimeName;
  stopTimeoutMs: number;
  /** What a stop (SIGTERM to minic, 'minic rm -f') sends the container: --stop-signal, else the image's StopSignal, else SIGTERM. */
  stopSignal: NodeJS.Signals;
  security: SecurityProfile;
}

/** Command-line choices (strings as typed; undefined when not given). */
export interface RunFlags {
  command: string[];
  env: string[];
  name?: string;
  hostname?: string;
  workdir?: string;
  user?: string;
  entrypoint?: string;
  bind: string[];
  readOnly: boolean;
  memory?: string;
  cpus?: string;
  cpuset?: string;
  pids?: string;
  net?: string;
  publish: string[];
  driver?: string;
  runtime?: string;
  stopTimeout?: string;
  stopSignal?: string;
  privileged: boolean;
  capAdd: string[];
  capDrop: string[];
  userns?: string;
}

/** What the resolver may ask of the host: CPU count, host env (for `-e NAME`), a path's kind. */
export interface SpecHost {
  cpus: number;
  env: NodeJS.ProcessEnv;
  cwd: string;
  kindOf(path: string): "dir" | "file" | undefined;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/** Resolves flags over the image's run config into a ContainerSpec. Throws EUSAGE/ENOTFOUND on bad input. */
export function resolveSpec(id: string, config: RunConfig, f: RunFlags, host: SpecHost): ContainerSpec {
  const name = f.name ?? `minic-${id}`;
  if (!NAME_RE.test(name)) throw new MinicError("EUSAGE", `invalid container name '${name}'`, { hint: "use letters, digits, '.', '_' and '-' (at most 63), starting with a letter or digit" });
  const entrypoint = f.entrypoint !== undefined ? entrypointFlag(f.entrypoint) : config.entrypoint;
  const argv = [...entrypoint, ...(f.command.length > 0 ? f.command : f.entrypoint !== undefined ? [] : config.cmd)];
  if (argv.length === 0) throw new MinicError("EUSAGE", "the image has no command and none was given", { hint: "minic run IMAGE -- COMMAND [ARGS...]" });
  // By default the name is the host name; a name that is none (`web_1`) gives `web-1`, or the id.
  const fromName = [name, name.replace(/_/g, "-")].find(isHostname) ?? `minic-${id}`;
  const hostname = f.hostname ?? (config.hostname && isHostname(config.hostname) ? config.hostname : fromName);
  if (!isHostname(hostname)) {
    throw new MinicError("EUSAGE", `invalid hostname '${hostname}'`, { hint: HOSTNAME_HINT });
  }
  // `max` lifts the image's limit (--memory max); the image's cpuset must fit this host.
  const given: Limits = { ...config.limits };
  if (given.cpuset !== undefined) given.cpuset = parseCpuset(given.cpuset, host.cpus);
  if (f.memory !== undefined) given.memoryBytes = parseMemory(f.memory);
  if (f.cpus !== undefined) given.cpus = parseCpus(f.cpus, host.cpus);
  if (f.cpuset !== undefined) given.cpuset = parseCpuset(f.cpuset, host.cpus);
  if (f.pids !== undefined) given.pids = parsePids(f.pids);
  const limits = setOnly(given);
  // -p without --net: podman's default network is a private one, so -p alone puts the container on the bridge.
  const net = (f.net ?? (f.publish.length > 0 ? "bridge" : "host")) as NetMode;
  if (!NET_MODES.includes(net)) throw new MinicError("EUSAGE", `unknown network mode '${f.net}'`, { hint: `use one of: ${NET_MODES.join(", ")}` });
  const ports = f.publish.map(parsePortMapping);
  if (ports.length > 0 && net !== "veth" && net !== "bridge") {
    throw new MinicError("EUSAGE", `-p needs a container network (--net veth or --net bridge), not --net ${net}`, { hint: net === "host" ? "with --net host the container's ports already are the host's" : "add --net bridge" });
  }
  const driver = (f.driver ?? "overlay") as StorageDriver;
  if (!DRIVERS.includes(driver)) throw new MinicError("EUSAGE", `unknown storage driver '${f.driver}'`, { hint: `use one of: ${DRIVERS.join(", ")}` });
  const runtime = (f.runtime ?? "nspawn") as RuntimeName;
  if (!RUNTIMES.includes(runtime)) throw new MinicError("EUSAGE", `unknown runtime '${f.runtime}'`, { hint: `use one of: ${RUNTIMES.join(", ")}` });
  const security = resolveSecurity(f);
  if (security.userns !== "host") checkUserns(security.userns, runtime, net, f.readOnly);
  const stop = f.stopTimeout === undefined ? 10 : Number(f.stopTimeout);
  if (!Number.isFinite(stop) || stop < 0) throw new MinicError("EUSAGE", `invalid --stop-timeout '${f.stopTimeout}'`, { hint: "give seconds, e.g. 10" });
  return {
    id, name, argv,
    env: withPath(mergeEnv(config.env, f.env, host.env)),
    workdir: f.workdir !== undefined ? absoluteFlagPath(f.workdir, "-w", "-w /srv") : containerPath(config.workdir, "the image's workdir", "an image's working directory may not climb out of its tree: give the container one with -w /DIR"),
    user: f.user ?? config.user,
    hostname,
    machine: fromName,
    binds: f.bind.map((b) => parseBind(b, host)),
    readOnly: f.readOnly,
    limits, net, ports, driver, runtime,
    stopTimeoutMs: Math.round(stop * 1000),
    stopSignal: f.stopSignal !== undefined ? flagSignal(f.stopSignal) : imageStopSignal(config.oci?.StopSignal),
    security,
  };
}

/**
 * A container of an image without PATH (a loaded one whose config has no Env) gets the default,
 * as podman's and Docker's containers do; it is not written into the image. Sorted, as mergeEnv's.
 */
function withPath(env: string[]): string[] {
  return env.some((e) => e.startsWith("PATH=")) ? env : [...env, defaultRunConfig().env[0]!].sort();
}

/** Pure: a signal as Docker's StopSignal and --stop-signal name it (`SIGQUIT`, `QUIT`, `3`), or undefined. */
export function parseSignal(v: string): NodeJS.Signals | undefined {
  const n = /^\d{1,2}$/.test(v) ? Number(v) : NaN;
  const name = Number.isInteger(n) ? Object.entries(constants.signals).find(([, num]) => num === n)?.[0] : `SIG${v.toUpperCase().replace(/^SIG/, "")}`;
  return name !== undefined && Object.hasOwn(constants.signals, name) && name !== "SIGKILL" && name !== "SIGSTOP" ? (name as NodeJS.Signals) : undefined;
}

function flagSignal(v: string): NodeJS.Signals {
  const s = parseSignal(v);
  if (!s) throw new MinicError("EUSAGE", `invalid --stop-signal '${v}'`, { hint: "give a signal that can be caught, e.g. SIGQUIT, QUIT or 3" });
  return s;
}

/** The image's StopSignal; one minic cannot send (a real-time signal, a typo) is SIGTERM, as podman falls back. */
function imageStopSignal(v: string | undefined): NodeJS.Signals {
  return (v === undefined ? undefined : parseSignal(v)) ?? "SIGTERM";
}

/** Pure: refuses what nspawn cannot do in a user namespace of its own (EUSAGE). */
function checkUserns(mode: string, runtime: RuntimeName, net: NetMode, readOnly: boolean): void {
  const no = (what: string, hint: string) => new MinicError("EUSAGE", `--userns ${mode} cannot be combined with ${what}`, { hint });
  if (runtime !== "nspawn") throw no("--runtime chroot", "drop --runtime chroot (the chroot runtime has no user namespace)");
  // nspawn shifts the tree's owners by chown, which a read-only root forbids.
  if (readOnly) throw no("--read-only", "drop --read-only, or --userns");
  // A namespace made outside the user namespace cannot be joined from inside it.
  if (net === "veth" || net === "bridge") throw no(`--net ${net}`, "use --net host or --net none with --userns auto");
}

/** Pure: image env with `-e K=V` (or `-e K`, taking the host's value) on top, sorted by key. */
export function mergeEnv(image: readonly string[], flags: readonly string[], hostEnv: NodeJS.ProcessEnv): string[] {
  const m = new Map<string, string>();
  for (const e of image) {
    const i = e.indexOf("=");
    if (i <= 0) continue;
    // A loaded image may carry any name (OCI does not bound them); nspawn refuses all but
    // shell names, with its own message, once the container is set up: said here, before.
    const key = e.slice(0, i);
    if (!isEnvName(key)) {
      throw new MinicError("ERUN", `the image's environment has the variable name '${key}', which systemd-nspawn cannot pass on`, { hint: `${ENV_NAME_HINT}: fix the image's Env (or its recipe's env)` });
    }
    m.set(key, e.slice(i + 1));
  }
  for (const e of flags) {
    const i = e.indexOf("=");
    const key = i < 0 ? e : e.slice(0, i);
    if (!isEnvName(key)) throw new MinicError("EUSAGE", `invalid environment variable '${e}'`, { hint: "use -e NAME=value" });
    if (i >= 0) m.set(key, e.slice(i + 1));
    else if (hostEnv[key] !== undefined) m.set(key, hostEnv[key]!);
  }
  return [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${k}=${v}`);
}

/**
 * Pure: `--entrypoint`'s words: none for '', podman's JSON form (`'["/bin/echo","x"]'`) as its
 * array (JSON that is no array of words is refused), else the one word given.
 */
export function entrypointFlag(v: string): string[] {
  if (v === "") return [];
  if (!v.trimStart().startsWith("[")) return [v];
  let words: unknown;
  try {
    words = JSON.parse(v);
  } catch {
    return [v]; // no JSON: one word, as podman takes it (`[` is a command)
  }
  if (!Array.isArray(words) || words.length === 0 || !words.every((w) => typeof w === "string" && w !== "")) {
    throw new MinicError("EUSAGE", `--entrypoint '${v}' is not a JSON array of words`, { hint: `give one command (--entrypoint /bin/echo) or a JSON array of non-empty strings (--entrypoint '["/bin/echo","x"]')` });
  }
  return words as string[];
}

/**
 * Parses `--bind SRC[:DST[:OPTS]]` (podman's `-v`), OPTS a comma list of ro or rw and podman's
 * SELinux relabel flags z and Z, taken as no-ops (minic changes no labels); the source must exist.
 */
export function parseBind(v: string, host: SpecHost): Bind {
  const parts = v.split(":");
  if (parts.length > 3 || !parts[0]) throw new MinicError("EUSAGE", `invalid bind '${v}'`, { hint: "use --bind SRC:DST[:ro] (paths without ':')" });
  const [src, dst, opts = "rw"] = parts as [string, string?, string?];
  const words = opts.split(",");
  const bad = words.find((w) => !["ro", "rw", "z", "Z"].includes(w));
  const modes = words.filter((w) => w === "ro" || w === "rw");
  if (bad !== undefined || new Set(modes).size > 1) throw new MinicError("EUSAGE", `invalid bind mode '${bad ?? opts}' in '${v}'`, { hint: "use --bind SRC:DST, SRC:DST:ro or SRC:DST:rw (podman's z and Z are taken, and change no labels)" });
  const mode = modes[0] ?? "rw";
  const source = src.startsWith("/") ? src : `${host.cwd}/${src}`;
  // Without DST the source's absolute path is used inside the container too.
  const target = dst === undefined ? containerPath(source, "bind target") : absoluteFlagPath(dst, "bind target", `--bind ${src}:/mnt/data`);
  const kind = host.kindOf(source);
  if (!kind) throw new MinicError("ENOTFOUND", `bind source '${src}' does not exist`, { hint: "create it first, or fix the path given to --bind" });
  return { source, target, readOnly: mode === "ro", dir: kind === "dir" };
}

/** Pure: a container path given on the command line; it must be absolute (there is no container cwd to resolve it against). */
function absoluteFlagPath(p: string, what: string, example: string): string {
  if (!p.startsWith("/")) throw new MinicError("EUSAGE", `${what} '${p}' is not an absolute path`, { hint: `give an absolute path inside the container, e.g. ${example}` });
  return containerPath(p, what);
}
