#!/bin/bash
# The guest side of scripts/test-vm.sh, run from the run disk (/mnt/run) by the image's boot
# hook: as PID 1 on the plain kind (which first sets up what an init would), from a oneshot unit
# on the systemd kind. Runs tests.sh, leaves the counts in out/result, powers off.
R=/mnt/run
kind=$(cat $R/kind)
if [ "$kind" = plain ]; then
  # What a minimal init (a container host, an embedded system) does: cgroup2 at /sys/fs/cgroup,
  # /run, /tmp and /dev/shm on tmpfs, ptys, the modules minic's runtime uses, loopback.
  mount -t cgroup2 cgroup2 /sys/fs/cgroup
  mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
  mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
  mkdir -p /dev/pts /dev/shm
  mount -t devpts -o gid=5,mode=0620,ptmxmode=0666 devpts /dev/pts
  mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
  for m in overlay veth bridge; do modprobe "$m"; done
  hostname minic-vm
  ip link set lo up
fi
export PATH=$R/bin:$R/minic/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
echo "MINIC-VM-BOOTED kind=$kind uptime=$(cut -d' ' -f1 /proc/uptime)s pid1=$(cat /proc/1/comm)"
# As npm's postinstall does on an install: the startup snapshot for this machine's CPU.
s0=$(cut -d' ' -f1 /proc/uptime)
(cd $R/minic && node scripts/snapshot.mjs) && [ -f $R/minic/dist/snapshot/minic.blob ] || echo "MINIC-VM: no startup snapshot (minic runs without it)"
echo "startup snapshot made in $(awk "BEGIN{printf \"%.1f\", $(cut -d' ' -f1 /proc/uptime) - $s0}") s"
start=$(cut -d' ' -f1 /proc/uptime)
bash $R/guest/tests.sh "$kind" "$(cat $R/filter)"
rc=$?
end=$(cut -d' ' -f1 /proc/uptime)
[ -f $R/out/result ] || printf 'passed=0\nfailed=1\n' >$R/out/result
echo "seconds=$(awk "BEGIN{printf \"%d\", $end - $start}")" >>$R/out/result
echo "MINIC-VM-RESULT $(tr '\n' ' ' <$R/out/result)rc=$rc uptime=${end}s"
sync
mount -o remount,ro $R # checkpoints the journal: the host reads out/ with debugfs
if [ "$kind" = plain ]; then exec busybox poweroff -f; fi
systemctl poweroff --no-block -ff
