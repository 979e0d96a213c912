// Container networking: host (share the host's), none (loopback only), veth (a netns wired to
// the host by a veth pair, as in the tutorial) and bridge (veths on one host bridge, so
// containers reach each other). Plans are `ip -batch` lines (pure); the executor runs them.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { MinicError } from "../core/errors.js";
import { run } from "../util/exec.js";

export type NetMode = "host" | "none" | "veth" | "bridge";
export const NET_MODES: readonly NetMode[] = ["host", "none", "veth", "bridge"];

/** The host bridge every `--net bridge` container joins. */
export const BRIDGE = "mcbr0";

/** A network namespace with a veth pair, as planned for one container. */
export interface NetPlan {
  mode: "veth" | "bridge";
  /** Named netns (`ip netns`), path /run/netns/NAME. */
  netns: string;
  /** Host end of the veth pair (the container end is eth0 inside the netns). */
  hostVeth: string;
  /** Container address and the host-side gateway address (no prefix length). */
  address: string;
  gateway: string;
  /** `ip -batch` lines run on the host, then inside the netns (`ip -n NETNS -batch`). */
  hostLines: string[];
  nsLines: string[];
}

/** The first two octets of the /16 minic takes addresses from: MINIC_SUBNET or 10.231. */
export function subnetPrefix(env: NodeJS.ProcessEnv = process.env): string {
  const v = env.MINIC_SUBNET ?? "10.231";
  if (!/^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/.test(v) || v.split(".").some((o) => Number(o) > 255)) {
    throw new MinicError("EUSAGE", `MINIC_SUBNET='${v}' is not the first two octets of a /16`, { hint: "e.g. MINIC_SUBNET=10.231" });
  }
  const [a, b] = v.split(".").map(Number) as [number, number];
  // Not "this network", loopback, link-local, multicast or reserved: the kernel treats those
  // specially (127/8 never leaves the host, 224/4 cannot be an interface's unicast address).
  const special = a === 0 ? "\"this network\" (0/8)" : a === 127 ? "loopback (127/8)" : a === 169 && b === 254 ? "link-local (169.254/16)" : a >= 224 ? "multicast or reserved (224/3)" : undefined;
  if (special) throw new MinicError("EUSAGE", `MINIC_SUBNET='${v}' is ${special}, not a range for container addresses`, { hint: "pick a private /16 that no route uses, e.g. MINIC_SUBNET=10.231 or 172.31" });
  return v;
}

/**
 * Pure: the plan for container `id` in `slot` (1-254). veth: host 10.231.SLOT.1/24, container
 * .2 on its own /24. bridge: bridge 10.231.0.1/24, container 10.231.0.SLOT (slot ≥ 2);
 * `createBridge` adds the bridge's own lines.
 */
export function planNetwork(mode: "veth" | "bridge", id: string, slot: number, prefix: string, createBridge = false): NetPlan {
  const netns = `minic-${id}`;
  if (mode === "veth") {
    const hostVeth = `mcv${slot}`;
    const gateway = `${prefix}.${slot}.1`;
    const address = `${prefix}.${slot}.2`;
    return {
      mode, netns, hostVeth, address, gateway,
      hostLines: [
        `netns add ${netns}`,
        `link add ${hostVeth} type veth peer name eth0 netns ${netns}`,
        `addr add ${gateway}/24 dev ${hostVeth}`,
        `link set ${hostVeth} up`,
      ],
      nsLines: ["link set lo up", `addr add ${address}/24 dev eth0`, "link set eth0 up", `route add default via ${gateway}`],
    };
  }
  const hostVeth = `mcb${slot}`;
  const gateway = `${prefix}.0.1`;
  const address = `${prefix}.0.${slot}`;
  return {
    mode, netns, hostVeth, address, gateway,
    hostLines: [
      ...(createBridge ? [`link add ${BRIDGE} type bridge`, `addr add ${gateway}/24 dev ${BRIDGE}`, `link set ${BRIDGE} up`] : []),
      `netns add ${netns}`,
      `link add ${hostVeth} type veth peer name eth0 netns ${netns}`,
      `link set ${hostVeth} master ${BRIDGE}`,
      `link set ${hostVeth} up`,
    ],
    nsLines: ["link set lo up", `addr add ${address}/24 dev eth0`, "link set eth0 up", `route add default via ${gateway}`],
  };
}

/** Pure: IPv4 routes from /proc/net/route text: device, network and mask as numbers. */
export function parseRoutes(text: string): { dev: string; dest: number; mask: number }[] {
  const le = (hex: string) => (Buffer.from(hex.padStart(8, "0"), "hex").readUInt32LE(0) >>> 0);
  return text.split("\n").slice(1).map((l) => l.trim().split(/\s+/)).filter((f) => f.length >= 8)
    .map((f) => ({ dev: f[0]!, dest: le(f[1]!), mask: le(f[7]!) }));
}

/** Pure: the first route (not on minic's own devices, not the default route) overlapping PREFIX.0.0/16. */
export function conflictingRoute(routes: ReturnType<typeof parseRoutes>, prefix: string): { dev: string; dest: number; mask: number } | undefined {
  const [a, b] = prefix.split(".").map(Number) as [number, number];
  const net = ((a << 24) | (b << 16)) >>> 0;
  const mask16 = 0xffff0000;
  return routes.find((r) => r.mask !== 0 && !r.dev.startsWith("mc") && ((r.dest & (r.mask & mask16)) >>> 0) === ((net & (r.mask & mask16)) >>> 0));
}

function linkExists(name: string): boolean {
  return existsSync(`/sys/class/net/${name}`);
}

/**
 * Creates the netns and veth pair (and the bridge when missing), trying free slots in turn:
 * a slot is claimed by the host veth's name, which the kernel keeps unique. Undoes its own
 * partial work before each retry. Returns the plan that succeeded.
 */
export async function setupNetwork(mode: "veth" | "bridge", id: string, env: NodeJS.ProcessEnv = process.env): Promise<NetPlan> {
  const prefix = subnetPrefix(env);
  const clash = conflictingRoute(parseRoutes(readFileSync("/proc/net/route", "utf8")), prefix);
  if (clash) {
    throw new MinicError("EHOST", `${prefix}.0.0/16 overlaps a route on this host (dev ${clash.dev})`, { hint: "set MINIC_SUBNET to two octets of an unused /16, e.g. MINIC_SUBNET=10.232" });
  }
  let lastError: unknown;
  for (let slot = mode === "bridge" ? 2 : 1; slot <= 254; slot++) {
    const plan = planNetwork(mode, id, slot, prefix, mode === "bridge" && !linkExists(BRIDGE));
    if (linkExists(plan.hostVeth)) continue;
    try {
      await run(["ip", "-batch", "-"], { input: plan.hostLines.join("\n") + "\n" });
      await run(["ip", "-n", plan.netns, "-batch", "-"], { input: plan.nsLines.join("\n") + "\n" });
      return plan;
    } catch (e) {
      lastError = e;
      if (!/File exists|Cannot find device/.test(String((e as Error).message))) {
        await teardownNetwork(plan);
        break;
      }
      // Another container took this slot (or made the bridge) in the meantime: undo only what is
      // surely ours, the netns (deleting it also deletes a veth pair whose end was moved into it),
      // never a link by name, which may be the other container's.
      if (existsSync(`/run/netns/${plan.netns}`)) await run(["ip", "netns", "del", plan.netns]).catch(() => {});
    }
  }
  throw new MinicError("EHOST", `cannot set up ${mode} networking: ${(lastError as Error)?.message ?? "no free address"}`, {
    hint: "see 'minic doctor'; 'minic prune' removes what stale containers left",
    cause: lastError,
  });
}

/** Removes the veth pair, the netns and (when no veth is left on it) the bridge. Idempotent. */
export async function teardownNetwork(plan: { netns?: string; hostVeth?: string; mode?: string }): Promise<void> {
  const lines: string[] = [];
  if (plan.hostVeth && linkExists(plan.hostVeth)) lines.push(`link del ${plan.hostVeth}`);
  if (plan.netns && existsSync(`/run/netns/${plan.netns}`)) lines.push(`netns del ${plan.netns}`);
  if (lines.length > 0) await run(["ip", "-force", "-batch", "-"], { input: lines.join("\n") + "\n" }).catch(() => {});
  if (plan.mode === "bridge") await removeIdleBridge();
}

/** Deletes the bridge when no port is attached to it (another container may be starting: it re-creates it). */
export async function removeIdleBridge(): Promise<void> {
  if (!linkExists(BRIDGE)) return;
  let ports: string[] = [];
  try {
    ports = readdirSync(`/sys/class/net/${BRIDGE}/brif`);
  } catch {
    return;
  }
  if (ports.length === 0) await run(["ip", "link", "del", BRIDGE]).catch(() => {});
}
