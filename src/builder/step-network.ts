// A run step on the host's network gets the host's resolver and hosts file: read-only copies,
// bound over /etc/resolv.conf and /etc/hosts for the step only (nspawn's own --resolv-conf
// would copy the host's file into the image, that is into the layer; the copies also keep a
// host that rewrites its resolv.conf mid-step from changing what the step reads).
import { readFile, writeFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Bind } from "../runtime/runtime-argv.js";

/** What a step gets for /etc/hosts when the host has none. */
export const FALLBACK_HOSTS = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";

/**
 * Writes copies of the host's /etc/resolv.conf and /etc/hosts (symlinks followed, as a resolver
 * reads them) into `dir` (made if missing), and returns the read-only binds of them onto the
 * same paths in the image (targets not yet resolved inside the image: see resolveBindTarget).
 * A host without a resolv.conf gives none (the step keeps the image's); without hosts, localhost.
 */
export async function hostNetworkBinds(dir: string, etc = "/etc"): Promise<Bind[]> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const binds: Bind[] = [];
  for (const name of ["resolv.conf", "hosts"]) {
    let text = await readFile(join(etc, name), "utf8").catch(() => undefined);
    if (text === undefined && name === "hosts") text = FALLBACK_HOSTS;
    if (text === undefined) continue;
    const source = join(dir, name);
    await writeFile(source, text, { mode: 0o644 });
    binds.push({ source, target: `/etc/${name}`, readOnly: true, dir: false });
  }
  return binds;
}
