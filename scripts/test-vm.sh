#!/usr/bin/env bash
# Boots a virtual machine of one host kind and runs minic's VM tests inside it (test/vm/):
#   systemd  stock Debian 12: systemd as PID 1, cgroup v2 only (the hosts most users have)
#   plain    the same disk with a small init (no systemd) that mounts cgroup2 itself
# Headless under qemu (TCG; KVM only when a short probe boots with it), serial console. The VM
# image is cached (test/vm/image.sh); this checkout's build goes in per run on a disk of its own.
# Exit 0 only when every test inside passed; the last line says how many passed and failed.
# Env: MINIC_VM_CACHE (image cache dir), MINIC_VM_ACCEL (tcg|kvm: skip the probe),
#      MINIC_VM_BOOT_TIMEOUT (s, default 240), MINIC_VM_TIMEOUT (s, whole run, default 1200),
#      MINIC_VM_TESTS (run only the guest tests whose names match this regex).
set -euo pipefail
kind=${1:-}
case $kind in
  systemd | plain) ;;
  *) echo "usage: scripts/test-vm.sh systemd|plain" >&2; exit 2 ;;
esac
cd "$(dirname "$(readlink -f "$0")")/.."
say() { echo "test-vm $kind: $*" >&2; }
die() { say "$*"; echo "test-vm $kind: 0 passed, 1 failed (harness)"; exit 1; }

need() { command -v "$1" >/dev/null || die "$1 is missing (hint: apt-get install $2)"; }
need qemu-system-x86_64 qemu-system-x86
need mkfs.ext4 e2fsprogs
need debugfs e2fsprogs
need node nodejs
kver=${MINIC_VM_KERNEL:-$(find /boot -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' 2>/dev/null | sed 's/^vmlinuz-//' | sort -V | tail -n 1)}
kernel=/boot/vmlinuz-$kver
initrd=/boot/initrd.img-$kver
[ -n "$kver" ] && [ -r "$kernel" ] && [ -r "$initrd" ] || die "no kernel with an initrd in /boot (hint: apt-get install linux-image-amd64)"
[ -f dist/cli.js ] && [ -d node_modules ] || die "this checkout is not built (hint: bash scripts/setup.sh, or npm ci && npm run build)"
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, and minic inside runs as root)"

t0=$(date +%s)
img=$(bash test/vm/image.sh "$kver") || die "cannot make the VM image (see above)"

tmp=$(mktemp -d /tmp/minic-vm.XXXXXX)
qpid=
tpid=
cleanup() {
  if [ -n "$qpid" ] && kill -0 "$qpid" 2>/dev/null; then kill "$qpid" 2>/dev/null; wait "$qpid" 2>/dev/null || true; fi
  if [ -n "$tpid" ]; then kill "$tpid" 2>/dev/null || true; wait "$tpid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# The run disk: this checkout's build, the host's node, the guest scripts, and out/ for results.
s=$tmp/stage
mkdir -p "$s/minic" "$s/bin" "$s/out"
cp -a bin dist recipes package.json "$s/minic/"
cp -a node_modules "$s/minic/"
mkdir "$s/minic/scripts" && cp -a scripts/snapshot.mjs "$s/minic/scripts/"
rm -f "$s/minic/dist/snapshot/"*.blob "$s/minic/dist/snapshot/node.stamp" # made in the guest: V8's snapshot depends on the CPU
cp -a test/vm/guest "$s/guest"
cp -a "$(readlink -f "$(command -v node)")" "$s/bin/node"
echo "$kind" >"$s/kind"
printf '%s\n' "${MINIC_VM_TESTS:-}" >"$s/filter"
sz=$(( $(du -sm "$s" | cut -f1) + 64 ))
truncate -s "${sz}M" "$tmp/run.img"
mkfs.ext4 -q -F -L minic-run -d "$s" "$tmp/run.img"
rm -rf "$s"

# KVM only when it works: a kernel that cannot find its root panics and (with -no-reboot) ends
# qemu within seconds under KVM; where -enable-kvm hangs, the probe times out. Once per boot.
accel=${MINIC_VM_ACCEL:-}
if [ -z "$accel" ]; then
  accel=tcg
  probe=${MINIC_VM_CACHE:-/var/cache/minic-vm}/kvm-probe
  boot_id=$(cat /proc/sys/kernel/random/boot_id)
  if [ -f "$probe" ] && [ "$(head -n 1 "$probe")" = "$boot_id" ]; then
    accel=$(sed -n 2p "$probe")
  elif [ -w /dev/kvm ]; then
    if timeout 15 qemu-system-x86_64 -enable-kvm -cpu host -m 256 -display none -no-reboot -serial none -monitor none -nic none \
      -kernel "$kernel" -append "panic=-1 root=/dev/nonexistent" </dev/null >/dev/null 2>&1; then accel=kvm; fi
    mkdir -p "${probe%/*}" && printf '%s\n%s\n' "$boot_id" "$accel" >"$probe"
  fi
fi
if [ "$accel" = kvm ]; then acc=(-enable-kvm -cpu host); else acc=(-accel tcg -cpu max); fi

append="console=ttyS0 root=/dev/vda rw panic=-1 quiet loglevel=3 systemd.show_status=0"
[ "$kind" = plain ] && append+=" init=/usr/local/sbin/minic-vm-boot"
log=$tmp/console.log
: >"$log"
tb=$(date +%s)
qemu-system-x86_64 "${acc[@]}" -m 2048 -smp 2 -display none -no-reboot -monitor none -nic none \
  -serial "file:$log" -kernel "$kernel" -initrd "$initrd" -append "$append" \
  -drive "file=$img,format=raw,if=virtio,snapshot=on" -drive "file=$tmp/run.img,format=raw,if=virtio" \
  </dev/null >"$tmp/qemu.out" 2>&1 &
qpid=$!
tail -n +1 -F --pid="$qpid" "$log" 2>/dev/null &
tpid=$!
say "booting ($accel; image $img; prepared in $(( tb - t0 )) s)"

boot_timeout=${MINIC_VM_BOOT_TIMEOUT:-240}
timeout=${MINIC_VM_TIMEOUT:-1200}
booted=
while kill -0 "$qpid" 2>/dev/null; do
  now=$(date +%s)
  if [ -z "$booted" ] && grep -q '^MINIC-VM-BOOTED' "$log"; then booted=$now; say "booted in $(( now - tb )) s"; fi
  if [ -z "$booted" ] && [ $(( now - tb )) -ge "$boot_timeout" ]; then
    die "boot timeout: the VM did not reach the test script within $boot_timeout s (console above; raise MINIC_VM_BOOT_TIMEOUT on a slow machine)"
  fi
  if [ $(( now - tb )) -ge "$timeout" ]; then die "timeout: the VM ran for $timeout s without finishing (console above; MINIC_VM_TIMEOUT)"; fi
  sleep 1
done
wait "$qpid" || { cat "$tmp/qemu.out" >&2; die "qemu failed (output above)"; }
qpid=
sleep 0.2
kill "$tpid" 2>/dev/null || true; wait "$tpid" 2>/dev/null || true
tpid=
[ -n "$booted" ] || grep -q '^MINIC-VM-BOOTED' "$log" || die "the VM powered off before it ran the tests (console above)"

result=$(debugfs -R "cat /out/result" "$tmp/run.img" 2>/dev/null || true)
# The console's copy of the counts, should the disk not have them (a guest that died writing).
[ -n "$result" ] || result=$(sed -n 's/^MINIC-VM-RESULT //p' "$log" | tail -n 1 | tr ' ' '\n')
passed=$(sed -n 's/^passed=//p' <<<"$result")
failed=$(sed -n 's/^failed=//p' <<<"$result")
suite=$(sed -n 's/^seconds=//p' <<<"$result")
[ -n "$passed" ] && [ -n "$failed" ] || die "the VM ended without a result (the test script did not finish; console above)"
echo "test-vm $kind: $passed passed, $failed failed (boot $(( ${booted:-$tb} - tb )) s, suite ${suite:-?} s, wall $(( $(date +%s) - t0 )) s)"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
