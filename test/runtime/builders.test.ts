// The runtime's pure builders, checked as data: mount options, cgroup plans, ip batch lines,
// nspawn/chroot argv, the wrapper script, spec resolution and host parsers.
import { describe, expect, it } from "vitest";
import { aufsStack, escapeOverlayPath, MOUNT_DATA_MAX, overlayStack } from "../../src/runtime/stack-options.js";
import { cgroupManager, oomKills, pidsMaxEvents, planCgroups, type CgroupHost } from "../../src/runtime/cgroups.js";
import { conflictingRoute, parseRoutes, planNetwork, subnetPrefix } from "../../src/runtime/network.js";
import { chrootArgv, escapeBindPath, nspawnArgv, setupFailure, START_SCRIPT, START_WORD, startScript, wrapperArgv, type LaunchHost, type LaunchSpec } from "../../src/runtime/runtime-argv.js";
import { mergeEnv, resolveSpec } from "../../src/runtime/run-spec.js";
import { cpuList, parseCgroupMounts, parseFilesystems } from "../../src/runtime/host.js";
import { parsePortMapping } from "../../src/runtime/port-proxy.js";
import { resolveUser } from "../../src/runtime/user.js";
import { startTimeFromStat, stateFromStat } from "../../src/runtime/state.js";
import { mountsUnder } from "../../src/runtime/teardown.js";
import { defaultRunConfig } from "../../src/core/image.js";
import { CAPABILITIES as CAP_LIST, DEFAULT_PROFILE, parseCapability, resolveSecurity } from "../../src/runtime/security-profile.js";

const dirs = { dir: "/s/containers/abc", upper: "/s/containers/abc/upper", work: "/s/containers/abc/work" };

describe("stack options", () => {
  it("escapes \\ , : in overlay paths", () => {
    expect(escapeOverlayPath("/a\\b,c:d")).toBe("/a\\\\b\\,c\\:d");
  });
  it("lists lowers top first with absolute paths when they fit", () => {
    const m = overlayStack(["/l/base", "/l/a,b"], dirs);
    expect(m.options).toBe("lowerdir=/l/a\\,b:/l/base,upperdir=/s/containers/abc/upper,workdir=/s/containers/abc/work,redirect_dir=off,metacopy=off,index=off,xino=off");
    expect(m.links).toEqual([]);
  });
  it("switches to a short relative link farm past one page, and fits 500 layers", () => {
    const layers = Array.from({ length: 200 }, (_, i) => `/store/unpacked/${String(i).padStart(64, "0")}`);
    const m = overlayStack(layers, dirs);
    expect(m.cwd).toBe("/s/containers/abc/l");
    expect(m.options.startsWith("lowerdir=199:198:")).toBe(true);
    expect(m.links[0]).toEqual({ name: "l/0", target: layers[0] });
    expect(overlayStack(Array.from({ length: 500 }, (_, i) => `/x/${i}`.padEnd(80, "x")), dirs).options.length).toBeLessThan(MOUNT_DATA_MAX);
    expect(() => overlayStack(Array.from({ length: 501 }, () => "/x"), dirs)).toThrow(/at most 500/);
  });
  it("builds aufs branches with ro+wh lowers, via links for unsafe paths", () => {
    expect(aufsStack(["/l/base", "/l/top"], dirs).options).toBe("br:/s/containers/abc/upper=rw:/l/top=ro+wh:/l/base=ro+wh,dio");
    const m = aufsStack(["/l/a:b"], dirs);
    expect(m.options).toBe("br:upper=rw:l/0=ro+wh,dio");
    expect(m.cwd).toBe(dirs.dir);
  });
});

describe("cgroup plans", () => {
  const v1: CgroupHost = {
    mounts: { v1: { cpu: "/cg/cpu", cpuset: "/cg/cpuset", memory: "/cg/memory", pids: "/cg/pids" }, v2: "/cg/unified" },
    v2Controllers: new Set(["hugetlb"]), v2Delegated: new Set(), cpusetMems: "0", memsw: true, manager: "minic",
  };
  it("v1: one cgroup per limited controller, cpuset.mems before cpus, memsw with memory", () => {
    const p = planCgroups({ cpuset: "0", cpus: 0.5, memoryBytes: 1 << 26, pids: 32 }, v1, "minic-x", "minimal");
    expect(p.dirs).toEqual(["/cg/cpuset/minic-x", "/cg/cpu/minic-x", "/cg/memory/minic-x", "/cg/pids/minic-x"]);
    expect(p.writes.map((w) => `${w.path}=${w.value}`)).toEqual([
      "/cg/cpuset/minic-x/cpuset.mems=0", "/cg/cpuset/minic-x/cpuset.cpus=0",
      "/cg/cpu/minic-x/cpu.cfs_period_us=100000", "/cg/cpu/minic-x/cpu.cfs_quota_us=50000",
      "/cg/memory/minic-x/memory.limit_in_bytes=67108864", "/cg/memory/minic-x/memory.memsw.limit_in_bytes=67108864",
      "/cg/pids/minic-x/pids.max=32",
    ]);
    expect(p.oomEvents).toBe("/cg/memory/minic-x/memory.oom_control");
    expect(p.pidsEvents).toBe("/cg/pids/minic-x/pids.events");
  });
  it("always makes a pids cgroup to find the container's processes", () => {
    expect(planCgroups({}, v1, "minic-x", "minimal")).toEqual({ dirs: ["/cg/pids/minic-x"], writes: [], procs: ["/cg/pids/minic-x/cgroup.procs"] });
  });
  it("v2 without systemd: one cgroup; a controller not enabled at the root is enabled there first, a missing one is an error", () => {
    const v2: CgroupHost = { mounts: { v1: {}, v2: "/sys/fs/cgroup" }, v2Controllers: new Set(["cpu", "memory", "pids", "cpuset"]), v2Delegated: new Set(["cpu", "memory", "pids"]), cpusetMems: "0", memsw: false, manager: "minic" };
    const p = planCgroups({ cpus: 1.5, memoryBytes: 1 << 20, pids: 8 }, v2, "minic-y", "minimal");
    expect(p.dirs).toEqual(["/sys/fs/cgroup/minic-y"]);
    expect(p.writes.map((w) => `${w.path.split("/").pop()}=${w.value}`)).toEqual(["cpu.max=150000 100000", "memory.max=1048576", "memory.swap.max=0", "pids.max=8"]);
    expect(p.scope).toBeUndefined();
    const c = planCgroups({ cpuset: "0", pids: 8 }, v2, "minic-y", "minimal");
    expect(c.writes.map((w) => `${w.path}=${w.value}`)).toEqual(["/sys/fs/cgroup/cgroup.subtree_control=+cpuset", "/sys/fs/cgroup/minic-y/cpuset.cpus=0", "/sys/fs/cgroup/minic-y/pids.max=8"]);
    expect(c.writes[0]!.enables).toEqual(["cpuset"]);
    expect(() => planCgroups({ memoryBytes: 1 << 20 }, { ...v2, v2Controllers: new Set() }, "minic-y", "minimal")).toThrow(/no 'memory' cgroup controller/);
  });
  it("v2 under systemd: the cgroup is the leaf of a delegated scope in machine.slice, its controllers enabled in the scope", () => {
    const sd: CgroupHost = { mounts: { v1: {}, v2: "/sys/fs/cgroup" }, v2Controllers: new Set(["cpu", "memory", "pids", "cpuset"]), v2Delegated: new Set(["memory", "pids"]), cpusetMems: "0", memsw: false, manager: "systemd" };
    const s = "/sys/fs/cgroup/machine.slice/minic-z.scope";
    const p = planCgroups({ cpus: 0.5, cpuset: "1", memoryBytes: 1 << 20, pids: 8 }, sd, "minic-z", "minimal");
    expect(p.scope).toEqual({ unit: "minic-z.scope", slice: "machine.slice", dir: s, leaf: `${s}/container` });
    expect(p.dirs).toEqual([`${s}/container`]);
    expect(p.procs).toEqual([`${s}/container/cgroup.procs`]);
    expect(p.writes.map((w) => `${w.path.slice(s.length + 1)}=${w.value}`)).toEqual([
      "cgroup.subtree_control=+cpuset +cpu +memory +pids", "container/cpuset.cpus=1", "container/cpu.max=50000 100000",
      "container/memory.max=1048576", "container/memory.swap.max=0", "container/pids.max=8",
    ]);
    expect(p.oomEvents).toBe(`${s}/container/memory.events`);
    expect(planCgroups({}, sd, "minic-z", "minimal")).toEqual({ dirs: [`${s}/container`], writes: [], procs: [`${s}/container/cgroup.procs`], scope: p.scope });
  });
  it("systemd manages cgroup2 only as PID 1 on the unified hierarchy", () => {
    expect(cgroupManager({ v1: {}, v2: "/sys/fs/cgroup" }, true)).toBe("systemd");
    expect(cgroupManager({ v1: {}, v2: "/sys/fs/cgroup" }, false)).toBe("minic");
    expect(cgroupManager({ v1: { memory: "/sys/fs/cgroup/memory" }, v2: "/sys/fs/cgroup/unified" }, true)).toBe("minic");
    expect(cgroupManager({ v1: {}, v1Named: "/sys/fs/cgroup/systemd", v2: "/sys/fs/cgroup/unified" }, true)).toBe("minic");
  });
  it("v1 devices: deny all, then allow nspawn's /dev nodes; none when privileged or on cgroup2 only", () => {
    const host = { ...v1, mounts: { ...v1.mounts, v1Devices: "/cg/devices" } };
    const p = planCgroups({}, host, "minic-x", "minimal");
    expect(p.dirs).toEqual(["/cg/pids/minic-x", "/cg/devices/minic-x"]);
    expect(p.procs).toContain("/cg/devices/minic-x/cgroup.procs");
    expect(p.writes.map((w) => `${w.path.split("/").pop()}=${w.value}`)).toEqual([
      "devices.deny=a", "devices.allow=c 1:3 rwm", "devices.allow=c 1:5 rwm", "devices.allow=c 1:7 rwm", "devices.allow=c 1:8 rwm",
      "devices.allow=c 1:9 rwm", "devices.allow=c 5:0 rwm", "devices.allow=c 5:1 rwm", "devices.allow=c 5:2 rwm", "devices.allow=c 136:* rwm",
      "devices.allow=c 10:200 rwm",
    ]);
    expect(planCgroups({}, host, "minic-x", "all").dirs).toEqual(["/cg/pids/minic-x"]);
    const v2only: CgroupHost = { mounts: { v1: {}, v2: "/sys/fs/cgroup" }, v2Controllers: new Set(), v2Delegated: new Set(), cpusetMems: "0", memsw: false, manager: "minic" };
    expect(planCgroups({}, v2only, "minic-y", "minimal")).toEqual({ dirs: ["/sys/fs/cgroup/minic-y"], writes: [], procs: ["/sys/fs/cgroup/minic-y/cgroup.procs"] });
  });
  it("reads OOM kill counts", () => {
    expect(oomKills("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n")).toBe(3);
    expect(oomKills("low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\n")).toBe(1);
  });
  it("reads forks refused at the pids limit", () => {
    expect(pidsMaxEvents("max 7\n")).toBe(7);
    expect(pidsMaxEvents("")).toBe(0);
  });
});

describe("network plans", () => {
  it("veth: netns, pair, addresses, routes as ip batch lines", () => {
    const p = planNetwork("veth", "abc", 5, "10.231");
    expect(p.hostLines).toEqual(["netns add minic-abc", "link add mcv5 type veth peer name eth0 netns minic-abc", "addr add 10.231.5.1/24 dev mcv5", "link set mcv5 up"]);
    expect(p.nsLines).toEqual(["link set lo up", "addr add 10.231.5.2/24 dev eth0", "link set eth0 up", "route add default via 10.231.5.1"]);
  });
  it("bridge: creates the bridge when asked, attaches the veth", () => {
    const p = planNetwork("bridge", "abc", 7, "10.231", true);
    expect(p.hostLines.slice(0, 3)).toEqual(["link add mcbr0 type bridge", "addr add 10.231.0.1/24 dev mcbr0", "link set mcbr0 up"]);
    expect(p.hostLines).toContain("link set mcb7 master mcbr0");
    expect(p.address).toBe("10.231.0.7");
  });
  it("finds routes overlapping the subnet", () => {
    const routes = parseRoutes("Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\neth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\nwg0\t0000E70A\t00000000\t0001\t0\t0\t0\t0000FFFF\n");
    expect(conflictingRoute(routes, "10.231")?.dev).toBe("wg0");
    expect(conflictingRoute(routes, "10.232")).toBeUndefined();
  });
  it("MINIC_SUBNET: a unicast /16, not loopback, 0/8, link-local, multicast or reserved", () => {
    expect(subnetPrefix({})).toBe("10.231");
    for (const ok of ["172.31", "192.168", "100.64", "10.0"]) expect(subnetPrefix({ MINIC_SUBNET: ok })).toBe(ok);
    for (const [bad, why] of [["127.5", /is loopback \(127\/8\)/], ["0.1", /"this network"/], ["169.254", /link-local/], ["224.1", /multicast or reserved/], ["255.255", /multicast or reserved/],
      ["010.231", /not the first two octets/], ["10.256", /not the first two octets/], ["10", /not the first two octets/]] as const) {
      expect(() => subnetPrefix({ MINIC_SUBNET: bad }), bad).toThrow(why);
    }
  });
  it("parses -p", () => {
    expect(parsePortMapping("8080:80")).toEqual({ hostIp: "0.0.0.0", hostPort: 8080, port: 80 });
    expect(parsePortMapping("127.0.0.1:18080:8080/tcp")).toEqual({ hostIp: "127.0.0.1", hostPort: 18080, port: 8080 });
    expect(() => parsePortMapping("80")).toThrow(/invalid port mapping/);
  });
});

describe("runtime argv", () => {
  const host: LaunchHost = {
    keepUnit: true, nspawnTmpfs: true, masks: [{ path: "/proc/keys", dir: false }, { path: "/sys/firmware", dir: true }],
    programs: { nspawn: "/n", mount: "/m", unshare: "/u", ip: "/ip", env: "/e", nsenter: "/ns", hostname: "/h", setpriv: "/sp" },
  };
  const spec: LaunchSpec = {
    runtime: "nspawn", rootfs: "/c/merged", machine: "web", argv: ["/bin/httpd", "-f"], env: ["A=1"], workdir: "/srv", user: "www", uid: 33, gid: 33, hostname: "web",
    binds: [{ source: "/h:x", target: "/d", readOnly: true, dir: true }], readOnly: true, network: { kind: "netns", path: "/run/netns/minic-abc" }, tty: false,
    security: DEFAULT_PROFILE,
  };
  const KEEP = "--capability=CAP_CHOWN,CAP_DAC_OVERRIDE,CAP_FOWNER,CAP_FSETID,CAP_KILL,CAP_SETGID,CAP_SETUID,CAP_SETPCAP,CAP_NET_BIND_SERVICE,CAP_NET_RAW,CAP_SYS_CHROOT,CAP_AUDIT_WRITE,CAP_SETFCAP";
  const DROP = "--drop-capability=CAP_DAC_READ_SEARCH,CAP_LINUX_IMMUTABLE,CAP_NET_BROADCAST,CAP_NET_ADMIN,CAP_IPC_LOCK,CAP_IPC_OWNER,CAP_SYS_MODULE,CAP_SYS_RAWIO," +
    "CAP_SYS_PTRACE,CAP_SYS_PACCT,CAP_SYS_ADMIN,CAP_SYS_BOOT,CAP_SYS_NICE,CAP_SYS_RESOURCE,CAP_SYS_TIME,CAP_SYS_TTY_CONFIG,CAP_MKNOD,CAP_LEASE,CAP_AUDIT_CONTROL," +
    "CAP_MAC_OVERRIDE,CAP_MAC_ADMIN,CAP_SYSLOG,CAP_WAKE_ALARM,CAP_BLOCK_SUSPEND,CAP_AUDIT_READ,CAP_PERFMON,CAP_BPF,CAP_CHECKPOINT_RESTORE";
  const NO_MOUNT = "--system-call-filter=~fsconfig fsmount fsopen fspick mount mount_setattr move_mount open_tree pivot_root umount umount2";
  it("nspawn: no registration, keeps the unit, the default profile, then config and flags", () => {
    expect(nspawnArgv(spec, host)).toEqual(["/n", "--quiet", "--register=no", "--keep-unit", "--directory=/c/merged", "--machine=web", "--hostname=web",
      "--kill-signal=SIGTERM", "--link-journal=no", "--timezone=off", "--console=pipe", KEEP, DROP, NO_MOUNT,
      "--bind-ro=/dev/null:/proc/keys", "--tmpfs=/sys/firmware:ro,mode=0555",
      "--chdir=/srv", "--user=www", "--setenv=A=1", "--bind-ro=/h\\:x:/d", "--read-only", "--network-namespace-path=/run/netns/minic-abc", "--", "/bin/httpd", "-f"]);
    expect(escapeBindPath("a\\b:c")).toBe("a\\\\b\\:c");
  });
  it("an env entry without '=' is never passed on (nspawn would copy the host's value; env(1) would run it)", () => {
    const leaky = { ...spec, env: ["A=1", "SECRET", "=x", "B="] };
    expect(nspawnArgv(leaky, host).filter((a) => a.startsWith("--setenv"))).toEqual(["--setenv=A=1", "--setenv=B="]);
    const c = chrootArgv({ ...leaky, runtime: "chroot" }, host);
    expect(c.slice(c.indexOf("-i") + 1, c.indexOf("/sp"))).toEqual(["A=1", "B="]);
  });
  it("nspawn: root with another group goes by minic's key (nspawn makes --user=root 0:0), USER staying root", () => {
    const a = nspawnArgv({ ...spec, user: "0:5", uid: 0, gid: 5 }, host);
    expect(a.filter((x) => x.startsWith("--user") || x.startsWith("--setenv=USER") || x.startsWith("--setenv=LOGNAME"))).toEqual(["--user=minic-root", "--setenv=USER=root", "--setenv=LOGNAME=root"]);
    expect(nspawnArgv({ ...spec, user: "0", uid: 0, gid: 0 }, host).some((x) => x.startsWith("--user"))).toBe(false);
    expect(nspawnArgv({ ...spec, user: "www:5", uid: 33, gid: 5 }, host)).toContain("--user=www");
  });

  it("nspawn: --privileged keeps every capability and masks nothing; named caps are exact; --userns auto", () => {
    const priv = nspawnArgv({ ...spec, security: resolveSecurity({ privileged: true, capAdd: [], capDrop: [] }) }, host);
    expect(priv.filter((a) => /^--(capability|drop-capability|system-call-filter|tmpfs|bind-ro=\/dev\/null)/.test(a))).toEqual(["--capability=all"]);
    const admin = nspawnArgv({ ...spec, security: resolveSecurity({ privileged: false, capAdd: ["CAP_SYS_ADMIN"], capDrop: ["net_raw"] }) }, host);
    expect(admin.find((a) => a.startsWith("--capability="))).toBe(KEEP.replace(",CAP_NET_RAW", "").replace("CAP_SYS_CHROOT", "CAP_SYS_CHROOT,CAP_SYS_ADMIN"));
    expect(admin.some((a) => a.startsWith("--system-call-filter"))).toBe(false);
    expect(admin).toContain("--bind-ro=/dev/null:/proc/keys");
    const none = nspawnArgv({ ...spec, security: resolveSecurity({ privileged: false, capAdd: [], capDrop: ["all"] }) }, host);
    expect(none.filter((a) => a.includes("capability"))).toEqual([`--drop-capability=${CAP_LIST.map((c) => `CAP_${c.toUpperCase()}`).join(",")}`]);
    const userns = nspawnArgv({ ...spec, security: resolveSecurity({ privileged: false, capAdd: [], capDrop: [], userns: "auto" }) }, host);
    expect(userns).toContain("--private-users=pick");
    expect(userns).toContain("--private-users-ownership=chown");
    expect(nspawnArgv(spec, host).some((a) => a.startsWith("--private-users"))).toBe(false);
  });
  it("chroot: unshare --root --wd with numeric ids and the image env only, capabilities bounded by setpriv", () => {
    expect(chrootArgv({ ...spec, runtime: "chroot" }, host)).toEqual(["/ns", "--net=/run/netns/minic-abc", "/e", "-i", "A=1",
      "/sp", "--inh-caps=-all", "--bounding-set=-all,+chown,+dac_override,+fowner,+fsetid,+kill,+setgid,+setuid,+setpcap,+net_bind_service,+net_raw,+sys_chroot,+audit_write,+setfcap",
      "/u", "--root=/c/merged", "--wd=/srv", "--setgid=33", "--setuid=33", "--", "/bin/httpd", "-f"]);
    const priv = chrootArgv({ ...spec, runtime: "chroot", security: resolveSecurity({ privileged: true, capAdd: [], capDrop: [] }) }, host);
    expect(priv).not.toContain("/sp");
  });
  it("wrapper: mounts nspawn's tmpfs, waits for the start word, joins the cgroups, sources the start script", () => {
    const argv = wrapperArgv({ ...spec, netKind: "netns", procs: ["/cg/pids/minic-abc/cgroup.procs", "/cg/devices/minic-abc/cgroup.procs"] }, host, "/c");
    expect(argv.slice(0, 6)).toEqual(["/u", "--mount", "--propagation", "private", "/bin/sh", "-c"]);
    const joined = argv[6]!.split("\n");
    // The cgroups are joined once minic lets the wrapper go on: minic makes them last (run-container.ts).
    expect(joined.slice(joined.indexOf("exec 3<&-") + 1, -2)).toEqual([
      "echo $$ >'/cg/pids/minic-abc/cgroup.procs' 2>>'/c/setup.err' || fail 'joining cgroup /cg/pids/minic-abc'",
      "echo $$ >'/cg/devices/minic-abc/cgroup.procs' 2>>'/c/setup.err' || fail 'joining cgroup /cg/devices/minic-abc'",
    ]);
    expect(joined.findIndex((l) => l.includes("cgroup.procs"))).toBeGreaterThan(joined.findIndex((l) => l.includes("read -r go")));
    const boot = wrapperArgv({ ...spec, netKind: "netns", procs: [] }, host, "/c")[6]!.split("\n");
    // nspawn's state dir: a tmpfs on it, or (missing on a fresh host) one on /run/systemd, or
    // (no /run/systemd either) over the nearest existing parent, its entries bound back.
    expect(boot[1]).toContain("if [ -d '/run/systemd/nspawn' ]; then '/m' -n -t tmpfs -o mode=0755,nosuid,nodev minic-nspawn '/run/systemd/nspawn'");
    expect(boot[2]).toBe("elif [ -d '/run/systemd' ]; then '/m' -n -t tmpfs -o mode=0755,nosuid,nodev minic-nspawn '/run/systemd' 3<&- 2>>'/c/setup.err' || fail 'mounting a tmpfs on /run/systemd/nspawn'");
    expect(boot).toContain(`  mkdir -p '/c/host-parent' 2>>'/c/setup.err' && '/m' -n --rbind "$p" '/c/host-parent' 3<&- 2>>'/c/setup.err' && '/m' -n -t tmpfs -o mode=0755,nosuid,nodev minic-nspawn "$p" 3<&- 2>>'/c/setup.err' || fail 'mounting a tmpfs on /run/systemd/nspawn'`);
    expect(boot.slice(boot.indexOf("fi") + 1)).toEqual([`IFS= read -r go <&3 && [ "$go" = ${START_WORD} ] || exit 125`, "exec 3<&-", `. '/c/${START_SCRIPT}'`, "exit 125"]);
    // chroot: no nspawn tmpfs; `none` and a hostname get their own namespaces.
    const chroot = wrapperArgv({ runtime: "chroot", netKind: "none", hostname: "h", procs: [] }, host, "/c");
    expect(chroot.slice(0, 6)).toEqual(["/u", "--mount", "--propagation", "private", "--net", "--uts"]);
    expect(chroot.at(-1)).not.toContain("tmpfs");
  });
  it("start script: mounts the layers, then execs the runtime", () => {
    const script = startScript(spec, host, { dir: "/c", stack: { fstype: "overlay", cwd: "/c", options: "lowerdir=/l", links: [] }, mountName: "minic-abc" });
    const lines = script.trimEnd().split("\n");
    expect(lines[0]).toBe("cd '/c' || fail 'entering the layer directory'");
    expect(script).not.toContain("cgroup.procs");
    expect(script).toContain("'/m' -t overlay -o 'nodev,lowerdir=/l' 'minic-abc' '/c/merged'");
    const priv = { ...spec, security: resolveSecurity({ privileged: true, capAdd: [], capDrop: [] }) };
    expect(startScript(priv, host, { dir: "/c", stack: { fstype: "overlay", cwd: "/c", options: "lowerdir=/l", links: [] }, mountName: "m" })).toContain("-o 'lowerdir=/l'");
    // The copy driver's root (a plain directory) is bound onto itself to be made nodev.
    expect(startScript(spec, host, { dir: "/c", mountName: "m" })).toContain("'/m' --bind '/c/merged' '/c/merged' 2>>'/c/setup.err' && '/m' -o remount,bind,nodev '/c/merged'");
    expect(startScript(priv, host, { dir: "/c", mountName: "m" })).not.toContain("nodev");
    expect(lines.at(-1)).toMatch(/^exec '\/n' '--quiet'/);
    expect(script).toContain("export SYSTEMD_NSPAWN_TMPFS_TMP=0\n");
    expect(nspawnArgv({ ...spec, resolvConfOff: true }, host)).toContain("--resolv-conf=off");
    expect(nspawnArgv(spec, host).some((a) => a.startsWith("--resolv-conf"))).toBe(false);
    const chroot = startScript({ ...spec, runtime: "chroot" }, host, { dir: "/c", mountName: "m" });
    expect(chroot).not.toContain("SYSTEMD_NSPAWN");
    expect(chroot).not.toContain("nodev"); // the chroot's /dev is the image's
    expect(chroot).toContain("'/m' --bind '/h:x' '/c/merged/d'");
  });
  it("start script: nspawn on a read-only root gets its missing bind mount points made first", () => {
    const binds = [{ source: "/h", target: "/d", readOnly: true, dir: true }, { source: "/c/getent", target: "/usr/bin/getent", readOnly: true, dir: false }];
    const w = { dir: "/c", stack: { fstype: "overlay", cwd: "/c", options: "lowerdir=/l", links: [] }, mountName: "minic-abc" };
    const lines = startScript({ ...spec, binds }, host, w).trimEnd().split("\n");
    const layers = lines.findIndex((l) => l.includes("-t overlay"));
    const dirLine = lines.indexOf("mkdir -p '/c/merged/d' 2>>'/c/setup.err' || fail 'creating /d'");
    const fileLine = lines.indexOf(`mkdir -p "$(dirname '/c/merged/usr/bin/getent')" && { [ -e '/c/merged/usr/bin/getent' ] || : >'/c/merged/usr/bin/getent'; } 2>>'/c/setup.err' || fail 'creating /usr/bin/getent'`);
    expect(layers).toBeGreaterThan(-1);
    expect([dirLine > layers, fileLine > dirLine, lines.length - 1 > fileLine]).toEqual([true, true, true]);
    expect(lines.at(-1)).toMatch(/^exec '\/n' /);
    // Writable root: nspawn makes them itself, and no mount is made by the script.
    const rw = startScript({ ...spec, binds, readOnly: false }, host, w);
    expect(rw).not.toContain("mkdir");
    expect(rw).not.toContain("'/m' --bind");
  });
  it("reads a failed setup step from setup.err", () => {
    expect(setupFailure("mount: bad option\nSTEP mounting the layers (overlay)\n")).toBe("mounting the layers (overlay) failed: mount: bad option");
    expect(setupFailure("")).toBeUndefined();
  });
});

describe("spec resolution", () => {
  const host = { cpus: 2, env: { HOME: "/root" }, cwd: "/w", kindOf: (p: string) => (p === "/w/data" ? ("dir" as const) : undefined) };
  it("flags override the image config; defaults are resolved", () => {
    const cfg = { ...defaultRunConfig(), cmd: ["/bin/sh"], entrypoint: ["/init"], env: ["PATH=/bin", "A=1"], limits: { pids: 10, cpuset: "1" } };
    const s = resolveSpec("0123456789ab", cfg, { command: ["x"], env: ["A=2", "HOME"], bind: ["data:/d:ro"], readOnly: false, publish: [], cpuset: "0", privileged: false, capAdd: [], capDrop: [] }, host);
    expect(s.argv).toEqual(["/init", "x"]);
    expect(s.env).toEqual(["A=2", "HOME=/root", "PATH=/bin"]);
    expect(s.binds).toEqual([{ source: "/w/data", target: "/d", readOnly: true, dir: true }]);
    expect(s.limits).toEqual({ pids: 10, cpuset: "0" });
    expect(s.name).toBe("minic-0123456789ab");
    expect(s.hostname).toBe("minic-0123456789ab");
    expect([s.net, s.driver, s.runtime, s.stopTimeoutMs]).toEqual(["host", "overlay", "nspawn", 10000]);
    expect(s.security).toEqual(DEFAULT_PROFILE);
  });
  it("rejects bad input with usage errors", () => {
    const cfg = defaultRunConfig();
    const f = { command: [], env: [], bind: [], readOnly: false, publish: [], privileged: false, capAdd: [], capDrop: [] };
    expect(() => resolveSpec("a", cfg, { ...f, memory: "abc" }, host)).toThrow(/invalid memory limit/);
    expect(() => resolveSpec("a", cfg, { ...f, cpuset: "99" }, host)).toThrow(/names CPU 99/);
    expect(() => resolveSpec("a", cfg, { ...f, cpus: "5" }, host)).toThrow(/^--cpus 5: this host has only 2 CPUs$/);
    expect(resolveSpec("a", cfg, { ...f, command: ["x"], cpus: "2" }, host).limits).toEqual({ cpus: 2 });
    expect(() => resolveSpec("a", cfg, { ...f, pids: "-1" }, host)).toThrow(/^invalid pids limit '-1'$/);
    // What the kernel would refuse, or silently round, is refused here.
    expect(() => resolveSpec("a", cfg, { ...f, pids: "9999999" }, host)).toThrow(/^pids limit '9999999' is more than the kernel allows \(4194304\)$/);
    expect(() => resolveSpec("a", cfg, { ...f, memory: "9999999999T" }, host)).toThrow(/^memory limit '9999999999T' is too large$/);
    expect(() => resolveSpec("a", cfg, { ...f, cpus: "0.001" }, host)).toThrow(/^--cpus 0\.001 is below 0\.01, the smallest CPU quota/);
    expect(resolveSpec("a", cfg, { ...f, command: ["x"], pids: "4194304", memory: "8191T", cpus: "0.01" }, host).limits).toEqual({ pids: 4194304, memoryBytes: 8191 * 1024 ** 4, cpus: 0.01 });
  });
  it("max removes the image's memory, cpus and pids limits", () => {
    const cfg = { ...defaultRunConfig(), limits: { memoryBytes: 64 << 20, cpus: 0.5, pids: 10, cpuset: "1" } };
    const f = { command: ["x"], env: [], bind: [], readOnly: false, publish: [], privileged: false, capAdd: [], capDrop: [] };
    const s = resolveSpec("a", cfg, { ...f, memory: "max", cpus: "max", pids: "max" }, host);
    expect(s.limits).toEqual({ cpuset: "1" });
    expect(Object.keys(s.limits)).toEqual(["cpuset"]);
    expect(resolveSpec("a", cfg, { ...f, memory: "max" }, host).limits).toEqual({ cpus: 0.5, pids: 10, cpuset: "1" });
    expect(() => resolveSpec("a", cfg, { ...f, bind: ["/nope:/x"] }, host)).toThrow(/does not exist/);
    expect(() => resolveSpec("a", cfg, { ...f, net: "wifi" }, host)).toThrow(/unknown network mode/);
    expect(() => resolveSpec("a", cfg, { ...f, driver: "zfs" }, host)).toThrow(/unknown storage driver/);
    expect(() => resolveSpec("a", cfg, { ...f, workdir: "/../x" }, host)).toThrow(/contains '..'/);
    expect(() => resolveSpec("a", cfg, { ...f, workdir: "srv" }, host)).toThrow(/-w 'srv' is not an absolute path/);
    // An image's own workdir (a loaded config may say anything): its error says how to run it anyway.
    const climbs = { ...cfg, workdir: "../../x" };
    expect(() => resolveSpec("a", climbs, { ...f, command: ["x"] }, host)).toThrow(expect.objectContaining({ message: "the image's workdir '../../x' contains '..'", hint: expect.stringMatching(/-w \/DIR/) }));
    expect(resolveSpec("a", climbs, { ...f, command: ["x"], workdir: "/" }, host).workdir).toBe("/");
    expect(() => resolveSpec("a", cfg, { ...f, bind: ["data:d"] }, host)).toThrow(/bind target 'd' is not an absolute path/);
    expect(resolveSpec("a", cfg, { ...f, command: ["x"], bind: ["data"] }, host).binds[0]!.target).toBe("/w/data");
    expect(mergeEnv(["B=1"], [], {})).toEqual(["B=1"]);
    // A loaded image's name that nspawn would refuse (with its raw message) is refused first.
    expect(() => mergeEnv(["\x1b[31mX=1", "PATH=/bin"], [], {})).toThrow(/^the image's environment has the variable name '\x1b\[31mX', which systemd-nspawn cannot pass on$/);
    const u = { ...f, command: ["x"], userns: "auto" };
    expect(() => resolveSpec("a", cfg, { ...u, runtime: "chroot" }, host)).toThrow(/--userns auto cannot be combined with --runtime chroot/);
    expect(() => resolveSpec("a", cfg, { ...u, readOnly: true }, host)).toThrow(/--userns auto cannot be combined with --read-only/);
    expect(() => resolveSpec("a", cfg, { ...u, net: "veth" }, host)).toThrow(/--userns auto cannot be combined with --net veth/);
    expect(resolveSpec("a", cfg, { ...u, net: "none", driver: "copy" }, host).security.userns).toBe("auto");
  });
  it("security: podman's default caps less mknod; --privileged, --cap-add/--cap-drop (all too), --userns", () => {
    const none = { privileged: false, capAdd: [], capDrop: [] };
    expect(DEFAULT_PROFILE).toEqual({
      privileged: false, maskPaths: true, devices: "minimal", nodevRoot: true, userns: "host",
      caps: ["chown", "dac_override", "fowner", "fsetid", "kill", "setgid", "setuid", "setpcap", "net_bind_service", "net_raw", "sys_chroot", "audit_write", "setfcap"],
    });
    expect(resolveSecurity({ ...none, privileged: true })).toEqual({ privileged: true, caps: [...CAP_LIST], maskPaths: false, devices: "all", nodevRoot: false, userns: "host" });
    expect(resolveSecurity({ ...none, capAdd: ["CAP_MKNOD", "sys_admin,NET_ADMIN"], capDrop: ["kill"] }).caps).toEqual(
      ["chown", "dac_override", "fowner", "fsetid", "setgid", "setuid", "setpcap", "net_bind_service", "net_admin", "net_raw", "sys_chroot", "sys_admin", "mknod", "audit_write", "setfcap"]);
    // Named capabilities do not lift the masks or the device policy: only --privileged does.
    expect(resolveSecurity({ ...none, capAdd: ["all"] })).toMatchObject({ caps: [...CAP_LIST], maskPaths: true, devices: "minimal", nodevRoot: true });
    expect(resolveSecurity({ ...none, capAdd: ["all"], capDrop: ["sys_admin"] }).caps).not.toContain("sys_admin");
    expect(resolveSecurity({ ...none, capAdd: ["net_bind_service"], capDrop: ["all"] }).caps).toEqual(["net_bind_service"]);
    expect(resolveSecurity({ ...none, privileged: true, capDrop: ["sys_admin"] }).caps).toHaveLength(CAP_LIST.length - 1);
    expect(resolveSecurity({ ...none, userns: "auto" }).userns).toBe("auto");
    expect(() => resolveSecurity({ ...none, capAdd: ["sys_wizard"] })).toThrow(/unknown capability 'sys_wizard' for --cap-add/);
    expect(() => resolveSecurity({ ...none, capAdd: ["mknod"], capDrop: ["CAP_MKNOD"] })).toThrow(/'mknod' is both added and dropped/);
    expect(() => resolveSecurity({ ...none, userns: "keep-id" })).toThrow(/unknown --userns 'keep-id'/);
    expect(parseCapability(" Cap_Net_Raw ", "--cap-add")).toBe("net_raw");
    expect(CAP_LIST).toHaveLength(41);
    expect(CAP_LIST.indexOf("sys_admin")).toBe(21);
    expect(CAP_LIST.indexOf("checkpoint_restore")).toBe(40);
  });
});

describe("host parsers", () => {
  it("parses /proc/filesystems, mountinfo cgroups, cpu lists, stat start times, mounts under a dir, users", () => {
    expect([...parseFilesystems("nodev\tsysfs\n\text4\nnodev\toverlay\n")]).toEqual(["sysfs", "ext4", "overlay"]);
    const mi = [
      "35 25 0:30 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw",
      "36 25 0:31 / /sys/fs/cgroup/cpu rw,nosuid - cgroup cgroup rw,cpu",
      "37 25 0:32 / /sys/fs/cgroup/pids rw,nosuid - cgroup cgroup rw,pids",
      "38 25 0:33 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd",
    ].join("\n");
    expect(parseCgroupMounts(mi)).toEqual({ v1: { cpu: "/sys/fs/cgroup/cpu", pids: "/sys/fs/cgroup/pids" }, v1Named: "/sys/fs/cgroup/systemd", v2: "/sys/fs/cgroup/unified" });
    expect(parseCgroupMounts("39 25 0:34 / /sys/fs/cgroup/devices rw - cgroup cgroup rw,devices").v1Devices).toBe("/sys/fs/cgroup/devices");
    expect(cpuList("0-2,5")).toEqual([0, 1, 2, 5]);
    expect(startTimeFromStat("123 (node (x)) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 4242 99")).toBe("4242");
    expect(stateFromStat("123 (node (x)) Z 1 2 3")).toBe("Z");
    expect(mountsUnder("1 2 0:1 / /a/b rw - x x rw\n1 2 0:1 / /a/bc rw - x x rw\n", "/a/b")).toEqual(["/a/b"]);
    expect(resolveUser("nobody", "root:x:0:0::/:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n", "")).toMatchObject({ uid: 65534, gid: 65534 });
    expect(resolveUser("1000:5", undefined, undefined)).toEqual({ uid: 1000, gid: 5, groups: [] });
    expect(() => resolveUser("ghost", "", "")).toThrow(/not in the image/);
  });
});
