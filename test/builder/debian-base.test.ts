// Distribution bases and the shipped apt recipe, built for real from deb.debian.org (debootstrap,
// then apt-get in a run step with cache mounts). One file, so that the debootstrap of bookworm's
// minbase (~0.5-1.5 min) is made once per store and shared by the recipe tests through it:
// - two cold builds of the same base in two stores (SOURCE_DATE_EPOCH set) give the same layer;
//   a rebuild is a cache hit with no network at all (in a network namespace of its own);
// - the tree is tidied (no logs, debs, lists, host hostname or resolver, device nodes);
// - nothing of the host changes: no mount, no process, no scratch dir is left, also on SIGINT;
// - a missing debootstrap, an unknown suite, an unreachable mirror, an unknown package: one line, exit 1, nothing stored;
// - recipes/debian-curl.ts: a change in its later step reuses the packages layer (cache hit), a
//   change in its apt step downloads no package again ("Need to get 0 B").
import { execa } from "execa";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, ROOT, tempDir } from "../helpers/cli.js";
import { hostLeaks, lockHost } from "../runtime/fixtures.js";

const EPOCH = "1700000000";
const tmp = tempDir("minic-debian-");
afterAll(() => tmp.remove());
const storeA = join(tmp.path, "a");
const storeB = join(tmp.path, "b");

function recipe(name: string, base: string, steps = ""): string {
  const dir = join(tmp.path, `r-${name}`);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.ts`);
  writeFileSync(file, `import { debian, defineRecipe, run, file } from "minic";\nexport default defineRecipe({ name: ${JSON.stringify(name)}, base: ${base}, steps: [${steps}] });\n`);
  return file;
}

interface Built { exitCode: number; out: string; images?: { ref: string; cached: boolean; layer: { digest: string; diffId: string } | null }[] }

/** `node bin/minic.js build` (through `prefix`, e.g. unshare, when given). */
async function build(store: string, file: string, args: string[] = [], opts: { env?: NodeJS.ProcessEnv; prefix?: string[] } = {}): Promise<Built> {
  const argv = [...(opts.prefix ?? []), process.execPath, BIN, "build", file, "--store", store, "--json", ...args];
  const r = await execa(argv[0]!, argv.slice(1), { reject: false, all: true, encoding: "utf8", stdin: "ignore", env: { ...process.env, SOURCE_DATE_EPOCH: EPOCH, ...opts.env } });
  const out = String(r.all ?? "");
  return { exitCode: r.exitCode ?? 128, out, images: r.exitCode === 0 ? JSON.parse(out.slice(out.indexOf("{\n"))).images : undefined };
}

const minicLines = (out: string) => out.split("\n").filter((l) => l.startsWith("minic:"));
/** Mounts whose mount point is under `dir`, as the host sees them. */
const mountsUnder = (dir: string) => readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.split(" ")[4]?.startsWith(dir));
// The host's mounts, but those other test files make in their own temp dirs while this one runs
// (their tmpfs under /tmp/minic-*): this file's own are checked by mountsUnder(tmp.path).
const hostMounts = () => readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => !(l.split(" ")[4] ?? "").startsWith(join(tmpdir(), "minic-")));
/** Live processes whose root or cwd is under `dir` (a chroot of debootstrap's, a leftover of it). */
function processesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const p of readdirSync("/proc").filter((n) => /^\d+$/.test(n))) {
    for (const link of ["root", "cwd"]) {
      try {
        if (readlinkSync(`/proc/${p}/${link}`).startsWith(dir)) out.push(`${p} ${link}`);
      } catch {
        /* gone, or a kernel thread */
      }
    }
  }
  return out;
}
/** What a store holds besides its empty skeleton: blobs, cache records, scratch. */
function stored(store: string) {
  const list = (d: string) => (existsSync(join(store, d)) ? readdirSync(join(store, d)) : []);
  return { blobs: list("blobs/sha256"), records: list("cache").filter((f) => f.endsWith(".json")), tmp: list("tmp"), unpacked: list("unpacked") };
}

const BASE = 'debian({ suite: "bookworm", variant: "minbase" })';

describe("debian() bases", () => {
  let first: Built;

  it("two cold builds give the same layer; a rebuild is a cache hit with no network; the host is untouched", async () => {
    const file = recipe("deb", BASE);
    const mountsBefore = hostMounts();
    const [a, b] = await Promise.all([build(storeA, file), build(storeB, file)]);
    expect(a.exitCode, a.out).toBe(0);
    expect(b.exitCode, b.out).toBe(0);
    first = a;
    // A recipe without steps: its image is the base's one layer.
    const la = JSON.parse((await execa(process.execPath, [BIN, "inspect", "deb", "--json", "--store", storeA])).stdout).layers;
    const lb = JSON.parse((await execa(process.execPath, [BIN, "inspect", "deb", "--json", "--store", storeB])).stdout).layers;
    expect(la).toHaveLength(1);
    expect(la[0].diffId).toBe(lb[0].diffId);
    expect(la[0].digest).toBe(lb[0].digest);
    expect(mountsUnder(tmp.path)).toEqual([]);
    expect(hostMounts()).toEqual(mountsBefore);
    expect(processesUnder(tmp.path)).toEqual([]);
    expect(stored(storeA).tmp).toEqual([]);
    // No network at all (a network namespace with only a loopback that is down): a cache hit.
    const again = await build(storeA, file, ["--explain"], { prefix: ["unshare", "--net"] });
    expect(again.exitCode, again.out).toBe(0);
    expect(again.out).toContain("debian bookworm (minbase): cache hit");
    expect(again.out).not.toContain("debootstrap --variant");
  }, 900_000);

  it("the layer leaves out logs, apt's debs and lists, the host's hostname and resolver, device nodes; setuid bits stay", () => {
    const diffId = readdirSync(join(storeA, "unpacked")).find((d) => /^[0-9a-f]{64}$/.test(d))!;
    const root = join(storeA, "unpacked", diffId);
    expect(readFileSync(join(root, "etc/debian_version"), "utf8")).toMatch(/^12\./);
    for (const gone of ["var/log/dpkg.log", "var/log/bootstrap.log", "var/log/alternatives.log", "etc/hostname", "etc/resolv.conf", "var/cache/ldconfig/aux-cache", "var/lib/dpkg/status-old", "dev/null"]) {
      expect(existsSync(join(root, gone)), gone).toBe(false);
    }
    expect(readdirSync(join(root, "var/cache/apt/archives")).filter((f) => f.endsWith(".deb"))).toEqual([]);
    expect(readdirSync(join(root, "var/lib/apt/lists")).filter((f) => f !== "partial" && f !== "lock")).toEqual([]);
    expect(existsSync(join(root, "var/lib/dpkg/status"))).toBe(true);
    expect(lstatSync(join(root, "usr/bin/su")).mode & 0o4000).toBe(0o4000);
    // shadow took its dates from SOURCE_DATE_EPOCH (days since 1970), not from the clock.
    expect(readFileSync(join(root, "etc/shadow"), "utf8").split("\n")[0]).toBe(`root:*:${Math.floor(Number(EPOCH) / 86400)}:0:99999:7:::`);
    expect(first.out).toContain("debian bookworm (minbase): built layer");
  });

  it("without debootstrap: one line with the package to install, exit 1, nothing stored", async () => {
    const bin = join(tmp.path, "bin-empty"); // a PATH without debootstrap (minic itself is started by its path)
    mkdirSync(bin, { recursive: true });
    const store = join(tmp.path, "c");
    const r = await build(store, recipe("nodbs", 'debian({ suite: "bookworm", packages: ["hello"] })'), [], { env: { PATH: bin } });
    expect(r.exitCode).toBe(1);
    expect(minicLines(r.out)).toEqual(["minic: debootstrap is not installed: recipes on a debian() base need it (hint: apt-get install debootstrap)"]);
    expect(stored(store)).toMatchObject({ blobs: [], records: [], tmp: [] });
  });

  it("an unknown suite, an unreachable mirror, an unknown package: one line each, exit 1, nothing stored, nothing left", async () => {
    const store = join(tmp.path, "d");
    const suite = await build(store, recipe("nosuite", 'debian({ suite: "nosuchsuite" })'));
    expect(suite.exitCode).toBe(1);
    expect(minicLines(suite.out)).toEqual(["minic: recipe 'nosuite': debootstrap knows no suite 'nosuchsuite' (hint: use a codename or suite it has a script for (ls /usr/share/debootstrap/scripts), e.g. bookworm, trixie, stable)"]);
    // Port 1 of loopback: nothing listens there (the test's own address; no traffic leaves the host).
    const mirror = await build(store, recipe("nomirror", 'debian({ suite: "bookworm", mirror: "http://127.0.0.1:1/debian" })'));
    expect(mirror.exitCode).toBe(1);
    expect(minicLines(mirror.out)).toEqual([
      "minic: recipe 'nomirror': base debian bookworm (minbase): debootstrap could not download from http://127.0.0.1:1/debian (Failed getting release file http://127.0.0.1:1/debian/dists/bookworm/Release) (hint: check that the network reaches the mirror and that it has that suite (old releases live on http://archive.debian.org/debian))",
    ]);
    const pkg = await build(store, recipe("nopkg", 'debian({ suite: "bookworm", packages: ["no-such-package-minic"] })'));
    expect(pkg.exitCode).toBe(1);
    expect(minicLines(pkg.out)).toEqual([
      "minic: recipe 'nopkg': base debian bookworm (minbase): http://deb.debian.org/debian has no package no-such-package-minic in bookworm (hint: check the package names (apt-cache policy NAME on a machine of that suite); debootstrap takes names from the main component)",
    ]);
    expect(stored(store)).toMatchObject({ blobs: [], records: [], tmp: [], unpacked: [] });
    expect(mountsUnder(tmp.path)).toEqual([]);
    expect(processesUnder(tmp.path)).toEqual([]);
  }, 300_000);

  it("a bad suite or package name is the recipe's error at its line", async () => {
    const r = await build(join(tmp.path, "e"), recipe("badname", 'debian({ suite: "bookworm", packages: ["curl=7.88"] })'));
    expect(r.exitCode).toBe(1);
    expect(minicLines(r.out)).toEqual([
      expect.stringMatching(/^minic: \S*r-badname\/badname\.ts:2:\d+: debian\(\) package "curl=7\.88" is not a Debian package name \(hint: lowercase letters, digits and \+ - \. \(no versions: debootstrap takes names\)\)$/),
    ]);
    expect(existsSync(join(tmp.path, "e", "blobs")) ? readdirSync(join(tmp.path, "e", "blobs", "sha256")) : []).toEqual([]);
  });

  it("SIGINT during debootstrap stops it and its whole PID namespace: exit 130, no process, mount or scratch left", async () => {
    const store = join(tmp.path, "f");
    const child = execa(process.execPath, [BIN, "build", recipe("intr", BASE), "--store", store, "--no-cache"], { reject: false, all: true, stdin: "ignore", env: { ...process.env, SOURCE_DATE_EPOCH: EPOCH } });
    // Wait until debootstrap unpacks into its target (it chroots there to configure packages).
    const deadline = Date.now() + 240_000;
    const target = () => (existsSync(join(store, "tmp")) ? readdirSync(join(store, "tmp")).filter((n) => n.startsWith("build-")).map((n) => join(store, "tmp", n, "rootfs")) : []);
    while (Date.now() < deadline && !target().some((t) => existsSync(join(t, "usr/bin")))) await new Promise((r) => setTimeout(r, 200));
    expect(target().length).toBe(1);
    child.kill("SIGINT");
    const r = await child;
    expect(r.exitCode, String(r.all)).toBe(130);
    expect(processesUnder(store)).toEqual([]);
    expect(mountsUnder(store)).toEqual([]);
    expect(stored(store)).toMatchObject({ blobs: [], records: [], tmp: [] });
  }, 300_000);
});

describe("recipes/debian-curl.ts (apt-get in a run step with cache mounts)", () => {
  let unlock: (() => void) | undefined;
  beforeAll(async () => {
    unlock = await lockHost(); // run steps make cgroups: no other runtime test may look meanwhile
  }, 600_000);
  afterAll(() => unlock?.());

  const shipped = readFileSync(join(ROOT, "recipes", "debian-curl.ts"), "utf8");
  /** The shipped recipe with `edit` applied, in a directory of its own (as a user edits it). */
  function edited(tag: string, edit: (s: string) => string): string {
    const dir = join(tmp.path, `curl-${tag}`);
    mkdirSync(dir, { recursive: true });
    const text = edit(shipped);
    writeFileSync(join(dir, "debian-curl.ts"), text);
    return join(dir, "debian-curl.ts");
  }

  it("builds; a change in the later step reuses the packages layer; a change in the apt step downloads nothing", async () => {
    const cold = await build(storeA, join(ROOT, "recipes", "debian-curl.ts"), ["--explain"]);
    expect(cold.exitCode, cold.out).toBe(0);
    expect(cold.out).toContain("debian bookworm (minbase): cache hit"); // the base the first test made
    expect(cold.out).toMatch(/Get:\d+ \S+ bookworm\/main amd64 curl /);
    const run = await execa(process.execPath, [BIN, "run", "--store", storeA, "--net", "none", "debian-curl", "--", "/bin/sh", "-c", "cat /etc/curl-version; ls /var/cache/apt/archives | grep -c '\\.deb$' || true"], { reject: false, all: true });
    expect(run.exitCode, String(run.all)).toBe(0);
    expect(String(run.stdout).split("\n")).toEqual([expect.stringMatching(/^curl 7\.88\.1 /), "0"]); // the debs stayed in the cache mount

    const later = await build(storeA, edited("later", (s) => s.replace("built by minic", "built again by minic")), ["--explain"]);
    expect(later.exitCode, later.out).toBe(0);
    expect(later.out).toContain("debian-curl-packages: cache hit");
    expect(later.out).not.toContain("apt-get update");
    expect(later.images!.map((i) => i.cached)).toEqual([true, false]);

    const apt = await build(storeA, edited("apt", (s) => s.replace("curl ca-certificates\"", "curl ca-certificates && echo changed\"")), ["--explain"]);
    expect(apt.exitCode, apt.out).toBe(0);
    expect(apt.out).toContain("debian-curl-packages: cache miss");
    expect(apt.out).toMatch(/Need to get 0 B\/[\d.,]+ [kM]B of archives/);
    expect(apt.out).not.toMatch(/Get:\d+ \S+ bookworm\/main amd64 /); // no package fetched again
    expect(hostLeaks()).toEqual([]);
  }, 900_000);
});
