// minic run under systemd-nspawn and chroot: exit status, image config, flags, read-only
// layers, store untouched; and nothing left on the host after each run.
import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runtimeSuite, stackedImage } from "./fixtures.js";
import { minicOk } from "../helpers/cli.js";
import { Store } from "../../src/store/store.js";
import { makeImage } from "../../src/store/images.js";
import { parseRef } from "../../src/core/reference.js";
import type { Digest } from "../../src/core/digest.js";

let appDigest = "";
const { fx, run } = runtimeSuite(async (fx) => {
  appDigest = await stackedImage(fx.store, fx.tree, "app", [{ "app": { dir: true }, "app/hello.txt": "hello from app layer\n", "etc/motd": "motd\n" }], {
    cmd: ["/bin/sh", "-c", "echo cmd:$GREETING:$(pwd):$(id -u):$(hostname)"],
    env: ["GREETING=hi", "PATH=/bin:/usr/bin"],
    workdir: "/app",
    hostname: "apphost",
  });
  await stackedImage(fx.store, fx.tree, "resolv", [{ "etc/resolv.conf": "nameserver 192.0.2.1\n" }]);
  // The least an image needs: no /run, /proc, /sys, /dev, /tmp or /etc.
  const bare = join(fx.root, "bare-tree");
  mkdirSync(join(bare, "bin"), { recursive: true });
  mkdirSync(join(bare, "usr"));
  copyFileSync("/bin/busybox", join(bare, "bin/busybox"));
  for (const a of ["sh", "touch"]) symlinkSync("busybox", join(bare, "bin", a));
  await minicOk(["import", bare, "-t", "bare", "--store", fx.store]);
  // The same layers, for another architecture.
  const store = await Store.open(fx.store);
  const bb = await store.getImage("bb");
  const { config, manifest } = makeImage(bb.manifest.layers, bb.config.config, bb.config.history, 0, "arm64");
  await store.setRef(parseRef("arm"), await store.putImage(manifest, config));
  store.release();
  // Commands that are no command: a dangling link, a link loop, a link to a directory.
  await stackedImage(fx.store, fx.tree, "badcmds", [{ "usr/local/bin/dangling": { symlink: "/opt/app/bin/app" }, "usr/local/bin/loop": { symlink: "loop" }, "usr/local/bin/todir": { symlink: "/etc" } }]);
  // A loaded image whose config has no Env (minic writes no PATH into it).
  await stackedImage(fx.store, fx.tree, "noenv", [], { env: [] });
  await stackedImage(fx.store, fx.tree, "echoer", [], { entrypoint: ["/bin/echo", "args:"], cmd: [] });
  // Scripts only their owner, their group or others may run (nobody is 65534:65534 in the busybox tree).
  const script = "#!/bin/sh\necho ran\n";
  await stackedImage(fx.store, fx.tree, "perms", [{ "opt": { dir: true }, "opt/own": { data: script, mode: 0o700 }, "opt/grp": { data: script, mode: 0o750, gid: 65534 }, "opt/oth": { data: script, mode: 0o705 }, "opt/mine": { data: script, mode: 0o500, uid: 65534 } }]);
  await stackedImage(fx.store, fx.tree, "nowd", [{ "srv": { dir: true }, "srv/data": { dir: true }, "lnk": { symlink: "srv/data" }, "opt": { dir: true }, "opt/bin": { symlink: "/bin" } }], { workdir: "/srv/app" });
});

/** sha256 over every blob and ref in the store (what a run must never change). */
function storeDigest(root: string): string {
  const h = createHash("sha256");
  const walk = (d: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else h.update(p).update(readFileSync(p));
    }
  };
  walk(join(root, "blobs"));
  walk(join(root, "refs"));
  return h.digest("hex");
}

describe("minic run (nspawn)", () => {
  it("propagates the command's exit status", async () => {
    expect((await run(["bb", "--", "/bin/sh", "-c", "exit 7"])).exitCode).toBe(7);
    expect((await run(["bb", "/bin/true"])).exitCode).toBe(0);
    expect((await run(["bb", "/bin/false"])).exitCode).toBe(1);
  });

  it("runs the command as PID 1 with its own /proc and /sys", async () => {
    const r = await run(["bb", "--", "/bin/sh", "-c", "echo pid=$$; ls /proc | grep -c '^[0-9]'; test -d /sys/class && echo sys"]);
    expect(r.exitCode).toBe(0);
    const [pid, nprocs, sys] = r.stdout.trim().split("\n");
    expect(pid).toBe("pid=1");
    expect(Number(nprocs)).toBeLessThan(5);
    expect(sys).toBe("sys");
  });

  it("applies the image config: cmd, env, workdir, hostname", async () => {
    const r = await run(["app"]);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("cmd:hi:/app:0:apphost");
  });

  it("lets flags override the config: -e, -w, --hostname, -u, --name", async () => {
    const r = await run(["-e", "GREETING=yo", "-e", "EXTRA=1", "-w", "/tmp", "--hostname", "other", "-u", "nobody", "--name", "named1", "app", "--", "/bin/sh", "-c", "echo $GREETING:$EXTRA:$(pwd):$(id -u):$(hostname)"]);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("yo:1:/tmp:65534:other");
  });

  it("-u with a group: root's group is the one asked for (nspawn would make it 0), a uid without an entry gets group 0, out-of-range ids are refused", async () => {
    const id = async (u: string, ...more: string[]) => {
      const r = await run([...more, "-u", u, "bb", "--", "/bin/sh", "-c", "echo $(id -u):$(id -g):$USER"]);
      return r.exitCode === 0 ? r.stdout.trim() : `exit ${r.exitCode}: ${r.stderr.trim()}`;
    };
    expect(await id("0:5")).toBe("0:5:root");
    expect(await id(":5")).toBe("0:5:root");
    expect(await id("0:5", "--runtime", "chroot")).toMatch(/^0:5:/);
    expect(await id("0")).toBe("0:0:root");
    expect(await id("2000")).toBe("2000:0:2000");
    expect(await id("2000:7")).toBe("2000:7:2000");
    expect(await id("99999999999")).toBe("exit 1: minic: user '99999999999': id 99999999999 is out of range (0-2147483647) (hint: give a uid[:gid] in that range, or a name from the image's /etc/passwd)");
    expect(await id("0:4294967295")).toMatch(/^exit 1: minic: user '0:4294967295': id 4294967295 is out of range/);
  });

  it("everything after IMAGE is the command's, options and all, as in podman: an entrypoint gets its flags", async () => {
    const r = await run(["echoer", "-e", "A=1", "--verbose", "-p", "8080", "--", "x"]);
    expect([r.exitCode, r.stdout.trim()]).toEqual([0, "args: -e A=1 --verbose -p 8080 -- x"]);
    expect((await run(["echoer", "--", "-n", "y"])).stdout.trim()).toBe("args: -n y");
    // An option after the image of one without an entrypoint is a command it lacks: the hint says where options go.
    const late = await run(["bb", "--memory", "64M", "/bin/true"]);
    expect([late.exitCode, late.stderr.trim()]).toEqual([127, expect.stringMatching(/^minic: command '--memory' is not in image 'bb' .*\(hint: minic's options go before the image, as in podman: minic run \[OPTIONS\] IMAGE \[COMMAND \[ARG\.\.\.\]\]\)$/)]);
  });

  it("takes podman's --rm, -i and -t (grouped too, -ite K=V), for what minic does anyway; -t without terminals warns", async () => {
    const r = await run(["--rm", "-i", "bb", "/bin/sh", "-c", "echo rm-i; [ -t 0 ] || echo no-tty"]);
    expect([r.exitCode, r.stdout.trim(), r.stderr]).toEqual([0, "rm-i\nno-tty", ""]);
    const g = await run(["-ite", "X=grouped", "--rm", "bb", "/bin/sh", "-c", "echo $X"]);
    expect([g.exitCode, g.stdout.trim()]).toEqual([0, "grouped"]);
    expect(g.stderr.trim()).toBe("minic: warning: -t: stdin and stdout are not both terminals, so the container gets them as they are (no terminal console)");
  });

  it("takes podman's -v/--volume (with :z, :Z, ro,z), --pids-limit and --cpuset-cpus for --bind, --pids and --cpuset", async () => {
    const src = join(fx.root, "vol-src");
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, "f"), "vol\n");
    const r = await run(["-v", `${src}:/data:ro,z`, "--volume=" + `${src}:/data2:Z`, "--pids-limit", "50", "--cpuset-cpus", "0", "bb", "/bin/sh", "-c", "cat /data/f /data2/f; touch /data/x 2>/dev/null || echo ro; touch /data2/y && echo rw; grep Cpus_allowed_list /proc/self/status"]);
    expect([r.exitCode, r.stdout.trim().split("\n")]).toEqual([0, ["vol", "vol", "ro", "rw", expect.stringMatching(/^Cpus_allowed_list:\s+0$/)]]);
    const bad = await run(["-v", `${src}:/data:ro,rw`, "bb", "/bin/true"]);
    expect([bad.exitCode, bad.stderr.trim().split(" (hint: ")[0]]).toEqual([2, `minic: invalid bind mode 'ro,rw' in '${src}:/data:ro,rw'`]);
  });

  it("--env-file (podman's format; -e wins; a NAME alone takes the host's), and a command's own --env-file is the command's, not Node's", async () => {
    const file = join(fx.root, "app.env");
    writeFileSync(file, "# settings\nA=1\nB=\"q x\"\nFROM_HOST\nC=file\n");
    const r = await run(["--env-file", file, "-e", "C=flag", "bb", "/bin/sh", "-c", 'echo "$A|$B|$FROM_HOST|$C"'], { ...process.env, FROM_HOST: "h" });
    expect([r.exitCode, r.stdout.trim()]).toEqual([0, '1|"q x"|h|flag']);
    const passed = await run(["bb", "/bin/echo", "--env-file", "/nonexistent"]);
    expect([passed.exitCode, passed.stdout.trim()]).toEqual([0, "--env-file /nonexistent"]);
    const missing = await run(["--env-file", join(fx.root, "none.env"), "bb", "/bin/true"]);
    expect([missing.exitCode, missing.stderr.trim()]).toEqual([2, `minic: --env-file ${join(fx.root, "none.env")}: no such file (hint: give a file of NAME=VALUE lines)`]);
  });

  it("an image without PATH runs with the default one, as in podman; -e PATH wins", async () => {
    const r = await run(["noenv", "--", "/bin/sh", "-c", "echo $PATH"]);
    expect([r.exitCode, r.stdout.trim()]).toEqual([0, "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]);
    expect((await run(["-e", "PATH=/bin", "noenv", "--", "/bin/sh", "-c", "echo $PATH"])).stdout.trim()).toBe("/bin");
  });

  it("takes podman's --network for --net; two that disagree are a usage error", async () => {
    const r = await run(["--network", "none", "bb", "--", "/bin/ls", "/sys/class/net"]);
    expect([r.exitCode, r.stdout.trim()]).toEqual([0, "lo"]);
    const both = await run(["--net", "host", "--network", "none", "bb", "--", "/bin/true"]);
    expect([both.exitCode, both.stderr.trim()]).toEqual([2, "minic: --net host and --network none name two networks (hint: give one of them (--network is another name for --net))"]);
  });

  it("a name that is no host name (web_1, as compose names them) runs, as web-1; --hostname still wins", async () => {
    const r = await run(["--name", "web_1", "bb", "--", "/bin/hostname"]);
    expect([r.exitCode, r.stderr, r.stdout.trim()]).toEqual([0, "", "web-1"]);
    const h = await run(["--name", "web_1", "--hostname", "web1", "bb", "--", "/bin/hostname"]);
    expect([h.exitCode, h.stderr, h.stdout.trim()]).toEqual([0, "", "web1"]);
  });

  it("a workdir that is not a directory of the image is one minic error before anything starts (one a bind or nspawn makes is taken)", async () => {
    const hint = (wd: string) => `(hint: give -w a directory of the image, or make it in the recipe: dir("${wd}"))`;
    const missing = await run(["-w", "/does/not/exist", "bb", "--", "/bin/true"]);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr.trim()).toBe(`minic: workdir /does/not/exist does not exist in image 'bb' ${hint("/does/not/exist")}`);
    const file = await run(["-w", "/bin/busybox", "bb", "--", "/bin/true"]);
    expect(file.stderr.trim()).toBe("minic: workdir /bin/busybox is not a directory in image 'bb' (hint: give -w a directory of the image)");
    // The image's own workdir, and under the chroot runtime.
    const config = await run(["nowd", "--", "/bin/true"]);
    expect(config.stderr.trim()).toBe(`minic: workdir /srv/app does not exist in image 'nowd' ${hint("/srv/app")}`);
    const chroot = await run(["--runtime", "chroot", "-w", "/nope", "bb", "--", "/bin/true"]);
    expect(chroot.stderr.trim()).toBe(`minic: workdir /nope does not exist in image 'bb' ${hint("/nope")}`);
    // Taken: through an image symlink, under a directory bind, on nspawn's own /dev.
    const viaLink = await run(["-w", "/lnk", "nowd", "--", "/bin/sh", "-c", "pwd -P"]);
    expect([viaLink.exitCode, viaLink.stdout.trim()]).toEqual([0, "/srv/data"]);
    const host = join(fx.root, "wd-bind");
    mkdirSync(host, { recursive: true });
    const bound = await run(["--bind", `${host}:/mnt/wd`, "-w", "/mnt/wd", "bb", "--", "/bin/sh", "-c", "pwd"]);
    expect([bound.exitCode, bound.stdout.trim()]).toEqual([0, "/mnt/wd"]);
    const shm = await run(["-w", "/dev/shm", "bb", "--", "/bin/sh", "-c", "pwd"]);
    expect([shm.exitCode, shm.stdout.trim()]).toEqual([0, "/dev/shm"]);
  });

  it("a command whose mode does not let the container's user run it: exit 126 and one minic line before anything starts, as podman's 126 (nspawn's execv failure was exit 1)", async () => {
    for (const runtime of ["nspawn", "chroot"]) {
      const denied = await run(["--runtime", runtime, "-u", "nobody", "perms", "/opt/own"]);
      expect([denied.exitCode, denied.stderr.trim()], runtime).toEqual([126, "minic: command '/opt/own' of image 'perms' is not executable by user 'nobody' (uid 65534, gid 65534) (hint: its mode bits do not let that user run it: run as a user they do (-u), or change its mode in the image's recipe (chmod))"]);
    }
    for (const [user, cmd] of [["nobody", "/opt/grp"], ["nobody", "/opt/oth"], ["nobody", "/opt/mine"], ["root", "/opt/own"], ["root", "/opt/mine"]]) {
      const r = await run(["-u", user!, "perms", cmd!]);
      expect([r.exitCode, r.stdout.trim(), r.stderr], `${user} ${cmd}`).toEqual([0, "ran", ""]);
    }
  });

  it("a command the image does not have is one minic error before anything starts (found through PATH and image symlinks otherwise)", async () => {
    const hint = "(hint: give a command the image has, e.g. minic run IMAGE -- /bin/sh -c '…', or add it to the image's recipe)";
    const missing = await run(["bb", "--", "nope", "-x"]);
    expect(missing.exitCode).toBe(127); // as a shell, podman and Docker end: not found 127, not executable 126
    expect(missing.stderr.trim()).toBe(`minic: command 'nope' is not in image 'bb' (looked in PATH /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin) ${hint}`);
    const notExec = await run(["bb", "--", "/etc/passwd"]);
    expect(notExec.stderr.trim()).toBe(`minic: command '/etc/passwd' is not an executable file in image 'bb' ${hint}`);
    expect(notExec.exitCode).toBe(126);
    expect((await run(["bb", "--", "/etc"])).exitCode).toBe(126);
    // An empty word is no command (it was looked up as a directory of each PATH entry).
    const empty = await run(["bb", "--", ""]);
    expect([empty.exitCode, empty.stderr.trim()]).toEqual([127, "minic: the command is an empty word (hint: give a command the image has, e.g. minic run IMAGE -- /bin/sh -c '…')"]);
    // Symlinks are followed before anything starts: these were taken as found, and nspawn's execv failed (exit 1).
    for (const [cmd, status, what] of [["dangling", 127, "is not in"], ["loop", 127, "is not in"], ["todir", 126, "is not an executable file in"]] as const) {
      const r = await run(["badcmds", "--", cmd]);
      expect([r.exitCode, r.stderr.trim().split(" (looked")[0]]).toEqual([status, `minic: command '${cmd}' ${what} image 'badcmds'`]);
    }
    const chroot = await run(["--runtime", "chroot", "-e", "PATH=/sbin", "bb", "--", "sh"]);
    expect(chroot.stderr.trim()).toBe(`minic: command 'sh' is not in image 'bb' (looked in PATH /sbin) ${hint}`);
    // Found: a PATH entry that is an image symlink (/opt/bin -> /bin), a path relative to the workdir.
    const viaLink = await run(["-w", "/", "-e", "PATH=/opt/bin", "nowd", "--", "sh", "-c", "echo linked"]);
    expect([viaLink.exitCode, viaLink.stdout.trim()]).toEqual([0, "linked"]);
    const relative = await run(["-w", "/bin", "bb", "--", "./sh", "-c", "echo relative"]);
    expect([relative.exitCode, relative.stdout.trim()]).toEqual([0, "relative"]);
  });

  it("looks a command up through an image symlink (a merged /usr's /bin) from the layers' opaque records, reading no xattrs", async () => {
    // Every Debian image's /bin/true is such a lookup; a getfattr -R over each layer cost ~0.2 s of a run.
    const r = await run(["-w", "/", "nowd", "--", "/opt/bin/sh", "-c", "echo linked"], { MINIC_DEBUG: "1" });
    expect([r.exitCode, r.stdout.trim()]).toEqual([0, "linked"]);
    const programs = r.stderr.split("\n").filter((l) => l.startsWith("+ ")).map((l) => l.slice(2).split(" ")[0]!.replace(/^.*\//, ""));
    expect(programs).toContain("unshare");
    expect(programs).not.toContain("getfattr");
  });

  it("shows the stacked layers and binds host paths, read-only with :ro", async () => {
    const host = join(fx.root, "shared");
    mkdirSync(host, { recursive: true });
    writeFileSync(join(host, "in.txt"), "from host\n");
    const r = await run(["--bind", `${host}:/mnt/shared`, "--bind", `${host}:/mnt/ro:ro`, "app", "--", "/bin/sh", "-c", "cat /app/hello.txt /mnt/shared/in.txt; echo out > /mnt/shared/out.txt; echo x > /mnt/ro/x 2>/dev/null && echo ro-writable || echo ro-refused"]);
    expect(r.stdout.trim()).toBe("hello from app layer\nfrom host\nro-refused");
    expect(readFileSync(join(host, "out.txt"), "utf8")).toBe("out\n");
  });

  it("--read-only refuses writes to the root; /tmp and /var/tmp stay writable (tmpfs), as in podman, under nspawn and chroot", async () => {
    const probe = "touch /newfile 2>/dev/null && echo wrote || echo refused; touch /tmp/a /var/tmp/b && echo scratch";
    for (const runtime of ["nspawn", "chroot"]) {
      const r = await run(["--read-only", "--runtime", runtime, "bb", "--", "/bin/sh", "-c", probe]);
      expect([r.exitCode, r.stdout.trim()]).toEqual([0, "refused\nscratch"]);
    }
  });

  // Regression: nspawn made the root read-only, then failed to create the bind's mount point.
  it("--read-only with binds onto paths the image lacks (a dir and a file)", async () => {
    const host = join(fx.root, "ro-bind");
    mkdirSync(host, { recursive: true });
    writeFileSync(join(host, "in.txt"), "bound\n");
    const r = await run(["--read-only", "--bind", `${host}:/new/dir`, "--bind", `${join(host, "in.txt")}:/etc/new.txt:ro`, "bb", "--", "/bin/sh", "-c", "cat /new/dir/in.txt /etc/new.txt"]);
    expect([r.exitCode, r.stderr, r.stdout]).toEqual([0, "", "bound\nbound"]);
  });

  it("an image for another architecture runs with a warning (an emulator may run it), as podman warns", async () => {
    const r = await run(["arm", "--", "/bin/true"]);
    expect(r.stderr.trim().split("\n")[0]).toBe("minic: warning: image arm is for linux/arm64, this host is linux/amd64: its programs run only through an emulator (binfmt_misc, qemu-user)");
    expect(r.exitCode).toBe(0); // busybox here is the host's: it runs
    expect((await run(["bb", "--", "/bin/true"])).stderr).toBe("");
  });

  // Regression: nspawn failed with 'Failed to mount tmpfs ... on .../run: No such file or directory'.
  it("--read-only on an image without /run, with the overlay and copy drivers", async () => {
    for (const driver of ["overlay", "copy"]) {
      const r = await run(["--read-only", "--storage-driver", driver, "bare", "--", "/bin/sh", "-c", "test -d /run && echo run; touch /x 2>/dev/null || echo refused"]);
      expect([r.exitCode, r.stderr, r.stdout.trim()], driver).toEqual([0, "", "run\nrefused"]);
    }
  });

  // Regression: nspawn printed 'Failed to mount /etc/resolv.conf' for a read-only image without one.
  it("--read-only without /etc/resolv.conf in the image: no resolv.conf noise", async () => {
    for (const net of ["host", "veth"]) {
      const r = await run(["--read-only", "--net", net, "bb", "--", "/bin/sh", "-c", "test -e /etc/resolv.conf && echo has || echo none"]);
      expect(r.stderr).toBe("");
      expect(r.stdout.trim()).toBe("none");
    }
    const withFile = await run(["--read-only", "resolv", "--", "/bin/sh", "-c", "test -s /etc/resolv.conf && echo has"]);
    expect(withFile.stderr).toBe("");
    expect(withFile.stdout.trim()).toBe("has");
  });

  it("writes land in the container's upper dir only: layers and store unchanged", async () => {
    const before = storeDigest(fx.store);
    const unpacked = join(fx.store, "unpacked");
    // Each layer dir's entries, and each opaque record's content.
    const layers = () => readdirSync(unpacked, { withFileTypes: true }).map((d) =>
      `${d.name}:${d.isDirectory() ? readdirSync(join(unpacked, d.name)).sort().join(",") : readFileSync(join(unpacked, d.name), "utf8")}`).sort();
    const layersBefore = layers();
    const r = await run(["app", "--", "/bin/sh", "-c", "rm -rf /app /bin/cat /etc/motd; echo new > /etc/new; rm -rf /usr; echo done"]);
    expect(r.stdout.trim()).toBe("done");
    const again = await run(["app", "--", "/bin/sh", "-c", "cat /app/hello.txt /etc/motd; test -e /etc/new || echo no-new"]);
    expect(again.stdout.trim()).toBe("hello from app layer\nmotd\nno-new");
    expect(storeDigest(fx.store)).toBe(before);
    expect(layers()).toEqual(layersBefore);
  });
});

describe("minic run by a full reference", () => {
  it("runs an image named HOST:PORT/REPO:TAG (a pull's name), and localhost/NAME by NAME", async () => {
    const store = await Store.open(fx.store);
    await store.setRef({ name: "127.0.0.1:15555/qa/pm", tag: "1" }, appDigest as Digest);
    await store.setRef({ name: "localhost/pm", tag: "2" }, appDigest as Digest);
    for (const name of ["127.0.0.1:15555/qa/pm:1", "localhost/pm:2", "pm:2"]) {
      const r = await run([name]);
      expect(r.stderr, name).toBe("");
      expect(r.stdout.trim(), name).toBe("cmd:hi:/app:0:apphost");
    }
  });
});

describe("minic run --runtime chroot (the tutorial's first step)", () => {
  it("runs in the image's root without /proc, with the config applied", async () => {
    const r = await run(["--runtime", "chroot", "app", "--", "/bin/sh", "-c", "echo $GREETING:$(pwd); cat /app/hello.txt; ls /proc | wc -l"]);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("hi:/app\nhello from app layer\n0");
  });

  it("propagates exit status and applies -u and --hostname", async () => {
    expect((await run(["--runtime", "chroot", "bb", "--", "/bin/sh", "-c", "exit 3"])).exitCode).toBe(3);
    const r = await run(["--runtime", "chroot", "-u", "nobody", "--hostname", "chrooted", "bb", "--", "/bin/sh", "-c", "echo $(id -u):$(hostname)"]);
    expect(r.stdout.trim()).toBe("65534:chrooted");
  });
});
