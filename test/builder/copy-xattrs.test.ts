// Extended attributes and the copy steps (issue 10 follow-ups), for real as root:
// - copy(from(stage, …)) keeps what minic carries: a builder stage's run step sets a file
//   capability (setcap cap_net_raw+ep) and user.* xattrs, the final image copies the files (one
//   with another owner, which would clear a capability set before it): the final layer's
//   .minic-xattrs table holds them and getcap inside `minic run` of the final image shows the
//   capability; a stage without xattrs gives the layer it gave before (no table);
// - a host copy's cache key covers its files' carried xattrs: setting, changing or removing only
//   an xattr builds the step again (--explain names the file) and the layer has the new value;
//   unchanged, the step is a cache hit, and once the files' digests are remembered a no-op build
//   runs no getfattr for them.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { LAUNCHER, minic, minicOk, tempDir } from "../helpers/cli.js";
import { makeBusyboxTree } from "../helpers/busybox-tree.js";
import { withHostLock } from "../runtime/fixtures.js";

const root = process.getuid?.() === 0;
const maybe = root ? describe : describe.skip;

const t = tempDir("minic-copy-xattrs-");
const store = join(t.path, "store");
const sh = (cmd: string, cwd = t.path) => execFileSync("sh", ["-c", cmd], { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

/** The top layer of a stored image: its blob path and diff id. */
function topLayer(image: string): { blob: string; diffId: string } {
  const l = (JSON.parse(execFileSync(LAUNCHER, ["inspect", image, "--json", "--store", store], { encoding: "utf8" })).layers as { digest: string; diffId: string }[]).at(-1)!;
  return { blob: join(store, "blobs", "sha256", l.digest.slice(7)), diffId: l.diffId };
}

/** The names in the image's top layer, and its .minic-xattrs table ("" when it has none). */
function layerOf(image: string): { names: string[]; table: string } {
  const { blob } = topLayer(image);
  const names = sh(`bzip2 -dc '${blob}' | cpio -it --quiet`).split("\n").filter(Boolean);
  const table = names.includes(".minic-xattrs") ? sh(`bzip2 -dc '${blob}' | cpio -i --to-stdout --quiet .minic-xattrs`) : "";
  return { names, table };
}

const b64 = (s: string) => Buffer.from(s).toString("base64");

/** Writes recipe `name` in `dir` (after the import of "minic"'s API) and returns its path. */
function recipe(dir: string, name: string, source: string): string {
  const file = join(dir, `${name}.ts`);
  writeFileSync(file, `import { copy, defineRecipe, from, run } from "minic";\n${source}\n`);
  return file;
}

beforeAll(async () => {
  if (!root) return;
  // A busybox base with setcap, getcap, setfattr and getfattr (and their libraries).
  const tree = join(t.path, "tree");
  mkdirSync(tree);
  makeBusyboxTree(tree);
  mkdirSync(join(tree, "lib/x86_64-linux-gnu"), { recursive: true });
  mkdirSync(join(tree, "lib64"), { recursive: true });
  for (const p of ["/usr/sbin/getcap", "/usr/sbin/setcap", "/usr/bin/getfattr", "/usr/bin/setfattr", "/lib/x86_64-linux-gnu/libcap.so.2", "/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"]) {
    copyFileSync(p, join(tree, p));
  }
  sh("chmod 755 usr/sbin/getcap usr/sbin/setcap usr/bin/getfattr usr/bin/setfattr", tree);
  await minicOk(["import", tree, "-t", "xb:1", "--store", store]);
}, 120_000);
afterAll(() => t.remove());

maybe("extended attributes of copied files", () => {
  it("a copy from a stage keeps the stage's file capability and user.* xattrs; getcap sees it in the final image", async () => {
    const d = join(t.path, "stage");
    mkdirSync(d);
    recipe(d, "builder", `export default defineRecipe({ name: "xbuilder", base: "xb:1", steps: [
  run(["/bin/sh", "-c", "mkdir -p /out && cp /bin/busybox /out/pinger && setcap cap_net_raw+ep /out/pinger && setfattr -n user.origin -v stage /out/pinger && ln /out/pinger /out/pinger2 && echo d > /out/data && setfattr -n user.bin -v 0x00ff0a /out/data && echo p > /out/plain"]),
] });`);
    const app = recipe(d, "app", `import builder from "./builder.ts";
export default defineRecipe({ name: "xfinal", base: "xb:1", steps: [
  copy(from(builder, "/out"), "/opt"),
  copy(from(builder, "/out/pinger"), "/usr/bin", { uid: 7, gid: 7 }),
] });`);
    const r = await minic(["build", app, "--store", store]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/left out extended attributes/);
    const cap = "AQAAAgAgAAAAAAAAAAAAAAAAAAA="; // cap_net_raw+ep, as setcap writes it (VFS_CAP_REVISION_2)
    expect(layerOf("xfinal").table).toBe([
      `# file: opt/data\nuser.bin=0sAP8K\n`,
      `# file: opt/pinger\nsecurity.capability=0s${cap}\nuser.origin=0s${b64("stage")}\n`,
      `# file: opt/pinger2\nsecurity.capability=0s${cap}\nuser.origin=0s${b64("stage")}\n`,
      `# file: usr/bin/pinger\nsecurity.capability=0s${cap}\nuser.origin=0s${b64("stage")}\n`,
      "",
    ].join("\n"));
    const run = await withHostLock(() => minicOk(["run", "--store", store, "xfinal", "/bin/sh", "-c", "getcap /opt/pinger /opt/pinger2 /usr/bin/pinger /opt/plain; stat -c '%i %u' /opt/pinger /opt/pinger2 /usr/bin/pinger; getfattr -d -m user. -e hex /opt/data /usr/bin/pinger 2>/dev/null"]));
    expect(run.stdout).toMatch(/^\/opt\/pinger cap_net_raw=ep$/m);
    expect(run.stdout).toMatch(/^\/opt\/pinger2 cap_net_raw=ep$/m);
    expect(run.stdout).toMatch(/^\/usr\/bin\/pinger cap_net_raw=ep$/m); // set after its new owner
    expect(run.stdout).not.toMatch(/plain/);
    const [a, b, c] = run.stdout.split("\n").filter((l) => /^\d+ \d+$/.test(l));
    expect(a!.split(" ")[0]).toBe(b!.split(" ")[0]); // still one file
    expect(c!.split(" ")[1]).toBe("7");
    expect(run.stdout).toContain("user.bin=0x00ff0a\n");
    expect(run.stdout).toContain(`user.origin=0x${Buffer.from("stage").toString("hex")}\n`);
  }, 300_000);

  it("a copy from a stage without xattrs makes the layer it made before: no table", async () => {
    const d = join(t.path, "plain-stage");
    mkdirSync(d);
    recipe(d, "builder", `export default defineRecipe({ name: "pbuilder", base: "xb:1", steps: [run(["/bin/sh", "-c", "mkdir -p /out && echo p > /out/plain"])] });`);
    const app = recipe(d, "app", `import builder from "./builder.ts";
export default defineRecipe({ name: "pfinal", base: "xb:1", steps: [copy(from(builder, "/out/plain"), "/opt")] });`);
    await minicOk(["build", app, "--store", store]);
    expect(layerOf("pfinal")).toEqual({ names: ["opt", "opt/plain"], table: "" });
  }, 300_000);

  it("a host copy's cache key covers its files' carried xattrs: a changed xattr builds the step again, an unchanged one is a cache hit", async () => {
    const d = join(t.path, "host");
    mkdirSync(join(d, "in"), { recursive: true });
    writeFileSync(join(d, "in/conf"), "c\n");
    writeFileSync(join(d, "in/other"), "o\n");
    sh("ln in/other in/link", d); // a hard link: its xattrs are its inode's, read under one name
    await sleep(2100); // older than 2 s: the first build remembers their digests (xattrs: none)
    const app = recipe(d, "app", `export default defineRecipe({ name: "xhost", base: "xb:1", steps: [copy("in/*", "/etc/app")] });`);
    const build = async (env: Record<string, string> = {}) => {
      const r = await minicOk(["build", app, "--explain", "--store", store], { env });
      return { out: r.stdout + r.stderr, stderr: r.stderr, cached: /xhost: cached/.test(r.stdout + r.stderr), ...layerOf("xhost"), diffId: topLayer("xhost").diffId };
    };
    const plain = await build();
    expect(plain.table).toBe("");

    sh("setfattr -n user.x -v 1 in/conf", d);
    const one = await build();
    expect(one.cached).toBe(false);
    expect(one.out).toMatch(/conf extended attributes changed/);
    expect(one.out).not.toMatch(/other/);
    expect(one.table).toBe(`# file: etc/app/conf\nuser.x=0s${b64("1")}\n\n`);

    sh("setfattr -n user.x -v 2 in/conf", d);
    const two = await build({ MINIC_DEBUG: "1" });
    // For the key only conf is read (just changed; other and link are remembered); as the files
    // are copied, conf and one name of other and link (a hard link's xattrs are its inode's).
    const reads = two.stderr.split("\n").filter((l) => l.startsWith("+ getfattr -h -d -m - -e base64 --absolute-names -- ")).map((l) => l.split(" -- ")[1]!.split(" "));
    expect(reads.map((r) => r.length)).toEqual([1, 2]);
    expect(reads[0]![0]).toMatch(/\/in\/conf$/);
    expect(two.cached).toBe(false);
    expect(two.out).toMatch(/conf extended attributes changed/);
    expect(two.table).toBe(`# file: etc/app/conf\nuser.x=0s${b64("2")}\n\n`);

    const same = await build();
    expect(same.cached).toBe(true);
    expect(same.diffId).toBe(two.diffId);

    // Remembered once the files are older than 2 s; then a no-op build reads no xattrs of them.
    await sleep(2100);
    expect((await build()).cached).toBe(true);
    const quiet = await minicOk(["build", app, "--store", store], { env: { MINIC_DEBUG: "1" } });
    expect(quiet.stdout + quiet.stderr).toMatch(/xhost: cached/);
    expect(quiet.stderr).not.toMatch(/^\+ getfattr/m);

    // Still covered when remembered: removing the xattr gives the key of the first build again
    // (a file without xattrs adds nothing to it), and so its layer, without a table.
    sh("setfattr -x user.x in/conf", d);
    const removed = await build();
    expect(removed.cached).toBe(true);
    expect(removed.table).toBe("");
    expect(removed.diffId).toBe(plain.diffId);
    sh("setfattr -n user.x -v 2 in/conf", d);
    const again = await build();
    expect(again.cached).toBe(true); // the layer with user.x=2, built before
    expect(again.diffId).toBe(two.diffId);
  }, 300_000);
});
