#!/usr/bin/env bash
# The tutorial's cgroup demo through minic: the same pbzip2 -9 job on SIZE_MB (default 100) of
# random data, run in a container once without limits and once with `--cpuset 0`; prints both
# wall times and their ratio (the tutorial saw the time about double on one CPU of two).
# The container is the busybox tree with the host's /usr bound read-only (for pbzip2 and its
# libraries) and a work dir bound at /data. Needs root, pbzip2 and at least 2 CPUs.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${SHARED:-$ROOT/../shared}
source "$SHARED/bench/peers/_common.sh"   # make_rootfs, on_exit
SIZE_MB=${SIZE_MB:-100}
cd "$ROOT"
command -v pbzip2 >/dev/null || { echo "bench: pbzip2 is missing (apt-get install pbzip2)" >&2; exit 1; }
[ -d node_modules ] || npm ci --no-audit --no-fund >/dev/null
[ -f dist/bundle/entry.js ] || npm run -s build >/dev/null
make_rootfs
work=$(mktemp -d /tmp/minic-bench-cpuset-XXXXXX)
on_exit "rm -rf '$work'"

# Image: the busybox tree plus /lib and /lib64 links into /usr, so the host's /usr (bound
# read-only) supplies pbzip2 and its shared libraries inside the container.
mkdir -p "$work/tree"
cp -a "$ROOTFS/." "$work/tree/"
ln -sfn usr/lib "$work/tree/lib"; ln -sfn usr/lib64 "$work/tree/lib64"
MINIC=(env -u NODE_EXTRA_CA_CERTS "$ROOT/bin/minic")
"${MINIC[@]}" import "$work/tree" -t bench-pbzip2 --store "$work/store" >/dev/null 2>&1

mkdir -p "$work/data"
dd if=/dev/urandom of="$work/data/datafile" bs=1M count="$SIZE_MB" status=none
JOB=(--store "$work/store" --bind /usr:/usr:ro --bind "$work/data:/data" bench-pbzip2 -- /usr/bin/pbzip2 -k -9 -f /data/datafile)

secs() { local t0 t1; t0=$(date +%s%N); "${MINIC[@]}" run "$@" >/dev/null || { echo "bench: minic run failed" >&2; exit 1; }; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000000 )); }
cpus=$("${MINIC[@]}" run --store "$work/store" bench-pbzip2 -- /bin/sh -c 'grep Cpus_allowed_list /proc/self/status' | awk '{print $2}')
cpus0=$("${MINIC[@]}" run --store "$work/store" --cpuset 0 bench-pbzip2 -- /bin/sh -c 'grep Cpus_allowed_list /proc/self/status' | awk '{print $2}')
free=$(secs "${JOB[@]}")
one=$(secs --cpuset 0 "${JOB[@]}")
awk -v f="$free" -v o="$one" -v mb="$SIZE_MB" -v c="$cpus" -v c0="$cpus0" 'BEGIN {
  printf "pbzip2 -k -9 of %d MB of random data inside minic run (CPUs allowed: %s / %s)\n", mb, c, c0
  printf "  unlimited          %7.2f s\n", f / 1000
  printf "  --cpuset 0         %7.2f s\n", o / 1000
  printf "  ratio              %7.2f x   (the tutorial: about 2x on one CPU of two)\n", o / f
}'
