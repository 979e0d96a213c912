// Regression (the class of moby CVE-2021-41091): the store's directories were 0755, so any
// local user could run a setuid-root binary of an unpacked layer straight from the store and
// get uid 0 on the host. The store root is now 0700: an unprivileged user can neither run
// such a binary nor read a running container's files through its upper dir.
import { execa } from "execa";
import { chmodSync, copyFileSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LAUNCHER, minic, minicOk } from "../helpers/cli.js";
import { makeBusyboxTree } from "../helpers/busybox-tree.js";
import { runtimeSuite } from "./fixtures.js";

/** Runs `cmd` as an unprivileged user, looking paths up as that user (through sh: setpriv resolves its program before it drops root). */
const asNobody = (cmd: string, arg: string) => execa("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "--", "/bin/sh", "-c", '"$0" "$1"', cmd, arg], { reject: false, encoding: "utf8" });

const { fx } = runtimeSuite(async (fx) => {
  // The store's parent is traversable by everyone (as /var/lib is), so the store's own mode decides.
  chmodSync(fx.root, 0o755);
  const tree = join(fx.root, "suid-tree");
  mkdirSync(tree);
  makeBusyboxTree(tree);
  mkdirSync(join(tree, "opt"));
  // `id -u` prints 0 when its setuid-root bit takes effect.
  copyFileSync("/usr/bin/id", join(tree, "opt", "suid-id"));
  chmodSync(join(tree, "opt", "suid-id"), 0o4755);
  await minicOk(["import", tree, "-t", "suid", "--keep-setuid", "--store", fx.store]);
  await minicOk(["run", "--store", fx.store, "suid", "/bin/true"]); // unpacks the layer
});

describe("the store keeps other users out", () => {
  it("an unprivileged user cannot run a setuid-root binary of an unpacked layer", async () => {
    const unpacked = join(fx.store, "unpacked");
    const layer = readdirSync(unpacked).find((d) => statSync(join(unpacked, d)).isDirectory() && statSync(join(unpacked, d, "opt", "suid-id"), { throwIfNoEntry: false }));
    expect(layer).toBeDefined();
    const bin = join(unpacked, layer!, "opt", "suid-id");
    expect(statSync(bin).mode & 0o4000).toBe(0o4000); // the image keeps its setuid bit (as podman does)
    const r = await asNobody(bin, "-u");
    expect(r.stdout).not.toBe("0");
    expect(r.stderr).toMatch(/Permission denied/);
    expect(r.exitCode).not.toBe(0);
  });

  it("an unprivileged user cannot read a 0600 file of a running container's upper dir", async () => {
    const p = execa(LAUNCHER, ["run", "--store", fx.store, "--name", "secretive", "bb", "--", "/bin/sh", "-c", "echo s3cret > /secret; chmod 600 /secret; echo ready; while :; do sleep 0.1; done"], { reject: false, stdin: "ignore", encoding: "utf8" });
    try {
      await new Promise<void>((resolve) => p.stdout!.on("data", (d) => String(d).includes("ready") && resolve()));
      const [id] = readdirSync(join(fx.store, "containers")).filter((n) => !n.startsWith("."));
      const secret = join(fx.store, "containers", id!, "upper", "secret");
      expect(statSync(secret).isFile()).toBe(true); // root sees it: the path is right
      const r = await asNobody("cat", secret);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(/Permission denied/);
    } finally {
      await minic(["rm", "-f", "secretive", "--store", fx.store]);
      await p;
    }
  });
});
