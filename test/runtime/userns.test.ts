// --userns auto: the container's root is an unprivileged host uid of a range nspawn picks, while
// the image's files still look as they are; nspawn shifts owners by chown through the storage
// driver (copy-up under overlay), and the store's shared unpacked layers are never touched.
import { describe, expect, it } from "vitest";
import { readdirSync, lstatSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { escapeProbe, PROBE_ATTEMPTS, probeVerdicts } from "../helpers/escape-probe.js";
import { runtimeSuite } from "./fixtures.js";

const { fx, run } = runtimeSuite(async () => {});

/** Owner, mode and ctime of every entry under `dir` (a chown or chmod changes the ctime). */
function owners(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      const st = lstatSync(p);
      out.push(`${p} ${st.uid}:${st.gid} ${st.mode.toString(8)} ${st.ctimeMs}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

describe("--userns auto", () => {
  for (const driver of ["overlay", "copy"]) {
    it(`${driver}: root is a shifted uid, files keep their owners inside, the store's layers are not chowned`, async () => {
      const unpacked = join(fx.store, "unpacked");
      // Unpacked (and so listed) before the run: the first run unpacks them.
      expect((await run(["bb", "/bin/true"])).exitCode).toBe(0);
      const before = owners(unpacked);
      const r = await run(["--userns", "auto", "--storage-driver", driver, "bb", "--", "/bin/sh", "-c",
        "cat /proc/self/uid_map; id -u; ls -ln /bin/busybox | { read m l u g rest; echo $u:$g; }; touch /etc/made && echo made"]);
      expect(r.stderr).toBe("");
      const [map, uid, owner, made] = r.stdout.trim().split("\n");
      const [inside, base, size] = map!.trim().split(/\s+/).map(Number);
      expect([inside, size, uid, owner, made]).toEqual([0, 65536, "0", "0:0", "made"]);
      expect(base).toBeGreaterThanOrEqual(65536);
      expect(owners(unpacked)).toEqual(before);
    });
  }

  it("the escape probe is denied; even with --cap-add all root cannot write host settings", async () => {
    const probe = join(fx.root, "probe.sh");
    writeFileSync(probe, escapeProbe({ blockDevice: "7 0", hostPid: process.pid }));
    const denied = Object.fromEntries(PROBE_ATTEMPTS.map((n) => [n, "denied"]));
    expect(probeVerdicts((await run(["--userns", "auto", "--bind", `${probe}:/probe.sh:ro`, "bb", "--", "/bin/sh", "/probe.sh"])).stdout)).toEqual(denied);
    const all = probeVerdicts((await run(["--userns", "auto", "--cap-add", "all", "--bind", `${probe}:/probe.sh:ro`, "bb", "--", "/bin/sh", "/probe.sh"])).stdout);
    for (const n of ["sysctl-write", "core-pattern-write", "ksm-write", "mknod-block", "loop-control", "kill-host"]) expect([n, all[n]]).toEqual([n, "denied"]);
    expect(statSync(probe).uid).toBe(0);
  });

  it("refuses what nspawn cannot do in a user namespace, in one line (exit 2)", async () => {
    for (const extra of [["--read-only"], ["--net", "veth"], ["--runtime", "chroot"]]) {
      const r = await run(["--userns", "auto", ...extra, "bb", "/bin/true"]);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(/^minic: --userns auto cannot be combined with [^\n]* \(hint: [^\n]*\)$/);
    }
  });
});
