#!/bin/bash
# minic's tests on a VM host (run by main.sh as root inside the guest): real builds and runs,
# every limit proved from inside the container, signals, and nothing left on the host after
# each test. Usage: tests.sh KIND [NAME_REGEX]. Writes passed=/failed= to /mnt/run/out/result.
R=/mnt/run
kind=$1
filter=${2:-}
out=$R/out
work=$(mktemp -d /tmp/vmtests.XXXXXX)
passed=0
failed=0

fail() { echo "FAIL: $*"; exit 1; }
# expect DESCRIPTION ACTUAL EXPECTED
expect() { [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"; }
# expect_match DESCRIPTION TEXT ERE
expect_match() { grep -Eq -- "$3" <<<"$2" || fail "$1: '$2' does not match /$3/"; }

# What minic may have left on the host: cgroups, systemd units, netns, veths, mounts.
# (minic-vm.service is this suite's own unit, the image's.)
leftovers() {
  find /sys/fs/cgroup -mindepth 1 -type d -name 'minic-*' ! -name minic-vm.service 2>/dev/null | sed 's/^/cgroup /'
  if [ -d /run/systemd/system ]; then systemctl list-units --all --no-legend --plain 'minic-*' 2>/dev/null | grep -v '^minic-vm\.service' | sed 's/^/unit /'; fi
  ip netns list 2>/dev/null | grep minic | sed 's/^/netns /'
  ip -o link show type veth 2>/dev/null | sed 's/^/veth /'
  grep -E 'minic|/var/lib/minic' /proc/self/mountinfo | sed 's/^/mount /'
}

t() {
  local name=$1
  [ -n "$filter" ] && ! grep -Eq -- "$filter" <<<"$name" && return 0
  local t0=$(date +%s.%N) rc
  ( set -o pipefail; "test_$name" ) >"$work/log" 2>&1
  rc=$?
  if [ $rc = 0 ]; then
    local left
    left=$(leftovers)
    if [ -n "$left" ]; then echo "FAIL: left behind after the test:"$'\n'"$left" >>"$work/log"; rc=1; fi
  fi
  local secs=$(awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $t0}")
  if [ $rc = 0 ]; then
    passed=$((passed + 1)); echo "ok   $name (${secs}s)"
  else
    failed=$((failed + 1)); echo "FAIL $name (${secs}s)"; sed 's/^/    | /' "$work/log" | tail -n 40
    # The next test starts clean: what this one left is removed (and reported above).
    minic prune >/dev/null 2>&1
  fi
}

# The cgroup directories of minic's running containers (the ones that hold processes' limits).
minic_cgroups() { find /sys/fs/cgroup -mindepth 1 -type d -name 'minic-*' ! -name minic-vm.service 2>/dev/null; }
# Waits up to 60 s for a running container (a minic cgroup with a process in it).
wait_running() {
  for _ in $(seq 600); do
    [ -z "${pid:-}" ] || kill -0 "$pid" 2>/dev/null || fail "minic ended before its container started"
    for d in $(minic_cgroups); do [ -n "$(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null)" ] && return 0; done
    sleep 0.1
  done
  fail "no container started within 60 s"
}

test_host() {
  echo "kernel $(uname -r); PID 1 $(cat /proc/1/comm); /sys/fs/cgroup: $(stat -f -c %T /sys/fs/cgroup)"
  echo "root controllers: $(cat /sys/fs/cgroup/cgroup.controllers); subtree_control: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
  expect "cgroup fs" "$(stat -f -c %T /sys/fs/cgroup)" cgroup2fs
  if [ "$kind" = systemd ]; then expect "PID 1" "$(cat /proc/1/comm)" systemd; else expect "PID 1" "$(cat /proc/1/comm)" bash; fi
}

test_doctor() {
  o=$(minic doctor)
  echo "$o"
  expect_match "version" "$o" '^ok +cgroup version: v2 \(unified\)$'
  if [ "$kind" = systemd ]; then
    expect_match "PID 1" "$o" '^note +PID 1 is systemd$'
    expect_match "plan" "$o" '^ok +cgroups: managed by systemd; each container runs in a transient scope machine\.slice/minic-ID\.scope with Delegate=yes, where minic enables cpu cpuset memory pids .*\(usable: cpu cpuset memory pids\)$'
  else
    expect_match "PID 1" "$o" '^note +PID 1 is not systemd'
    expect_match "plan" "$o" '^ok +cgroups: no cgroup manager but minic on cgroup v2; minic enables cpu cpuset memory pids in /sys/fs/cgroup/cgroup.subtree_control when a limit needs it \(usable: cpu cpuset memory pids\)$'
  fi
  expect "last line" "$(tail -n 1 <<<"$o")" "minic run: ready"
}

test_build() {
  minic build recipes/busybox.ts
  minic build $R/guest/recipes/vm-app.ts
  minic images
}

test_run_pid1_and_config() {
  expect "pid" "$(minic run vm-app -- sh -c 'echo $$')" 1
  expect "run step output" "$(minic run vm-app -- cat /etc/vm-built)" built-in-vm
  expect "image config" "$(minic run vm-app)" "greeting=hi cwd=/srv"
}

test_exit_status() {
  minic run vm-app -- sh -c 'exit 7'
  expect "exit status" "$?" 7
}

test_net_none() {
  expect "links" "$(minic run --net none vm-app -- sh -c 'ls /sys/class/net')" lo
}

test_net_veth() {
  o=$(minic run --net veth vm-app -- sh -c 'ip -4 -o addr show eth0; ping -c1 -W5 "$(ip route | sed -n "s/^default via \([0-9.]*\).*/\1/p")" >/dev/null && echo pinged')
  echo "$o"
  expect_match "address" "$o" 'inet 10\.231\.[0-9]+\.[0-9]+/24'
  expect_match "gateway" "$o" '^pinged$'
}

test_net_bridge() {
  o=$(minic run --net bridge vm-app -- sh -c 'ip -4 -o addr show eth0; ping -c1 -W5 "$(ip route | sed -n "s/^default via \([0-9.]*\).*/\1/p")" >/dev/null && echo pinged')
  echo "$o"
  expect_match "address" "$o" 'inet 10\.231\.0\.[0-9]+/24'
  expect_match "gateway" "$o" '^pinged$'
  ip link del mcbr0 2>/dev/null || true
}

test_publish() {
  minic run --net veth -p 127.0.0.1:18080:8080 vm-app -- httpd -f -vv -p 8080 -h /srv/www &
  pid=$!
  got=
  for _ in $(seq 150); do
    kill -0 $pid || break
    # Until httpd listens, the proxy closes the connection it accepted: an empty answer.
    # (bash's /dev/tcp: the static busybox's wget crashes resolving on glibc hosts)
    got=$(timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/18080 && printf "GET /index.html HTTP/1.0\r\n\r\n" >&3 && cat <&3' 2>$work/wget | tail -n 1) && [ -n "$got" ] && break
    sleep 0.2
  done
  cat $work/wget
  # httpd as PID 1 has no default SIGTERM action: the second signal kills it at once.
  kill -TERM $pid; sleep 1; kill -TERM $pid; wait $pid
  expect "page through -p" "$got" hello-vm
}

test_cpuset() {
  expect "--cpuset 0" "$(minic run --cpuset 0 vm-app -- sh -c 'grep Cpus_allowed_list /proc/self/status' | tr -s '\t ' ' ')" "Cpus_allowed_list: 0"
  expect "--cpuset 1" "$(minic run --cpuset 1 vm-app -- sh -c 'grep Cpus_allowed_list /proc/self/status' | tr -s '\t ' ' ')" "Cpus_allowed_list: 1"
  expect "no --cpuset" "$(minic run vm-app -- sh -c 'grep Cpus_allowed_list /proc/self/status' | tr -s '\t ' ' ')" "Cpus_allowed_list: 0-1"
}

# The CPU time a busy loop gets in 3 s of wall time, in percent of one CPU (utime + stime of
# /proc/PID/stat, in 1/100 s).
BUSY='sh -c "while :; do :; done" & p=$!; sleep 3; set -- $(cat /proc/$p/stat); kill $p; echo share=$(( (${14} + ${15}) / 3 ))'
test_cpus() {
  # The quota minic set (read on the host while the container runs), then its effect inside.
  minic run --cpus 0.5 vm-app -- sleep 30 &
  pid=$!
  wait_running
  d=$(minic_cgroups | head -n 1)
  if [ "$kind" = systemd ]; then
    # The container's cgroup is the leaf of its delegated scope.
    expect_match "scope" "$d" '^/sys/fs/cgroup/machine\.slice/minic-[0-9a-f]{12}\.scope$'
    expect "the scope is delegated" "$(systemctl show -p Delegate --value "${d##*/}")" yes
    d=$d/container
  fi
  q=$(cat $d/cpu.max)
  kill -TERM $pid; wait $pid
  expect "cpu.max of the container's cgroup" "$q" "50000 100000"
  o=$(minic run --cpus 0.5 vm-app -- sh -c "$BUSY")
  echo "--cpus 0.5: $o"
  s=${o#share=}
  [ "$s" -ge 20 ] && [ "$s" -le 60 ] || fail "a busy loop under --cpus 0.5 got $s% of a CPU"
  limited=$s
  o=$(minic run vm-app -- sh -c "$BUSY")
  echo "unlimited: $o"
  s=${o#share=}
  # (a loaded host slows the VM's CPUs too: unlimited is compared with limited, not with 100%)
  [ "$s" -ge $(( ${limited} + 15 )) ] || fail "a busy loop without --cpus got only $s% of a CPU (under --cpus 0.5: $limited%)"
}

test_memory() {
  o=$(minic run --memory 32M vm-app -- sh -c 'dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; echo rc=$?' 2>$work/err)
  cat $work/err
  expect "allocation past --memory" "$o" rc=137
  expect_match "reported" "$(cat $work/err)" 'OOM killer killed 1 process'
  expect "below --memory" "$(minic run --memory 32M vm-app -- sh -c 'dd if=/dev/zero of=/dev/null bs=4M count=1 2>/dev/null; echo rc=$?')" rc=0
}

test_pids() {
  script='sh -c "i=0; while [ \$i -lt 60 ]; do i=\$((i+1)); sleep 2 & done" 2>/dev/null; n=0; for p in /proc/[0-9]*; do n=$((n+1)); done; echo procs=$n'
  o=$(minic run --pids 20 vm-app -- sh -c "$script" 2>$work/err)
  cat $work/err
  n=${o#procs=}
  echo "--pids 20: $n processes"
  [ "$n" -gt 10 ] && [ "$n" -lt 20 ] || fail "--pids 20 let $n processes run"
  o=$(minic run vm-app -- sh -c "$script")
  n=${o#procs=}
  [ "$n" -gt 60 ] || fail "without --pids only $n processes ran"
}

test_sigterm() {
  # PID 1 of the container gets the signal (a PID 1 without a handler would ignore it).
  minic run vm-app -- sh -c 'trap "exit 143" TERM; sleep 61 & wait' &
  pid=$!
  wait_running
  # Signalled once its trap is set (its sleep runs), not while nspawn is still starting it: a
  # PID 1 without a handler ignores SIGTERM. The sleep itself (-x), not any process whose
  # command line holds 'sleep 61' (minic's and the wrapper's do from the start).
  for _ in $(seq 600); do pgrep -a -x sleep | grep -q 'sleep 61' && break; sleep 0.1; done
  ps -eo pid,ppid,comm,args | grep -E 'nspawn|sleep 61|trap|sd-' | grep -v grep
  for k in $(pgrep -f 'systemd-nspawn'); do echo "nspawn $k children: $(cat /proc/$k/task/$k/children)"; for c in $(cat /proc/$k/task/$k/children); do grep -E 'NSpid|Name' /proc/$c/status | tr '\n' ' '; echo; done; done
  kill -TERM $pid
  wait $pid
  expect "exit status after SIGTERM" "$?" 143
}

test_sigkill_then_prune() {
  minic run vm-app -- sleep 600 &
  pid=$!
  wait_running
  kill -KILL $pid
  wait $pid 2>/dev/null
  [ -n "$(minic_cgroups)" ] || fail "nothing was left to prune (the container should outlive a SIGKILLed minic)"
  minic prune
  [ -z "$(pgrep -x 'sleep' -a | grep 600)" ] || fail "the container's sleep is still running"
}

cd $R/minic || exit 1
for name in host doctor build run_pid1_and_config exit_status net_none net_veth net_bridge publish cpuset cpus memory pids sigterm sigkill_then_prune; do
  t "$name"
done
printf 'passed=%d\nfailed=%d\n' "$passed" "$failed" >$out/result
echo "$passed passed, $failed failed"
rm -rf "$work"
[ "$failed" = 0 ]
