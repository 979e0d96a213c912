// minic doctor: the pure report for given host facts, and the real report on this host (which
// the runtime tests need: root, overlayfs, nspawn, cgroup v1 controllers, the startup snapshot).
import { describe, expect, it } from "vitest";
import { doctorReport, type DoctorFacts } from "../../src/runtime/doctor.js";
import { minic } from "../helpers/cli.js";

const facts = (over: Partial<DoctorFacts> = {}): DoctorFacts => ({
  host: {
    filesystems: new Set(["overlay"]), systemdInit: false, nspawnRunOnTmpfs: false, cpus: 2,
    cgroups: { v1: { cpu: "/cg/cpu", cpuset: "/cg/cpuset", memory: "/cg/memory", pids: "/cg/pids" }, v1Devices: "/cg/devices" },
    programs: { "systemd-nspawn": "/usr/bin/systemd-nspawn", mount: "/usr/bin/mount", unshare: "/usr/bin/unshare", ip: "/usr/sbin/ip" },
  },
  root: true, v2Controllers: [], v2Delegated: [], netns: true, seccomp: true, maxUserNamespaces: 1000, masked: 6, bzip2: ["lbzip2", "pbzip2"], subnet: "10.231", snapshot: "used", checkout: true, systemdRun: true,
  store: { location: { root: "/var/lib/minic", source: "machine", why: "the machine's store, root's default" }, status: { exists: true, notDir: false, mode: 0o700, owner: 0, fsType: "ext4" } },
  ...over,
});

describe("doctor report", () => {
  it("a host like this one is ready, with nothing to install", () => {
    const r = doctorReport(facts());
    expect(r).toMatchObject({ runnable: true, install: [] });
    expect(r.lines.filter((l) => l.level === "missing" || l.level === "warn")).toEqual([]);
  });
  it("names the package for what is missing, and is not ready without nspawn or overlayfs", () => {
    const f = facts();
    const r = doctorReport({ ...f, host: { ...f.host, filesystems: new Set(), programs: { ...f.host.programs, "systemd-nspawn": null, ip: null } }, bzip2: [] });
    expect(r.runnable).toBe(false);
    expect(r.install).toEqual(["iproute2", "lbzip2", "pbzip2", "systemd-container"]);
    expect(r.lines.find((l) => l.text.startsWith("overlayfs"))?.level).toBe("missing");
  });
  it("warns when bin/minic cannot use the startup snapshot, and says how to make it: in a checkout, and for an installed package", () => {
    for (const snapshot of ["stale", "other-cpu", "missing"] as const) {
      const line = doctorReport(facts({ snapshot })).lines.find((l) => l.text.startsWith("startup snapshot"));
      expect(line?.level).toBe("warn");
      expect(line?.text).toMatch(/npm run build/);
      const installed = doctorReport(facts({ snapshot, checkout: false })).lines.find((l) => l.text.startsWith("startup snapshot"));
      expect(installed?.text).toMatch(/npm rebuild -g minic/);
      expect(installed?.text).not.toMatch(/npm run build/);
    }
  });
  it("says which store is used and why, and warns about one others can enter or one on overlayfs", () => {
    const ok = doctorReport(facts());
    expect(ok.lines.map((l) => l.text)).toEqual(expect.arrayContaining(["store: /var/lib/minic (the machine's store, root's default)", "store: mode 0700, only its owner (uid 0) can enter it; on ext4"]));
    const f = facts();
    const loose = doctorReport({ ...f, store: { ...f.store, status: { ...f.store.status, mode: 0o755 } } });
    expect(loose.lines.find((l) => l.level === "warn")?.text).toMatch(/^store: mode 0755, open to other users .*makes it 0700/);
    const overlay = doctorReport({ ...f, store: { ...f.store, status: { ...f.store.status, fsType: "overlayfs" } } });
    expect(overlay.runnable).toBe(false);
    expect(overlay.lines.find((l) => l.level === "warn")?.text).toMatch(/^store: on overlayfs/);
  });
  it("states the container profile; on cgroup v2 only, says what protects instead of a device policy", () => {
    const texts = doctorReport(facts()).lines.map((l) => l.text);
    expect(texts).toEqual(expect.arrayContaining([
      expect.stringMatching(/^container profile: root keeps 13 capabilities .*6 kernel paths masked/),
      expect.stringMatching(/^device policy: cgroup v1 devices controller \(\/cg\/devices\)/),
      expect.stringMatching(/^user namespaces: available/),
    ]));
    const f = facts();
    const v2 = doctorReport({ ...f, host: { ...f.host, cgroups: { v1: {}, v2: "/sys/fs/cgroup" } }, v2Controllers: ["cpu", "memory", "pids"], v2Delegated: ["cpu", "memory", "pids"] });
    expect(v2.lines.find((l) => l.text.startsWith("device policy"))).toEqual({ level: "note", text: expect.stringMatching(/none .*CAP_MKNOD is dropped, nspawn's \/dev holds no host device and the image root is nodev/) });
    expect(doctorReport(facts({ seccomp: false })).lines.find((l) => l.text.startsWith("seccomp"))?.level).toBe("warn");
  });
  it("an unusable MINIC_SUBNET is a warning that says what is wrong, not a route clash", () => {
    const r = doctorReport(facts({ subnetError: "MINIC_SUBNET='127.1' is loopback (127/8), not a range for container addresses" }));
    expect(r.lines.filter((l) => l.level === "warn").map((l) => l.text)).toEqual(["MINIC_SUBNET='127.1' is loopback (127/8), not a range for container addresses: --net veth and bridge refuse to start"]);
  });

  it("on cgroup v2 without systemd: says minic enables the controllers at the root itself; warns about a subnet that clashes", () => {
    const f = facts();
    const r = doctorReport({ ...f, host: { ...f.host, cgroups: { v1: {}, v2: "/sys/fs/cgroup" } }, v2Controllers: ["cpu", "cpuset", "memory", "pids"], v2Delegated: ["cpu"], subnetClash: "eth0" });
    const texts = r.lines.map((l) => l.text);
    expect(texts).toEqual(expect.arrayContaining([
      "cgroup version: v2 (unified)",
      "PID 1 is not systemd: minic runs nspawn with --register=no --keep-unit",
      "cgroups: no cgroup manager but minic on cgroup v2; minic enables cpuset memory pids in /sys/fs/cgroup/cgroup.subtree_control when a limit needs it (usable: cpu cpuset memory pids)",
    ]));
    expect(r.lines.filter((l) => l.level === "warn").map((l) => l.text)).toEqual([expect.stringMatching(/overlaps a route on eth0: set MINIC_SUBNET/)]);
  });
  it("on a systemd cgroup v2 host: says containers run in delegated scopes, usable controllers, and needs systemd-run", () => {
    const f = facts();
    const sd = { ...f, host: { ...f.host, systemdInit: true, cgroups: { v1: {}, v2: "/sys/fs/cgroup" } }, v2Controllers: ["cpuset", "cpu", "io", "memory", "pids"], v2Delegated: ["memory", "pids"] };
    const r = doctorReport(sd);
    expect(r.lines).toEqual(expect.arrayContaining([
      { level: "ok", text: "cgroup version: v2 (unified)" },
      { level: "note", text: "PID 1 is systemd" },
      { level: "ok", text: "cgroups: managed by systemd; each container runs in a transient scope machine.slice/minic-ID.scope with Delegate=yes, where minic enables cpu cpuset memory pids for its limits (usable: cpu cpuset memory pids)" },
    ]));
    expect(r.lines.filter((l) => l.level === "warn" || l.level === "missing")).toEqual([]);
    const noRun = doctorReport({ ...sd, systemdRun: false });
    expect(noRun.lines.find((l) => l.level === "missing")?.text).toMatch(/^systemd-run: not installed/);
    expect(noRun.install).toEqual(["systemd"]);
    const noCpu = doctorReport({ ...sd, v2Controllers: ["memory", "pids"] });
    expect(noCpu.lines.filter((l) => l.level === "warn").map((l) => l.text)).toEqual(["no cpu cgroup controller: limits needing it (--cpus) fail with an error", "no cpuset cgroup controller: limits needing it (--cpuset) fail with an error"]);
  });
});

describe("minic doctor on this host", () => {
  it("reports it ready to run containers, from the snapshot", async () => {
    const r = await minic(["doctor"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^ok +overlayfs: available/m);
    expect(r.stdout).toMatch(/^ok +systemd-nspawn: \/\S+ \(systemd \d+/m);
    expect(r.stdout).toMatch(/^ok +cgroup version: v1$/m);
    expect(r.stdout).toMatch(/^ok +cgroup v1 controllers: cpu .*cpuset .*memory .*pids /m);
    expect(r.stdout).toMatch(/^ok +startup snapshot: bin\/minic starts run/m);
    expect(r.stdout).toMatch(/^ok +device policy: cgroup v1 devices controller \(\/sys\/fs\/cgroup\/devices\)/m);
    expect(r.stdout).toMatch(/^ok +seccomp: nspawn's system call filter applies/m);
    expect(r.stdout.trim().split("\n").at(-1)).toBe("minic run: ready");
  });
});
