// What systemd-nspawn needs from this host: on hosts where PID 1 is not systemd, no
// registration with machined and a tmpfs on /run/systemd/nspawn when /run is not one.
import { existsSync, readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { run } from "../util/exec.js";

/** True when systemd is the init system (it creates /run/systemd/system at boot). */
export function systemdIsInit(): boolean {
  return existsSync("/run/systemd/system");
}

/** Extra nspawn arguments this host needs. */
export function nspawnHostArgs(): string[] {
  return systemdIsInit() ? [] : ["--register=no", "--keep-unit"];
}

/** Mounts a tmpfs on /run/systemd/nspawn when nspawn would need one and none is there (idempotent). */
export async function prepareNspawnHost(): Promise<void> {
  if (systemdIsInit()) return;
  const mounts = readFileSync("/proc/mounts", "utf8").split("\n").map((l) => l.split(" "));
  const isMount = (p: string) => mounts.some((m) => m[1] === p);
  const runIsTmpfs = mounts.some((m) => m[1] === "/run" && m[2] === "tmpfs");
  if (runIsTmpfs || isMount("/run/systemd/nspawn")) return;
  await mkdir("/run/systemd/nspawn", { recursive: true });
  await run(["mount", "-t", "tmpfs", "-o", "mode=0755,nosuid,nodev", "minic-nspawn", "/run/systemd/nspawn"]);
}
