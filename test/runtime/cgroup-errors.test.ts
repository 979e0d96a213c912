// A cgroup limit that cannot be applied is a one-line error naming the controller and what to
// change, never a limit silently dropped: here a read-only memory hierarchy (remounted read-only
// in a mount namespace of the test's own, so the host's stays as it is).
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { LAUNCHER } from "../helpers/cli.js";
import { runtimeSuite } from "./fixtures.js";

const { fx } = runtimeSuite(async () => {});

describe("cgroup errors", () => {
  it("a read-only cgroupfs: names the controller and says to remount it or drop the flag", async () => {
    const mem = "/sys/fs/cgroup/memory";
    const r = await execa("unshare", ["--mount", "--propagation", "private", "sh", "-c", `mount -o remount,bind,ro ${mem} && exec "$@"`, "sh",
      LAUNCHER, "run", "--store", fx.store, "--memory", "32M", "bb", "--", "true"], { reject: false, encoding: "utf8", stdin: "ignore" });
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(new RegExp(`^minic: cannot create cgroup ${mem}/minic-[0-9a-f]{12} \\(for the memory controller\\): EROFS: read-only file system, mkdir .* \\(hint: cgroupfs is mounted read-only here: remount it read-write \\(mount -o remount,rw ${mem}\\), or run without --memory\\)$`)),
    ]);
  });
});
