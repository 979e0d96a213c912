#!/usr/bin/env bash
# Benchmark for issue 4 (sharing images), in one run:
#  1. save + load of an image of a 150 MB+ rootfs (Debian minbase from /work/shared/bench/corpus.sh,
#     ~200 MB), minic vs `podman save`/`podman load` of the same tree (podman-imported first);
#  2. store size of ten app images on one base vs ten separate flattened images.
# RUNS=N repeats each save/load (default 3; min and median printed). FULL=1 exports all ten
# flattened apps instead of one (the ten differ by a few bytes; one is measured and multiplied).
# Everything lives in a temp dir removed at exit; podman runs with its own storage/config there.
set -euo pipefail
HERE=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
RUNS=${RUNS:-3}
CORPUS=${CORPUS:-/tmp/minic-corpus/debian}
[ -e "$CORPUS.ok" ] || CORPUS=$(bash /work/shared/bench/corpus.sh)
WORK=$(mktemp -d /tmp/minic-bench-share-XXXXXX)
minic() { "$HERE/bin/minic" "$@"; }
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
stats() { sort -n | awk '{a[NR]=$1} END {m = (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; printf "min=%dms median=%dms", a[1], m}'; }
size() { du -sb "$1" | cut -f1; }
mb() { awk -v b="$1" 'BEGIN {printf "%.1f MB", b/1e6}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2fx", a/b}'; }

# containers/image writes /var/lib/containers/cache for root; remove it at exit if we made it.
had_vlc=0; [ -e /var/lib/containers ] && had_vlc=1
cleanup() {
  set +e
  if [ -n "${CONTAINERS_CONF:-}" ]; then
    podman rmi -a -f >/dev/null 2>&1 || true
    podman system reset -f >/dev/null 2>&1 || true
    for r in "$WORK"/podman/root-l*; do [ -d "$r" ] && podman --root "$r" --runroot "$WORK/podman/run/${r##*root-}" system reset -f >/dev/null 2>&1; done
  fi
  { grep -o " $WORK[^ ]*" /proc/mounts 2>/dev/null || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$WORK"
  if [ "$had_vlc" = 0 ]; then
    rm -f /var/lib/containers/cache/blob-info-cache-v1.boltdb
    rmdir /var/lib/containers/cache /var/lib/containers 2>/dev/null || true
  fi
}
trap cleanup EXIT

(cd "$HERE" && npx tsc -p tsconfig.json)
echo "corpus: $CORPUS ($(mb "$(size "$CORPUS")"), $(find "$CORPUS" | wc -l) entries)"

# ---- 1. save + load ----
S=$WORK/store-a
t0=$(date +%s%N); minic import "$CORPUS" -t debian:bench --keep-setuid --store "$S" >/dev/null 2>&1; T_IMPORT=$(ms "$t0")
# Nothing is removed while the runs are timed, only at exit: on a journal-less ext4 (this
# project's machine) an inode freed less than 30 s before (180 s while its table block is dirty)
# is skipped when a new one is allocated, so a store or podman image removed before the next run
# made that run's 6,800 new files slow: a tarball and a store (podman: a storage root) per run.
need_mb=$(( RUNS * 900 + 600 )); free_mb=$(df -Pm "$WORK" | awk 'NR == 2 {print $4}')
[ "$free_mb" -ge "$need_mb" ] || { echo "bench: needs ~$need_mb MB free under /tmp for $RUNS runs (nothing is removed before the end), has $free_mb MB" >&2; exit 1; }
save_t=(); load_t=()
for ((i = 0; i < RUNS; i++)); do
  t0=$(date +%s%N); minic save debian:bench -o "$WORK/deb-$i.tar" --store "$S" 2>/dev/null; save_t+=("$(ms "$t0")")
  t0=$(date +%s%N); minic load "$WORK/deb-$i.tar" --store "$WORK/store-b$i" >/dev/null; load_t+=("$(ms "$t0")")
done
a=$(cat "$S/refs/debian/bench"); b=$(cat "$WORK/store-b0/refs/debian/bench")
[ "$a" = "$b" ] || { echo "digest mismatch after load: $a vs $b" >&2; exit 1; }
M_TAR=$(size "$WORK/deb-0.tar")
M_SAVE=$(printf '%s\n' "${save_t[@]}" | stats); M_LOAD=$(printf '%s\n' "${load_t[@]}" | stats)
M_SUM=$(( $(printf '%s\n' "${save_t[@]}" | sort -n | head -1) + $(printf '%s\n' "${load_t[@]}" | sort -n | head -1) ))
t0=$(date +%s%N); minic save debian:bench --format oci -o "$WORK/deb-oci.tar" --store "$S" 2>/dev/null; T_OCI=$(ms "$t0")
M_OCI=$(size "$WORK/deb-oci.tar"); rm -f "$WORK/deb-oci.tar"

P=$WORK/podman; mkdir -p "$P/net.d" "$P/run"
cat > "$P/containers.conf" <<EOC
[containers]
netns = "none"
default_ulimits = ["nofile=1024:20000", "nproc=4096:4096"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$P/run/events.log"
runtime = "runc"
tmp_dir = "$P/run/libpod"
volume_path = "$P/root/volumes"
static_dir = "$P/root/libpod"
[network]
network_backend = "cni"
network_config_dir = "$P/net.d"
cni_plugin_dirs = ["/usr/lib/cni"]
EOC
cat > "$P/storage.conf" <<EOC
[storage]
driver = "overlay"
graphroot = "$P/root"
runroot = "$P/run/storage"
EOC
export CONTAINERS_CONF=$P/containers.conf CONTAINERS_STORAGE_CONF=$P/storage.conf
tar -C "$CORPUS" -cf "$WORK/rootfs.tar" .
t0=$(date +%s%N); podman import -q "$WORK/rootfs.tar" localhost/debian:bench >/dev/null; T_PIMPORT=$(ms "$t0")
rm -f "$WORK/rootfs.tar"
psave_t=(); pload_t=()
for ((i = 0; i < RUNS; i++)); do
  t0=$(date +%s%N); podman save -q -o "$WORK/podman-$i.tar" localhost/debian:bench; psave_t+=("$(ms "$t0")")
  t0=$(date +%s%N); podman --root "$P/root-l$i" --runroot "$P/run/l$i" load -q -i "$WORK/podman-$i.tar" >/dev/null; pload_t+=("$(ms "$t0")")
done
P_TAR=$(size "$WORK/podman-0.tar")
P_SAVE=$(printf '%s\n' "${psave_t[@]}" | stats); P_LOAD=$(printf '%s\n' "${pload_t[@]}" | stats)
P_SUM=$(( $(printf '%s\n' "${psave_t[@]}" | sort -n | head -1) + $(printf '%s\n' "${pload_t[@]}" | sort -n | head -1) ))

# ---- 2. ten apps on one base vs ten flattened ----
T=$WORK/store-ten
minic import "$CORPUS" -t debian:bench --keep-setuid --store "$T" >/dev/null 2>&1
node --input-type=module - "$HERE" "$T" <<'EOJS'
const [root, storeDir] = process.argv.slice(2);
const { Store } = await import(`${root}/dist/store/store.js`);
const { putLayer } = await import(`${root}/dist/store/layers.js`);
const { putImage } = await import(`${root}/dist/store/images.js`);
const { parseRef } = await import(`${root}/dist/core/reference.js`);
const store = await Store.open(storeDir);
const base = await store.getImage("debian:bench");
const e = (name, kind, size = 0) => ({ name, kind, mode: kind === "dir" ? 0o755 : 0o644, uid: 0, gid: 0, mtime: 0, size });
for (let i = 0; i < 10; i++) {
  const page = Buffer.from(`<h1>app ${i}</h1>\n` + "x".repeat(20000 + i));
  const layer = await putLayer(store, [{ entry: e("srv", "dir") }, { entry: e("srv/app", "dir") }, { entry: e("srv/app/index.html", "file", page.length), data: page }], 0);
  const d = await putImage(store, [...base.manifest.layers, layer], base.config.config, [...base.config.history, { createdBy: `app${i}` }], 0);
  await store.setRef(parseRef(`app${i}:1`), d);
}
EOJS
STACKED=$(size "$T/blobs")
FLAT_N=1; [ "${FULL:-0}" = 1 ] && FLAT_N=10
FLAT=0
for ((i = 0; i < FLAT_N; i++)); do
  minic export "app$i:1" -o "$WORK/app$i.cpio.bz2" --store "$T" 2>/dev/null
  FLAT=$(( FLAT + $(size "$WORK/app$i.cpio.bz2") ))
  rm -f "$WORK/app$i.cpio.bz2"
done
[ "$FLAT_N" = 1 ] && FLAT=$(( FLAT * 10 ))

echo
echo "== save + load, image of $(mb "$(size "$CORPUS")") rootfs, $RUNS runs each =="
echo "minic   import (once)       ${T_IMPORT}ms"
echo "minic   save  $M_SAVE   tar $(mb "$M_TAR") (cpio+bzip2 layer)"
echo "minic   load  $M_LOAD   (every blob and diff id verified; digests identical: $a)"
echo "podman  import (once)       ${T_PIMPORT}ms"
echo "podman  save  $P_SAVE   tar $(mb "$P_TAR") (docker-archive, uncompressed)"
echo "podman  load  $P_LOAD"
echo "save+load (best runs): minic ${M_SUM}ms, podman ${P_SUM}ms -> podman/minic $(ratio "$P_SUM" "$M_SUM"); tarball podman/minic $(ratio "$P_TAR" "$M_TAR")"
echo "minic   save --format oci (tar+gzip conversion, once) ${T_OCI}ms, tar $(mb "$M_OCI")"
echo
echo "== store size: ten app images on one base vs ten flattened =="
echo "ten apps stacked on one base (store blobs):  $(mb "$STACKED")"
echo "ten flattened rootfs.cpio.bz2 (minic export): $(mb "$FLAT")$([ "$FLAT_N" = 1 ] && echo " (one measured x 10; FULL=1 measures all)")"
echo "flattened/stacked: $(ratio "$FLAT" "$STACKED")"
