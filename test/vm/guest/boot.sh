#!/bin/sh
# The VM image's boot hook (baked into the image; test/vm/image.sh): PID 1 of the plain kind
# (init=), or the minic-vm.service of the systemd kind. Mounts the run disk that test-vm.sh made
# for this run and hands over to its guest/main.sh.
if [ $$ -eq 1 ]; then
  # The initrd moved its /dev, /proc and /sys onto the root; mount whatever it did not.
  mountpoint -q /proc || mount -t proc proc /proc
  mountpoint -q /sys || mount -t sysfs sysfs /sys
  mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
fi
if ! mount /dev/vdb /mnt/run; then
  echo "minic-vm: cannot mount the run disk /dev/vdb" >/dev/ttyS0
  sync
  exec busybox poweroff -f
fi
exec /bin/bash /mnt/run/guest/main.sh
