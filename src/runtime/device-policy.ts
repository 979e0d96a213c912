// Pure: the device policy of the default profile as cgroup v1 `devices` rules: everything is
// denied except the nodes nspawn makes in the container's /dev (and the pty a terminal run is
// given), which may be made, read and written. cgroup v2 has no devices files: there a policy is
// a BPF program, which minic has no loader for (see README: what protects instead).

/** `devices.allow` rules: type, major:minor, access (m = mknod). */
export const DEVICE_ALLOW: readonly string[] = [
  "c 1:3 rwm", // /dev/null
  "c 1:5 rwm", // /dev/zero
  "c 1:7 rwm", // /dev/full
  "c 1:8 rwm", // /dev/random
  "c 1:9 rwm", // /dev/urandom
  "c 5:0 rwm", // /dev/tty
  "c 5:1 rwm", // /dev/console
  "c 5:2 rwm", // /dev/ptmx
  "c 136:* rwm", // /dev/pts/* (and a terminal run's console)
  "c 10:200 rwm", // /dev/net/tun
];

/** Pure: the writes that set the policy on v1 devices cgroup `dir`: deny all, then allow DEVICE_ALLOW. */
export function deviceWrites(dir: string): { path: string; value: string }[] {
  return [{ path: `${dir}/devices.deny`, value: "a" }, ...DEVICE_ALLOW.map((r) => ({ path: `${dir}/devices.allow`, value: r }))];
}
