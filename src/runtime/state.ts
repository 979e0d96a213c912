// A container's record in the store (<store>/containers/<id>/state.json): what was created on
// the host for it, so that a later minic can list it and clean up after a killed one.
import { lstatSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { atPath } from "../core/faults.js";
import { shapedOrUndefined, type Shape } from "../core/json-shape.js";
import { CONTAINER_STATE_SHAPE } from "../core/record-shapes.js";
import { startTimeFromStat } from "../util/process-start.js";

/** What a container's state file holds (a build's run step has one too: see `build`). */
export interface ContainerState {
  id: string;
  name: string;
  /** The image run (for a build step: the base it runs on, "" for scratch). */
  image: string;
  manifestDigest: string;
  command: string[];
  driver: string;
  runtime: string;
  net: string;
  /** ISO time the container was created. */
  created: string;
  /** The minic process that runs (supervises) the container, and its start time in clock ticks. */
  minicPid: number;
  minicStart: string;
  /** The container's first process (the wrapper, which execs the runtime) and its start time. */
  pid?: number;
  pidStart?: string;
  /** cgroup directories. */
  cgroups: string[];
  /** The delegated systemd scope the cgroups are in (systemd hosts), stopped on release. */
  scope?: { unit: string; dir: string };
  netns?: string;
  veths: string[];
  address?: string;
  ports: string[];
  /** Set for a build's run step: which recipe and step (1-based) it runs. */
  build?: { recipe: string; step: number };
  /** How long the container's minic waits after the stop signal before it kills (`--stop-timeout`). */
  stopTimeoutMs?: number;
}

export const STATE_FILE = "state.json";

const STATE_SHAPE: Shape<ContainerState> = CONTAINER_STATE_SHAPE;

/** Writes the state (temp file + rename; no fsync: the state is only meaningful until reboot). */
export function writeState(dir: string, s: ContainerState): void {
  const tmp = join(dir, `.state-${process.pid}.tmp`);
  try {
    writeFileSync(tmp, JSON.stringify(s, null, 1) + "\n");
  } catch (e) {
    throw atPath(e, tmp);
  }
  renameSync(tmp, join(dir, STATE_FILE));
}

/** Reads a container's state, or undefined when it has none (yet), or it is unreadable or malformed (never trusted). */
export function readState(dir: string): ContainerState | undefined {
  try {
    return shapedOrUndefined(STATE_SHAPE, JSON.parse(readFileSync(join(dir, STATE_FILE), "utf8")));
  } catch {
    return undefined;
  }
}

export { processStart, startTimeFromStat } from "../util/process-start.js";

/** Pure: the state letter (field 3: R, S, D, Z, …) from /proc/PID/stat text. */
export function stateFromStat(stat: string): string {
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0] ?? "";
}

/**
 * True while the minic that supervises the container is alive: same pid and start time, and
 * not a zombie (a killed minic whose parent has not reaped it yet supervises nothing).
 */
export function supervisorAlive(s: ContainerState): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${s.minicPid}/stat`, "utf8");
  } catch {
    return false;
  }
  return startTimeFromStat(stat) === s.minicStart && !["Z", "X", "x"].includes(stateFromStat(stat));
}

/** A container directory in the store and its state (undefined while being created or when broken). */
export interface ContainerEntry {
  id: string;
  dir: string;
  state?: ContainerState;
  /** Modification time of the directory, ms. */
  mtimeMs: number;
}

/** Every container directory in `containersDir`, sorted by id. */
export function listContainers(containersDir: string): ContainerEntry[] {
  let names: string[];
  try {
    names = readdirSync(containersDir);
  } catch {
    return [];
  }
  const out: ContainerEntry[] = [];
  for (const id of names.sort()) {
    if (id.startsWith(".")) continue;
    const dir = join(containersDir, id);
    // lstat: only a real directory is a container (a symlink planted here is left alone).
    const st = lstatSync(dir, { throwIfNoEntry: false });
    if (!st?.isDirectory()) continue;
    out.push({ id, dir, state: readState(dir), mtimeMs: st.mtimeMs });
  }
  return out;
}

/**
 * States of the containers whose minic is alive (running, or starting: the state is written
 * before the layers are unpacked). What gc must keep and rmi must not pull from under.
 */
export function liveContainers(containersDir: string): ContainerState[] {
  return listContainers(containersDir).flatMap((c) => (c.state && supervisorAlive(c.state) ? [c.state] : []));
}
