#!/usr/bin/env bash
# Start-to-exit benchmark of `minic run IMAGE /bin/true` against raw `systemd-nspawn -D TREE
# /bin/true` and `podman run --rm IMAGE /bin/true`, all three on the same busybox tree (built by
# ../shared/bench/peers/_common.sh) and all on the host network. Runs are interleaved (minic,
# nspawn, podman, minic, …) so that drift on a busy machine hits all three alike; prints each
# median and the targets: minic - nspawn <= 50 ms, minic / podman <= 0.6. RUNS=N (default 20).
# Not a test: it prints; it fails only when something it runs fails. Needs root.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${SHARED:-$ROOT/../shared}
source "$SHARED/bench/peers/_common.sh"   # make_rootfs, podman_env, on_exit, guard_var_lib_containers
RUNS=${RUNS:-20}
cd "$ROOT"
[ -d node_modules ] || npm ci --no-audit --no-fund >/dev/null
[ -f dist/snapshot/minic.blob ] || npm run -s build >/dev/null
for p in systemd-nspawn podman; do command -v $p >/dev/null || { echo "bench: $p is missing (see 'minic doctor')" >&2; exit 1; }; done

make_rootfs
work=$(mktemp -d /tmp/minic-bench-run-XXXXXX)
on_exit "rm -rf '$work'"

# NODE_EXTRA_CA_CERTS makes every node process parse a CA bundle at start (~70 ms here); it is a
# TLS setting of this sandbox, unrelated to `minic run` (which makes no TLS connection).
# bin/minic is the CLI as installed (the launcher that starts Node from minic's startup snapshot).
MINIC=(env -u NODE_EXTRA_CA_CERTS "$ROOT/bin/minic")
"${MINIC[@]}" import "$ROOTFS" -t bench-bb --store "$work/store" >/dev/null 2>&1
"${MINIC[@]}" run --store "$work/store" bench-bb /bin/true   # unpacks the layer once

# systemd-nspawn here needs --register=no --keep-unit when PID 1 is not systemd (as minic passes),
# and a tmpfs on /run/systemd/nspawn (minic makes a private one per container). What the bench
# adds for raw nspawn it removes at exit, directories included: a host left with a
# /run/systemd/nspawn hides the fresh-host case from every later test.
NSPAWN=(systemd-nspawn -q --register=no --keep-unit -D "$ROOTFS" /bin/true)
if ! mountpoint -q /run/systemd/nspawn && [ "$(stat -f -c %T /run)" != tmpfs ]; then
  made=$(mkdir -pv /run/systemd/nspawn | sed -n "s/^mkdir: created directory '\(.*\)'$/\1/p" | tac | tr '\n' ' ')
  [ -z "$made" ] || on_exit "rmdir $made"
  mount -t tmpfs -o mode=0755 tmpfs /run/systemd/nspawn
  on_exit "umount /run/systemd/nspawn"
fi

guard_var_lib_containers
podman_env
IMG=localhost/minic-bench-bb:1
tar -C "$ROOTFS" -cf "$work/rootfs.tar" .
podman rmi -f "$IMG" >/dev/null 2>&1 || true
podman import -q "$work/rootfs.tar" "$IMG" >/dev/null
on_exit "podman rmi -f '$IMG' >/dev/null 2>&1"
PODMAN=(podman run --rm --network host "$IMG" /bin/true)
"${PODMAN[@]}" || PODMAN=(podman run --rm --network none "$IMG" /bin/true)
"${NSPAWN[@]}"

ms() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null 2>&1 || { echo "bench: failed: $*" >&2; exit 1; }; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000 )); }
m=(); n=(); p=()
for ((i = 0; i < RUNS; i++)); do
  m+=("$(ms "${MINIC[@]}" run --store "$work/store" bench-bb /bin/true)")
  n+=("$(ms "${NSPAWN[@]}")")
  p+=("$(ms "${PODMAN[@]}")")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
mm=$(median "${m[@]}"); nm=$(median "${n[@]}"); pm=$(median "${p[@]}")
awk -v m="$mm" -v n="$nm" -v p="$pm" -v runs="$RUNS" -v load="$(cut -d' ' -f1-3 /proc/loadavg)" 'BEGIN {
  printf "start-to-exit of /bin/true, median of %d interleaved runs (load %s)\n", runs, load
  printf "  minic run IMAGE /bin/true      %7.1f ms\n", m / 1000
  printf "  systemd-nspawn -D TREE         %7.1f ms\n", n / 1000
  printf "  podman run --rm IMAGE          %7.1f ms\n", p / 1000
  printf "  minic - nspawn                 %+7.1f ms   (target <= 50 ms)\n", (m - n) / 1000
  printf "  minic / podman                 %7.2f      (target <= 0.60)\n", m / p
}'
