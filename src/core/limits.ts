// Resource limits as users write them ("64M", "0.5", "0-1") and their parsed form.
import { MinicError } from "./errors.js";

/** Limits as written in a recipe or on the command line; `max` lifts the base image's limit. */
export interface LimitsInput {
  memory?: string | number;
  cpus?: string | number;
  cpuset?: string;
  pids?: number | "max";
}

/** Parsed limits: bytes, CPU fraction, CPU list, pid count. `undefined` means unlimited. */
export interface Limits {
  memoryBytes?: number;
  cpus?: number;
  cpuset?: string;
  pids?: number;
}

const UNITS: Record<string, number> = { "": 1, B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** The smallest CPU quota cgroups take: 1 ms of each 100 ms period. */
const MIN_CPUS = 0.01;
/** The kernel's PID_MAX_LIMIT on 64-bit: pids.max refuses more. */
const PID_MAX_LIMIT = 4194304;

/** The word for "no limit", as cgroups write it (memory.max, pids.max, cpu.max). */
export const NO_LIMIT = "max";

const lifted = (v: string | number): boolean => String(v).trim() === NO_LIMIT;

/** Parses a memory size like `64M`, `1.5G`, `1048576`; `max` gives undefined (no limit). */
export function parseMemory(v: string | number): number | undefined {
  if (lifted(v)) return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(String(v).trim());
  if (!m) {
    throw new MinicError("EUSAGE", `invalid memory limit '${v}'`, { hint: "use a size like 64M, 512K or 1G, or max for no limit" });
  }
  const bytes = Math.floor(Number(m[1]) * UNITS[m[2]!.toUpperCase()]!);
  if (bytes < 4096 * 64) throw new MinicError("EUSAGE", `memory limit '${v}' is too small`, { hint: "give at least 256K" });
  // Beyond this a byte count is no longer exact, and the kernel refuses what it prints as.
  if (bytes > Number.MAX_SAFE_INTEGER) throw new MinicError("EUSAGE", `memory limit '${v}' is too large`, { hint: "give at most 8191T, or max for no limit" });
  return bytes;
}

/**
 * Parses a CPU quota like `0.5` or `2` (cores); `max` gives undefined (no limit). With
 * `hostCpus` (a quota asked for this host, as `--cpus` is) it may not exceed the host's CPU
 * count: more could never be used.
 */
export function parseCpus(v: string | number, hostCpus?: number): number | undefined {
  if (lifted(v)) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > 1024) {
    throw new MinicError("EUSAGE", `invalid --cpus '${v}'`, { hint: "give a positive number of CPUs, e.g. 0.5, or max for no limit" });
  }
  if (n < MIN_CPUS) {
    throw new MinicError("EUSAGE", `--cpus ${v} is below ${MIN_CPUS}, the smallest CPU quota (1 ms in each 100 ms period)`, { hint: `give at least ${MIN_CPUS}, e.g. 0.5` });
  }
  if (hostCpus !== undefined && n > hostCpus) {
    throw new MinicError("EUSAGE", `--cpus ${v}: this host has only ${hostCpus} CPU${hostCpus === 1 ? "" : "s"}`, {
      hint: `give a number of CPUs from 0.01 to ${hostCpus}, e.g. ${hostCpus > 1 ? hostCpus - 1 : 0.5}`,
    });
  }
  return n;
}

/** Parses a cpuset list like `0`, `0-1`, `0,2` and checks it against the host's CPU count. */
export function parseCpuset(v: string, hostCpus: number): string {
  const s = String(v).trim();
  if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(s)) {
    throw new MinicError("EUSAGE", `invalid cpuset '${v}'`, { hint: "use a CPU list like 0, 0-1 or 0,2" });
  }
  for (const part of s.split(",")) {
    const [a, b] = part.split("-").map(Number) as [number, number | undefined];
    const hi = b ?? a;
    if (hi < a) throw new MinicError("EUSAGE", `invalid cpuset range '${part}'`, { hint: "write ranges low-high" });
    if (hi >= hostCpus) {
      throw new MinicError("EUSAGE", `cpuset '${v}' names CPU ${hi}, but this host has CPUs 0-${hostCpus - 1}`, {
        hint: `pick CPUs between 0 and ${hostCpus - 1}`,
      });
    }
  }
  return s;
}

/** Parses a pids limit (a positive integer); `max` gives undefined (no limit). */
export function parsePids(v: string | number): number | undefined {
  if (lifted(v)) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new MinicError("EUSAGE", `invalid pids limit '${v}'`, { hint: "give a positive integer, e.g. 32, or max for no limit" });
  if (n > PID_MAX_LIMIT) throw new MinicError("EUSAGE", `pids limit '${v}' is more than the kernel allows (${PID_MAX_LIMIT})`, { hint: `give at most ${PID_MAX_LIMIT}, or max for no limit` });
  return n;
}

/**
 * Parses the limits given, over `base`: each one given replaces base's, and `max` removes it
 * (memory, cpus, pids). CPU-set validation needs the host CPU count.
 */
export function parseLimits(input: LimitsInput, hostCpus: number, base: Limits = {}): Limits {
  const out: Limits = { ...base };
  if (input.memory !== undefined) out.memoryBytes = parseMemory(input.memory);
  if (input.cpus !== undefined) out.cpus = parseCpus(input.cpus);
  if (input.cpuset !== undefined) out.cpuset = parseCpuset(input.cpuset, hostCpus);
  if (input.pids !== undefined) out.pids = parsePids(input.pids);
  return setOnly(out);
}

/** `limits` without the keys a lifted limit left undefined. */
export function setOnly(limits: Limits): Limits {
  return Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined)) as Limits;
}

/** Pure: the CPUs of a validated cpuset list (`0-2,5` → 0,1,2,5). */
function cpusOf(list: string): Set<number> {
  const out = new Set<number>();
  for (const part of list.split(",")) {
    const [a, b] = part.split("-").map(Number) as [number, number | undefined];
    for (let c = a; c <= (b ?? a); c++) out.add(c);
  }
  return out;
}

/**
 * Pure: two sets of limits that both hold, as one: the lower memory, CPU quota and pids
 * limit, the CPUs both allow. Limits are ceilings, not reservations, so the tighter one wins.
 * Throws EUSAGE when the two cpusets have no CPU in common.
 */
export function tighterLimits(a: Limits, b: Limits): Limits {
  const min = (x: number | undefined, y: number | undefined) => (x === undefined ? y : y === undefined ? x : Math.min(x, y));
  const out: Limits = {};
  const memoryBytes = min(a.memoryBytes, b.memoryBytes);
  const cpus = min(a.cpus, b.cpus);
  const pids = min(a.pids, b.pids);
  if (memoryBytes !== undefined) out.memoryBytes = memoryBytes;
  if (cpus !== undefined) out.cpus = cpus;
  if (pids !== undefined) out.pids = pids;
  if (a.cpuset !== undefined && b.cpuset !== undefined) {
    const other = cpusOf(b.cpuset);
    const both = [...cpusOf(a.cpuset)].filter((c) => other.has(c)).sort((x, y) => x - y);
    if (both.length === 0) {
      throw new MinicError("EUSAGE", `cpusets '${a.cpuset}' and '${b.cpuset}' have no CPU in common`, { hint: "give cpusets that overlap, or drop one of them" });
    }
    out.cpuset = both.join(",");
  } else if ((a.cpuset ?? b.cpuset) !== undefined) out.cpuset = a.cpuset ?? b.cpuset;
  return out;
}
