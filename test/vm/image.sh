#!/usr/bin/env bash
# Makes (once) and prints the path of the VM root disk the VM suite boots: Debian 12 minbase
# with systemd, the programs minic needs at run time, and the kernel's modules, as an ext4
# image. It is cached under $MINIC_VM_CACHE (default /var/cache/minic-vm) by the hash of its
# inputs (this script, the package list, the suite, the kernel version), so clean clones on the
# same machine reuse it; the harness boots it with qemu's snapshot=on and never writes it.
# Usage: test/vm/image.sh KERNEL_VERSION   (stdout: the image path; progress on stderr)
set -euo pipefail
kver=${1:?usage: image.sh KERNEL_VERSION}
here=$(dirname "$(readlink -f "$0")")
SUITE=bookworm
MIRROR=${MINIC_VM_MIRROR:-http://deb.debian.org/debian}
# systemd as PID 1 (systemd-sysv), the runtime's programs (nspawn, busybox for the base recipe,
# cpio + bzip2 for layers, iproute2 for netns/veth, attr for overlayfs xattrs, procps for the
# tests), and libstdc++6 for the host's node binary, which the harness copies in per run.
BASE=(systemd systemd-sysv udev kmod)
PACKAGES=(systemd-container busybox-static lbzip2 bzip2 cpio iproute2 attr procps libstdc++6 iputils-ping)
# Module trees the guest has no use for (kept out of the image to keep it small).
SKIP_MODULES=(drivers/gpu drivers/media drivers/net/wireless drivers/infiniband sound drivers/staging drivers/scsi drivers/usb drivers/bluetooth)

key=$( { cat "$0" "$here/guest/boot.sh"; echo "$SUITE ${BASE[*]} ${PACKAGES[*]} $kver $MIRROR"; } | sha256sum | cut -c1-16)
cache=${MINIC_VM_CACHE:-/var/cache/minic-vm}
img=$cache/$key/root.img
if [ -f "$img" ]; then echo "$img"; exit 0; fi

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9 # one build at a time; a second harness waits, then finds the image made
if [ -f "$img" ]; then echo "$img"; exit 0; fi
for t in debootstrap mkfs.ext4 chroot; do
  command -v "$t" >/dev/null || { echo "test-vm: $t is missing (hint: apt-get install debootstrap e2fsprogs)" >&2; exit 1; }
done
[ -d "/lib/modules/$kver" ] || { echo "test-vm: /lib/modules/$kver is missing (hint: apt-get install linux-image-amd64)" >&2; exit 1; }

work=$(mktemp -d "$cache/build.XXXXXX")
cleanup() {
  for m in proc sys dev; do umount "$work/root/$m" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
t0=$(date +%s)
echo "test-vm: building the VM image $key (debootstrap $SUITE, ~2 min)" >&2
failed() {
  tail -n 20 "$work/log" >&2
  echo "test-vm: $1 failed (log above)" >&2
  exit 1
}
# systemd-container's maintainer scripts fail inside debootstrap's second stage: the base
# first, then the rest with apt in the new root.
debootstrap --variant=minbase --include="$(IFS=,; echo "${BASE[*]}")" "$SUITE" "$work/root" "$MIRROR" >"$work/log" 2>&1 || failed debootstrap
r=$work/root
mount -t proc proc "$r/proc"
chroot "$r" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${PACKAGES[@]}" >>"$work/log" 2>&1 || failed "apt-get install in the VM root"
umount "$r/proc"
# The kernel's modules (overlay, veth, bridge are modules in Debian's kernel).
mkdir -p "$r/lib/modules"
excludes=(); for s in "${SKIP_MODULES[@]}"; do excludes+=(--exclude="kernel/$s"); done
tar -C /lib/modules -cf - "${excludes[@]}" "$kver" | tar -C "$r/lib/modules" -xf -
chroot "$r" depmod "$kver"
apt_clean() { rm -rf "$r/var/cache/apt/archives/"*.deb "$r/var/lib/apt/lists/"*; }
apt_clean
# Guest configuration: a root fs on /dev/vda, the run disk (per run, made by test-vm.sh) on
# /dev/vdb, no login on the serial console, and the boot script.
echo minic-vm >"$r/etc/hostname"
printf '/dev/vda / ext4 rw 0 1\n' >"$r/etc/fstab"
mkdir -p "$r/mnt/run"
install -m 0755 "$here/guest/boot.sh" "$r/usr/local/sbin/minic-vm-boot"
cat >"$r/etc/systemd/system/minic-vm.service" <<UNIT
[Unit]
Description=minic VM suite
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/minic-vm-boot
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0
[Install]
WantedBy=multi-user.target
UNIT
ln -s /etc/systemd/system/minic-vm.service "$r/etc/systemd/system/multi-user.target.wants/minic-vm.service"
ln -sf /dev/null "$r/etc/systemd/system/serial-getty@ttyS0.service"
ln -sf /dev/null "$r/etc/systemd/system/getty@tty1.service"
sz=$(( $(du -sm "$r" | cut -f1) + 600 ))
truncate -s "${sz}M" "$work/root.img"
mkfs.ext4 -q -F -L minic-vm -d "$r" "$work/root.img"
mkdir -p "$cache/$key"
mv "$work/root.img" "$img"
echo "test-vm: VM image built in $(( $(date +%s) - t0 )) s: $img" >&2
echo "$img"
