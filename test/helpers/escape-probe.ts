// The escape probe: a busybox sh script that tries, as root in a container or a build run step,
// to change host-global kernel state, reach host devices or touch a host process, and prints
// one `NAME allowed|denied` line per attempt. Every write puts back the value it read, so that
// a probe that gets through changes nothing on the host. Applets are called through
// /bin/busybox, so the image needs no links for them.

/** What the probe needs from the host. */
export interface ProbeInput {
  /** A host block device to open read-only (`MAJOR MINOR`, e.g. the store's disk). */
  blockDevice: string;
  /** Pid of a host process the test started (to signal). */
  hostPid: number;
  /** Try `ip link add` (only with --net host; the test removes the link if it was made). */
  linkName?: string;
}

/** Attempt names, in the order the probe prints them. */
export const PROBE_ATTEMPTS = [
  "sysctl-write-ro", "remount-proc-sys", "sysctl-write", "core-pattern-write", "remount-sys", "ksm-write",
  "mount-proc", "mount-sysfs", "userns-proc", "mknod-block", "loop-control", "kill-host",
] as const;

/** Pure: the probe script for `input`. */
export function escapeProbe(input: ProbeInput): string {
  const lines = [
    `b=/bin/busybox`,
    // Writes back what the file holds: a write that changes nothing, but needs write access.
    `same() { v=$($b cat "$1") && echo "$v" > "$1"; }`,
    // Runs an attempt in a subshell; its output is dropped, only the verdict is printed.
    `t() { if ( eval "$2" ) >/dev/null 2>&1; then echo "$1 allowed"; else echo "$1 denied"; fi; }`,
    `t sysctl-write-ro 'same /proc/sys/vm/swappiness'`,
    `t remount-proc-sys '$b mount -o remount,rw /proc/sys'`,
    `t sysctl-write 'same /proc/sys/vm/swappiness'`,
    `t core-pattern-write 'same /proc/sys/kernel/core_pattern'`,
    `t remount-sys '$b mount -o remount,rw /sys'`,
    `t ksm-write 'same /sys/kernel/mm/ksm/run'`,
    `$b mkdir -p /run/probe-proc /run/probe-sys`,
    `t mount-proc '$b mount -t proc proc /run/probe-proc && same /run/probe-proc/sys/vm/swappiness'`,
    `t mount-sysfs '$b mount -t sysfs sysfs /run/probe-sys && same /run/probe-sys/kernel/mm/ksm/run'`,
    // A user namespace of its own gives root every capability there, and the kernel lets it
    // mount a fresh proc under nspawn's /proc, whose sysctls uid 0 can write.
    `$b cat > /run/probe-userns.sh <<'EOF'`,
    `b=/bin/busybox`,
    `$b mount -t proc proc /run/probe-proc && v=$($b cat /run/probe-proc/sys/vm/swappiness) && echo "$v" > /run/probe-proc/sys/vm/swappiness`,
    `EOF`,
    `t userns-proc '$b unshare -r -m -p -f $b sh /run/probe-userns.sh'`,
    `t mknod-block '$b mknod /dev/probe-blk b ${input.blockDevice} && $b dd if=/dev/probe-blk of=/dev/null bs=512 count=1'`,
    `t loop-control '{ [ -e /dev/loop-control ] || $b mknod /dev/loop-control c 10 237; } && exec 3<>/dev/loop-control'`,
    `t kill-host 'kill -0 ${input.hostPid}'`,
  ];
  if (input.linkName) lines.push(`t ip-link-add '$b ip link add ${input.linkName} type dummy'`);
  return lines.join("\n") + "\n";
}

/** Pure: the verdicts of a probe's output, by attempt name. */
export function probeVerdicts(stdout: string): Record<string, "allowed" | "denied"> {
  const out: Record<string, "allowed" | "denied"> = {};
  for (const l of stdout.split("\n")) {
    const m = /^([a-z-]+) (allowed|denied)$/.exec(l.trim());
    if (m) out[m[1]!] = m[2] as "allowed" | "denied";
  }
  return out;
}
