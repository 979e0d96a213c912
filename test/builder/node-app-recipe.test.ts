// The shipped Node recipe, recipes/node-app.ts, built for real from deb.debian.org and the npm
// registry (the only traffic: debootstrap and apt-get to Debian's archive, npm ci to the registry):
// - its builder stage runs `npm ci` with npm's cache as a cache mount and tests the app; the final
//   image is the node base plus /app, run by a user of its own: no npm, no npm cache, no test;
// - the final image is smaller than the builder's, and holds the base's layer plus one small layer;
// - a rebuild after a change of the app's source alone runs `npm ci` again from the cache mount,
//   under `--network none`: nothing is downloaded.
// One store for the file: the base (debootstrap of bookworm's minbase + nodejs, ~1-4 min here) is
// made once; the test takes ~3-6 min in all, most of it debootstrap and apt-get install npm.
import { execa } from "execa";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, ROOT, tempDir } from "../helpers/cli.js";
import { hostLeaks, lockHost } from "../runtime/fixtures.js";

const tmp = tempDir("minic-node-app-");
const store = join(tmp.path, "store");
/** This machine's egress intercepts TLS with a CA of its own: npm gets the host's bundle as a secret (harmless elsewhere). */
const CA = ["--arg", "NPM_CA=yes", "--secret", "id=npm-ca,src=/etc/ssl/certs/ca-certificates.crt"];

/** `minic build FILE --json ARGS` in the file's store: exit status and the whole output. */
async function build(file: string, args: string[] = CA) {
  const r = await execa(process.execPath, [BIN, "build", file, "--store", store, "--json", ...args], { reject: false, all: true, encoding: "utf8", stdin: "ignore" });
  return { exitCode: r.exitCode ?? 128, out: String(r.all ?? "") };
}

/** `minic run --net none IMAGE [args]` in the file's store. */
async function run(args: string[]) {
  const r = await execa(process.execPath, [BIN, "run", "--store", store, "--net", "none", ...args], { reject: false, all: true, encoding: "utf8", stdin: "ignore" });
  return { exitCode: r.exitCode ?? 128, stdout: String(r.stdout ?? ""), all: String(r.all ?? "") };
}

const images = async () =>
  JSON.parse((await execa(process.execPath, [BIN, "images", "--json", "--store", store])).stdout) as { name: string; size: number }[];
const layersOf = async (image: string) =>
  (JSON.parse((await execa(process.execPath, [BIN, "inspect", image, "--json", "--store", store])).stdout) as { layers: { digest: string; size: number }[] }).layers;
const layerNames = (digest: string) =>
  execa("sh", ["-c", `bzip2 -dc '${join(store, "blobs/sha256", digest.slice(7))}' | cpio -it --quiet`]).then((r) => r.stdout.split("\n").filter(Boolean).sort());

let unlock: (() => void) | undefined;
beforeAll(async () => {
  // The base first, outside the host lock (debootstrap makes no cgroup): the same debian() inputs
  // as the recipe's, so the recipe's build finds it cached.
  writeFileSync(join(tmp.path, "base.ts"), 'import { debian, defineRecipe } from "minic";\nexport default defineRecipe({ name: "node-base-warm", base: debian({ suite: "bookworm", variant: "minbase", packages: ["nodejs"] }), steps: [] });\n');
  const base = await build(join(tmp.path, "base.ts"), []);
  expect(base.exitCode, base.out).toBe(0);
  unlock = await lockHost(); // run steps and `minic run` make cgroups: no other runtime test may look meanwhile
}, 900_000);
afterAll(() => {
  unlock?.();
  tmp.remove();
});

describe("recipes/node-app.ts (npm ci in a builder stage with a cache mount, a small final image)", () => {
  it("builds: npm ci downloads the locked packages into the cache mount, the app's test passes; the image runs the app as a user of its own", async () => {
    const cold = await build(join(ROOT, "recipes", "node-app.ts"));
    expect(cold.exitCode, cold.out).toBe(0);
    expect(cold.out).toContain("debian bookworm (minbase): cached");
    expect(cold.out).toMatch(/node-app-npm: built layer/);
    expect(cold.out).toMatch(/node-app-builder: built layer/);
    // The cache mount is empty in a fresh store: npm fetches both tarballs of the lock file.
    expect(cold.out).toMatch(/npm http fetch GET 200 https:\/\/registry\.npmjs\.org\/ms\/-\/ms-2\.1\.3\.tgz .*\(cache miss\)/);
    expect(cold.out).toMatch(/npm http fetch GET 200 https:\/\/registry\.npmjs\.org\/picocolors\/-\/picocolors-1\.1\.1\.tgz .*\(cache miss\)/);
    expect(cold.out).toContain("test: ok");
    const r = await run(["node-app"]);
    expect(r.exitCode, r.all).toBe(0);
    expect(r.stdout).toMatch(/^hello, world \(node-app 1\.0 on node 18\.\d+\.\d+, user [1-9]\d*, 2 hours\)$/);
    expect((await run(["node-app", "--", "id", "-un"])).stdout).toBe("app");
  }, 900_000);

  it("the final image is the node base plus /app and the user: no npm, no npm cache, no test; smaller than the builder", async () => {
    const probe = await run(["-u", "0", "node-app", "--", "/bin/sh", "-c",
      "for p in /usr/bin/npm /usr/bin/npx /usr/share/nodejs/npm /root/.npm /build /app/test.js /var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease; do [ -e $p ] && echo has $p; done; ls /app /app/node_modules; command -v node"]);
    expect(probe.exitCode, probe.all).toBe(0);
    expect(probe.stdout.split("\n")).toEqual(["/app:", "main.js", "node_modules", "package-lock.json", "package.json", "", "/app/node_modules:", "ms", "picocolors", "/usr/bin/node"]);
    // The builder has npm (and what the probe looks for), so the probe would see it there.
    expect((await run(["-u", "0", "node-app-builder", "--", "/bin/sh", "-c", "ls -d /usr/bin/npm /usr/share/nodejs/npm /build/test.js"])).stdout.split("\n")).toEqual(["/build/test.js", "/usr/bin/npm", "/usr/share/nodejs/npm"]);

    const [base, app] = [await layersOf("node-app-base"), await layersOf("node-app")];
    expect(app.map((l) => l.digest)).toEqual([base[0]!.digest, app[1]!.digest]);
    const names = await layerNames(app[1]!.digest);
    expect(names.filter((n) => !n.startsWith("app/") && n !== "app")).toEqual(["etc", "etc/.pwd.lock", "etc/group", "etc/group-", "etc/gshadow", "etc/gshadow-", "etc/passwd", "etc/passwd-", "etc/shadow", "etc/shadow-"]);
    expect(names).toEqual(expect.arrayContaining(["app/main.js", "app/node_modules/ms/index.js", "app/node_modules/picocolors/picocolors.js"]));
    const size = Object.fromEntries((await images()).map((i) => [i.name, i.size]));
    expect(size["node-app"]!).toBeLessThan(size["node-app-builder"]!);
    expect(size["node-app"]! - size["node-app-base"]!).toBeLessThan(100_000); // the app's layer: a few kB
    expect(size["node-app-builder"]! - size["node-app"]!).toBeGreaterThan(10_000_000); // npm and its ~300 node-* packages
  }, 300_000);

  it("a change of the app's source alone builds the builder stage again, npm ci from the cache mount under --network none: nothing downloaded", async () => {
    const dir = join(tmp.path, "edited");
    cpSync(join(ROOT, "recipes", "node-app.ts"), join(dir, "node-app.ts"));
    cpSync(join(ROOT, "recipes", "node-app"), join(dir, "node-app"), { recursive: true });
    for (const f of ["main.js", "test.js"]) {
      const p = join(dir, "node-app", f);
      writeFileSync(p, readFileSync(p, "utf8").replace("node-app 1.0 on", "node-app 1.1 on"));
    }
    const again = await build(join(dir, "node-app.ts"), [...CA, "--network", "none"]);
    expect(again.exitCode, again.out).toBe(0);
    expect(again.out).toContain("node-app-npm: cached");
    expect(again.out).toMatch(/node-app-builder: built layer/);
    expect(again.out).toContain("$ /bin/sh -c npm ci --omit=dev");
    expect(again.out).toMatch(/added 2 packages in/);
    expect(again.out).not.toContain("npm http fetch");
    expect(again.out).toContain("test: ok");
    expect((await run(["node-app"])).stdout).toMatch(/^hello, world \(node-app 1\.1 on node 18\./);
    expect(hostLeaks()).toEqual([]);
  }, 600_000);
});
