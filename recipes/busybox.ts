// The tutorial's minimal container, done properly: the usual directories, the host's static
// busybox, a link for every applet it lists, and what systemd-nspawn needs to accept the tree.
import { execFileSync } from "node:child_process";
import { copy, defineRecipe, dir, file, symlink } from "minic";

// Links for every applet of `busybox --list-full` (e.g. "bin/ls", "usr/sbin/httpd"), pointing at
// /bin/busybox as in the tutorial. Absolute links resolve inside the container; minic never
// follows them on the host when it builds or unpacks.
const applets = execFileSync("/bin/busybox", ["--list-full"], { encoding: "utf8" })
  .split("\n")
  .filter((a) => a !== "" && a !== "bin/busybox")
  .sort();

export default defineRecipe({
  name: "busybox",
  steps: [
    ...["/bin", "/sbin", "/etc", "/usr/bin", "/usr/sbin", "/root", "/dev", "/proc", "/sys", "/run", "/var", "/srv"].map((d) => dir(d)),
    dir("/tmp", { mode: 0o1777 }),
    dir("/var/tmp", { mode: 0o1777 }),
    copy("/bin/busybox", "/bin", { mode: 0o755 }),
    ...applets.map((a) => symlink(`/${a}`, "/bin/busybox")),
    file("/etc/os-release", 'ID=busybox\nNAME="BusyBox"\nPRETTY_NAME="minic busybox"\n'),
    file("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"),
    file("/etc/group", "root:x:0:\nnogroup:x:65534:\n"),
    file("/etc/hostname", "minic\n"),
  ],
  config: {
    cmd: ["/bin/sh"],
    env: { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", HOME: "/root" },
  },
});
