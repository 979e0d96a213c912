// The CLI's edges: global options first, help for one command, closed pipes, bad paths, read-only
// commands that leave no store behind, temp files of dead processes swept, odd terminals.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execa } from "execa";
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { BIN, LAUNCHER, minic, minicOk, tempDir } from "../helpers/cli.js";
import { makeBusyboxTree } from "../helpers/busybox-tree.js";

const t = tempDir("minic-cli-edges-");
const store = join(t.path, "s");
beforeAll(async () => {
  const tree = join(t.path, "tree");
  mkdirSync(tree);
  makeBusyboxTree(tree);
  await minicOk(["import", tree, "-t", "bb", "--store", store]);
});
afterAll(() => t.remove());

describe("minic CLI edges", () => {
  it("takes --store before the command, and help for one command", async () => {
    expect((await minicOk(["--store", store, "images"])).stdout).toMatch(/^bb:latest /m);
    expect((await minicOk([`--store=${store}`, "inspect", "bb"])).stdout).toMatch(/^image\s+bb:latest$/m);
    expect((await minicOk(["help", "gc"])).stdout).toMatch(/^usage: minic gc/);
  });

  it("a reader that closes the pipe early gets no stack trace, and nothing is left in tmp", async () => {
    for (const cmd of [`save bb --store '${store}' | head -c 10 >/dev/null`, `inspect bb --json --store '${store}' | head -1 >/dev/null`]) {
      const r = await execa("bash", ["-c", `'${process.execPath}' '${BIN}' ${cmd}; echo "status=\${PIPESTATUS[0]}"`], { reject: false });
      expect(r.stderr).toBe("");
      expect(r.stdout).toMatch(/^status=(0|141)$/);
    }
    // The same through the launcher, for a command the startup snapshot carries.
    const r = await execa("bash", ["-c", `'${LAUNCHER}' ps --store '${store}' | true; echo "status=\${PIPESTATUS[0]}"`], { reject: false });
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^status=(0|141)$/);
    expect(readdirSync(join(store, "tmp"))).toEqual([]);
  });

  it("missing input and unwritable output paths are one-line errors", async () => {
    const a = await minic(["load", join(t.path, "nope.tar"), "--store", store]);
    expect(a.exitCode).toBe(1);
    expect(a.stderr.trim()).toMatch(/^minic: cannot read '.*nope\.tar': no such file \(hint: .*\)$/);
    const b = await minic(["save", "bb", "-o", join(t.path, "no/such/dir/x.tar"), "--store", store]);
    expect(b.exitCode).toBe(2);
    expect(b.stderr.trim()).toMatch(/^minic: cannot write .*: its directory does not exist \(hint: .*\)$/);
    // A directory that exists but takes no files: said so, without the temp file's name.
    const c = await minic(["save", "bb", "-o", "/proc/minic-x.tar", "--store", store]);
    expect([c.exitCode, c.stderr.trim()]).toEqual([2, "minic: cannot write '/proc/minic-x.tar': no file can be made in /proc (the file system does not allow it) (hint: give -o a path in an existing, writable directory (or - for stdout))"]);
    const d = await minic(["save", "bb", "-o", "/sys/minic-x.tar", "--store", store]);
    expect([d.exitCode, d.stderr.trim()]).toEqual([2, "minic: cannot write '/sys/minic-x.tar': no file can be made in /sys (EACCES: permission denied) (hint: give -o a path in an existing, writable directory (or - for stdout))"]);
  });

  it("a directory where a file is wanted (save/export -o DIR, load DIR) is one usage error, and nothing is written", async () => {
    const dir = join(t.path, "outdir");
    mkdirSync(dir);
    for (const cmd of [["save", "bb", "-o", dir], ["export", "bb", "-o", `${dir}/`]]) {
      const r = await minic([...cmd, "--store", store]);
      expect(r.exitCode).toBe(2);
      expect(r.stderr.trim()).toBe(`minic: cannot write '${cmd[3]}': it is a directory (hint: give -o a file path inside it, or - for stdout)`);
    }
    expect(readdirSync(dir)).toEqual([]);
    expect(readdirSync(t.path).filter((n) => n.includes("minic-out"))).toEqual([]);
    const l = await minic(["load", dir, "--store", store]);
    expect(l.exitCode).toBe(2);
    expect(l.stderr.trim()).toBe(`minic: cannot read '${dir}': it is a directory (hint: give the path of an image tarball or of an OCI layout directory (it has an oci-layout file), or - for stdin)`);
  });

  it("save/export -o into the store (also through a symlink) or -o '' is refused, and the store is untouched", async () => {
    const blobs = join(store, "blobs", "sha256");
    const victim = join(blobs, readdirSync(blobs)[0]!);
    const before = readFileSync(victim);
    symlinkSync(blobs, join(t.path, "to-blobs"));
    for (const out of [victim, join(t.path, "to-blobs", basename(victim)), join(store, "new.tar")]) {
      for (const cmd of [["save", "bb"], ["export", "bb"]]) {
        const r = await minic([...cmd, "-o", out, "--store", store]);
        expect([r.exitCode, r.stderr.trim()], `${cmd[0]} ${out}`).toEqual([2, `minic: cannot write '${out}': it is inside the store ${store}, which only minic writes (hint: give -o a path outside the store)`]);
      }
    }
    expect(readFileSync(victim).equals(before)).toBe(true);
    expect(existsSync(join(store, "new.tar"))).toBe(false);
    const e = await minic(["export", "bb", "-o", "", "--store", store]);
    expect([e.exitCode, e.stderr.trim()]).toEqual([2, "minic: -o '' names no file (hint: give -o FILE, or -o - for stdout)"]);
  });

  it("save NAME NAME writes the image once", async () => {
    const out = join(t.path, "twice.tar");
    await minicOk(["save", "bb", "bb:latest", "-o", out, "--store", store]);
    const names = (await execa("tar", ["tf", out])).stdout.split("\n");
    expect(names.length).toBe(new Set(names).size);
  });

  it("read-only commands leave no store behind", async () => {
    const cwd = join(t.path, "empty");
    mkdirSync(cwd);
    const env = { ...process.env, MINIC_STORE: join(cwd, "store") };
    expect((await minic(["images"], { cwd, env })).exitCode).toBe(0);
    expect((await minic(["inspect", "x"], { cwd, env })).exitCode).toBe(1);
    expect((await minic(["info"], { cwd, env })).exitCode).toBe(0);
    // Nor do the commands that only remove things: a mistyped store is not made.
    for (const cmd of [["ps"], ["prune"], ["rm", "x"], ["rmi", "x"]]) await minic(cmd, { cwd, env });
    const gc = await minic(["gc"], { cwd, env });
    expect([gc.exitCode, gc.stdout.trim()]).toEqual([0, `no store at ${join(cwd, "store")}: nothing to collect`]);
    expect(JSON.parse((await minicOk(["gc", "--json"], { cwd, env })).stdout)).toMatchObject({ blobs: 0, unpacked: 0, damaged: [] });
    expect(readdirSync(cwd)).toEqual([]);
  });

  it("commands that take no arguments refuse them (they were ignored); 'minic' alone is a usage error on stderr", async () => {
    for (const cmd of ["ps", "gc", "fsck", "images", "info", "doctor", "prune"]) {
      const r = await minic([cmd, "extra", "--store", store]);
      expect([r.exitCode, r.stderr.trim().split("\n")[0]], cmd).toEqual([2, expect.stringMatching(new RegExp(`^minic: ${cmd} takes no arguments \\(got 'extra'\\) \\(hint: usage: minic ${cmd}`))]);
    }
    const bare = await minic([]);
    expect([bare.exitCode, bare.stdout]).toEqual([2, ""]);
    expect(bare.stderr).toMatch(/^usage: minic COMMAND/);
    expect((await minicOk(["help"])).stdout).toMatch(/^usage: minic COMMAND/);
  });

  it("gc removes temp files whose process is gone, and keeps those of live ones", async () => {
    const tmp = join(store, "tmp");
    writeFileSync(join(tmp, ".blob-999999999-abcdef"), "half a blob");
    mkdirSync(join(tmp, "build-999999999-xyz"));
    writeFileSync(join(tmp, `.blob-${process.pid}-live`), "in use");
    await minicOk(["gc", "--store", store]);
    expect(readdirSync(tmp)).toEqual([`.blob-${process.pid}-live`]);
  });

  it("a terminal that reports 0 columns gets plain progress lines, not a spinning loop", async () => {
    const dir = join(t.path, "cols");
    mkdirSync(dir);
    writeFileSync(join(dir, "r.ts"), `import { defineRecipe, file } from "minic";\nexport default defineRecipe({ name: "cols", steps: [file("/a", "b")] });\n`);
    const inner = `stty cols 0 rows 0; '${process.execPath}' '${BIN}' build '${join(dir, "r.ts")}' --store '${store}' --no-cache`;
    const r = await execa("script", ["-qec", inner, "/dev/null"], { reject: false, timeout: 30_000, stdin: "ignore" });
    expect(r.timedOut).toBe(false);
    expect(r.stdout.length).toBeLessThan(4000);
    expect(r.stdout).toMatch(/cols:latest sha256:/);
    expect(existsSync(join(store, "refs/cols/latest"))).toBe(true);
  });
});

describe("splitting minic's options from the command to run", () => {
  it("takes options before the image, as podman: everything after it is the command's, options and all; a -- after the image is dropped", async () => {
    const { splitCommand } = await import("../../src/cli.js");
    const opts = { env: { type: "string" as const, short: "e" }, store: { type: "string" as const }, "read-only": { type: "boolean" as const } };
    expect(splitCommand(["bb", "/bin/sh", "-c", "echo $A"], opts)).toEqual([["bb"], ["/bin/sh", "-c", "echo $A"]]);
    expect(splitCommand(["-e", "A=1", "--store", "S", "bb", "sh", "-c", "x"], opts)).toEqual([["-e", "A=1", "--store", "S", "bb"], ["sh", "-c", "x"]]);
    // An image with an entrypoint gets its flags, minic's own names included.
    expect(splitCommand(["app", "-e", "A=1", "--verbose", "--store", "S"], opts)).toEqual([["app"], ["-e", "A=1", "--verbose", "--store", "S"]]);
    expect(splitCommand(["--read-only", "bb", "--", "-weird"], opts)).toEqual([["--read-only", "bb"], ["-weird"]]);
    expect(splitCommand(["--read-only", "--", "bb", "--", "x"], opts)).toEqual([["--read-only", "bb"], ["--", "x"]]);
    expect(splitCommand(["--store=S", "bb"], opts)).toEqual([["--store=S", "bb"], []]);
    expect(splitCommand(["-e", "A=1"], opts)).toEqual([["-e", "A=1"], []]);
    // A group of short flags whose last letter takes a value: the next word is that value, not the image.
    const it2 = { ...opts, interactive: { type: "boolean" as const, short: "i" }, tty: { type: "boolean" as const, short: "t" } };
    expect(splitCommand(["-ite", "A=1", "bb", "sh"], it2)).toEqual([["-ite", "A=1", "bb"], ["sh"]]);
    expect(splitCommand(["-it", "bb", "-e", "x"], it2)).toEqual([["-it", "bb"], ["-e", "x"]]);
  });

  it("writes podman's names of options as minic's own, before the image only, never in an option's value", async () => {
    const { applyAliases } = await import("../../src/cli.js");
    const opts = { env: { type: "string" as const, short: "e" }, bind: { type: "string" as const } };
    const aliases = { "-v": "--bind", "--volume": "--bind" };
    expect(applyAliases(["-v", "/a:/b", "--volume=/c:/d", "-e", "-v", "bb", "-v", "x"], aliases, opts, true)).toEqual(["--bind", "/a:/b", "--bind=/c:/d", "-e", "-v", "bb", "-v", "x"]);
    expect(applyAliases(["--", "-v"], aliases, opts, true)).toEqual(["--", "-v"]);
    expect(applyAliases(["f", "-v", "/a"], aliases, opts, false)).toEqual(["f", "--bind", "/a"]);
    // A group with an alias letter is split first; its last letter's value stays its value.
    const grouped = { ...opts, interactive: { type: "boolean" as const, short: "i" }, tty: { type: "boolean" as const, short: "t" } };
    expect(applyAliases(["-itv", "/a:/b", "bb", "-itv"], aliases, grouped, true)).toEqual(["-i", "-t", "--bind", "/a:/b", "bb", "-itv"]);
    expect(applyAliases(["-it", "bb"], aliases, grouped, true)).toEqual(["-it", "bb"]);
    // Whole words: podman's --tls-verify=false is --insecure; --tls-verify (true) asks for what minic does anyway.
    const tls = { "--tls-verify=false": "--insecure", "--tls-verify=true": "", "--tls-verify": "" };
    expect(applyAliases(["--tls-verify=false", "r/x", "--tls-verify", "--tls-verify=true", "--tls-verify=maybe"], tls, opts, false)).toEqual(["--insecure", "r/x", "--tls-verify=maybe"]);
  });
});
