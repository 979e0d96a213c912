// The host network's files for a run step: copies of the host's resolv.conf and hosts, bound
// read-only over the image's; a host without resolv.conf gives no bind, without hosts localhost.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FALLBACK_HOSTS, hostNetworkBinds } from "../../src/builder/step-network.js";

let root = "";
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe("hostNetworkBinds", () => {
  it("copies the host's files (links followed) and binds them read-only onto the same paths", async () => {
    root = mkdtempSync(join(tmpdir(), "minic-stepnet-"));
    const etc = join(root, "etc");
    mkdirSync(etc);
    writeFileSync(join(root, "stub-resolv.conf"), "nameserver 127.0.0.53\n");
    symlinkSync("../stub-resolv.conf", join(etc, "resolv.conf"));
    writeFileSync(join(etc, "hosts"), "127.0.0.1 localhost\n");
    const binds = await hostNetworkBinds(join(root, "out"), etc);
    expect(binds).toEqual([
      { source: join(root, "out", "resolv.conf"), target: "/etc/resolv.conf", readOnly: true, dir: false },
      { source: join(root, "out", "hosts"), target: "/etc/hosts", readOnly: true, dir: false },
    ]);
    expect(readFileSync(binds[0]!.source, "utf8")).toBe("nameserver 127.0.0.53\n");
  });

  it("no resolv.conf on the host: no bind (the step keeps the image's); no hosts: localhost", async () => {
    root = mkdtempSync(join(tmpdir(), "minic-stepnet-"));
    mkdirSync(join(root, "etc"));
    const binds = await hostNetworkBinds(join(root, "out"), join(root, "etc"));
    expect(binds.map((b) => b.target)).toEqual(["/etc/hosts"]);
    expect(readFileSync(binds[0]!.source, "utf8")).toBe(FALLBACK_HOSTS);
  });
});
