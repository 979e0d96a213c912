// Builds a small busybox root filesystem in a directory (for tests that need a runnable tree
// without going through a recipe). Applet links are absolute, as in the tutorial, so tests
// also exercise the "never follow a rootfs symlink onto the host" rule.
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync, chmodSync } from "node:fs";
import { join } from "node:path";

export const APPLETS = ["sh", "ls", "cat", "echo", "true", "false", "sleep", "id", "env", "ps", "ip", "ping", "wget", "httpd", "mkdir", "rm", "touch", "grep", "head", "dd", "hostname", "mount", "wc", "uname", "seq", "yes", "kill"];

/** Writes a busybox tree into `dir` (which must exist and be empty). */
export function makeBusyboxTree(dir: string): void {
  for (const d of ["bin", "sbin", "etc", "usr/bin", "usr/sbin", "tmp", "root", "proc", "sys", "dev", "run", "var/tmp"]) mkdirSync(join(dir, d), { recursive: true });
  chmodSync(join(dir, "tmp"), 0o1777);
  copyFileSync("/bin/busybox", join(dir, "bin/busybox"));
  chmodSync(join(dir, "bin/busybox"), 0o755);
  for (const a of APPLETS) symlinkSync("/bin/busybox", join(dir, "bin", a));
  writeFileSync(join(dir, "etc/os-release"), "ID=busybox\nNAME=busybox\n");
  writeFileSync(join(dir, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n");
  writeFileSync(join(dir, "etc/group"), "root:x:0:\nnogroup:x:65534:\n");
}
