#!/usr/bin/env bash
# Time to first run (issue 12), in one run: `minic load` + the first `minic run IMAGE /bin/true`
# of the Debian minbase image (../shared/bench/corpus.sh, ~200 MB / ~6,800 entries) against
# `podman load` + the first `podman run --rm` of the same tree (a `podman save` docker-archive),
# and, with PULL=1 (the default), `minic pull` + first run against `podman pull` + first run from
# a docker-registry on loopback. Each part is timed, with its peak RSS (GNU time's %M: the
# largest process of the command, the decompressor included), the ratios minic/podman, and the
# floors of this machine: `lbzip2 -dc` of the layer, `tar -xf` of the same tree, and minic's
# unpacker writing it from the layer's plain cpio (what load does besides decompressing).
# Rounds are interleaved (minic, podman, floors, minic, …) so that drift on a busy machine hits
# all alike; best and median of RUNS rounds (default 3) are printed. Not a test: it prints, and
# fails only when something it runs fails. Needs root. Everything it makes (stores, podman's
# storage and images, the registry and its data, mounts under its work dir) lives in one temp
# dir and is removed at exit, also when it fails; the corpus is cached (CORPUS, default
# /var/tmp/minic-corpus/debian) and kept.
set -euo pipefail
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
SHARED=${SHARED:-$ROOT/../shared}
# Checked before anything is made: the exit hooks that remove $work come from this file.
[ -f "$SHARED/bench/peers/_common.sh" ] || { echo "bench: $SHARED/bench/peers/_common.sh is missing (set SHARED to the shared bench directory's parent)" >&2; exit 1; }
RUNS=${RUNS:-3}
PULL=${PULL:-1}
CORPUS=${CORPUS:-/var/tmp/minic-corpus/debian}
[ -e "$CORPUS.ok" ] || CORPUS=$(CORPUS=$CORPUS bash "$SHARED/bench/corpus.sh")
# A short path: podman's run state lives under it, and with a longer one (/var/tmp/minic-bench-…)
# every `podman run` here waited ~20 s (a unix socket path over its 108-byte limit).
work=$(mktemp -d /tmp/mfr-XXXXXX)
# podman's storage, config and run state under $work (not the shared /tmp/peers: other
# benchmarks may use that at the same time).
PEERS=$work/p
source "$SHARED/bench/peers/_common.sh"   # podman_env, on_exit, guard_var_lib_containers
on_exit "rm -rf '$work'"
# Mounts podman (overlay) or a killed container left under $work: unmounted before it is removed.
on_exit "grep -o ' $work[^ ]*' /proc/mounts 2>/dev/null | sort -r | while read -r m; do umount -l \"\$m\" 2>/dev/null; done"
need=$(( RUNS * 1400 + 1500 )); free=$(df -Pm "$work" | awk 'NR == 2 {print $4}')
[ "$free" -ge "$need" ] || { echo "bench: needs ~$need MB free under /tmp for $RUNS rounds (nothing is removed before the end), has $free MB" >&2; exit 1; }
cd "$ROOT"
[ -d node_modules ] || npm ci --no-audit --no-fund >/dev/null
[ -f dist/bundle/entry.js ] || npm run -s build >/dev/null
for p in podman lbzip2 /usr/bin/time; do command -v $p >/dev/null || { echo "bench: $p is missing (see 'minic doctor')" >&2; exit 1; }; done
if [ "$PULL" = 1 ]; then
  for p in docker-registry skopeo curl; do command -v $p >/dev/null || { echo "bench: $p is missing (PULL=0 skips the pull part)" >&2; exit 1; }; done
fi

# NODE_EXTRA_CA_CERTS makes every node process parse a CA bundle at start; a setting of this
# sandbox, not of minic (see bench/run-vs-nspawn-podman.sh).
MINIC=(env -u NODE_EXTRA_CA_CERTS "$ROOT/bin/minic")
IMG=localhost/minic-bench-first:1

# ---- set-up (not timed): the image in both tools, as a tarball each ----
"${MINIC[@]}" import "$CORPUS" -t "$IMG" --keep-setuid --store "$work/src" >/dev/null 2>&1
"${MINIC[@]}" save "$IMG" -o "$work/minic.tar" --store "$work/src" 2>/dev/null
layer=$work/src/blobs/sha256/$(node -e 'const m=JSON.parse(require("fs").readFileSync(process.argv[1]+"/blobs/sha256/"+require("fs").readFileSync(process.argv[1]+"/refs/"+encodeURIComponent("localhost/minic-bench-first")+"/1","utf8").trim().slice(7),"utf8")); console.log(m.layers[0].digest.slice(7))' "$work/src")
lbzip2 -dc < "$layer" > "$work/layer.cpio"
tar -C "$CORPUS" -cf "$work/tree.tar" .

guard_var_lib_containers
podman_env
on_exit "podman rmi -a -f >/dev/null 2>&1; podman system reset -f >/dev/null 2>&1"
podman import -q "$work/tree.tar" "$IMG" >/dev/null
podman save -q -o "$work/podman.tar" "$IMG"
PODMAN_NET=(--network host)
podman run --rm "${PODMAN_NET[@]}" "$IMG" /bin/true >/dev/null 2>&1 || PODMAN_NET=(--network none)

if [ "$PULL" = 1 ]; then
  PORT=${REG_PORT:-5077}
  mkdir -p "$work/registry"
  cat > "$work/registry/config.yml" <<EOC
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/registry/data
http:
  addr: 127.0.0.1:$PORT
EOC
  setsid docker-registry serve "$work/registry/config.yml" > "$work/registry/log" 2>&1 < /dev/null &
  RPID=$!
  on_exit "kill $RPID 2>/dev/null; wait $RPID 2>/dev/null"
  for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$PORT/v2/" >/dev/null 2>&1 && break; sleep 0.05; done
  REG=127.0.0.1:$PORT
  "${MINIC[@]}" push "$IMG" "$REG/minic/deb:1" --format minic --store "$work/src" >/dev/null 2>&1
  skopeo copy -q --dest-tls-verify=false "docker-archive:$work/podman.tar" "docker://$REG/podman/deb:1"
fi

# This machine's root file system is ext4 without a journal, where the kernel skips every inode
# freed recently (30 s, 180 s while its inode table block is dirty) when it allocates a new one
# (ext4's recently_deleted(), one buffer lookup per skipped inode): right after a 200 MB tree was
# removed, `tar -xf` of the same tree took 3.8-6.9 s instead of 0.7-1.1 s, all of it kernel
# time, and so did whichever tool wrote next. So nothing is removed while parts are timed: each
# part writes into a store, a podman root or a directory of its own, and all of them are removed
# at exit (about 1.2 GB per round).
# timed LABEL CMD…: runs CMD under GNU time; appends "seconds maxrss_kb" to $work/t/LABEL.
mkdir -p "$work/t"
# Each part starts with no dirty data of the parts before it waiting for writeback (`sync`, not
# timed): the trees written between parts otherwise make the next writer pay for them.
timed() {
  local label=$1; shift
  sync
  /usr/bin/time -f "%e %M" -o "$work/t/.last" "$@" >/dev/null 2>"$work/t/.err" || { echo "bench: failed: $*" >&2; cat "$work/t/.err" >&2; exit 1; }
  cat "$work/t/.last" >> "$work/t/$label"
}
# minic's unpacker fed 1 MiB reads of the plain cpio: in load and pull it reads the decompressor's
# pipe, which is ahead of it. With createReadStream's 64 KiB (one thread-pool round trip each,
# ~3,000 of them) its thread sat idle ~0.33 s of ~1.1 s waiting for the next read: the harness's
# cost, not the unpacker's (2026-12-08: 1.75-1.85 s with 64 KiB, 1.41-1.50 s with 1 MiB).
UNPACK_JS=$(cat <<'EOJS'
const [root, cpio, dest] = process.argv.slice(1);
const { createReadStream, mkdirSync } = await import("node:fs");
const { readCpio } = await import(`${root}/dist/archive/cpio-reader.js`);
const { unpackMembers } = await import(`${root}/dist/archive/unpack.js`);
mkdirSync(dest);
await unpackMembers(readCpio(createReadStream(cpio, { highWaterMark: 1 << 20 })), dest, { whiteouts: "overlay", devices: true, setuid: true, owners: true }, "fresh");
EOJS
)

# pod NAME: sets POD to podman with a storage root of its own under $work (nothing is removed
# between parts, see above); short paths, for its run state's sockets.
pod() { POD=(podman --root "$work/pr/$1" --runroot "$work/pq/$1"); }
for ((i = 0; i < RUNS; i++)); do
  timed minic-load "${MINIC[@]}" load "$work/minic.tar" --store "$work/s-load-$i"
  timed minic-run1 "${MINIC[@]}" run --store "$work/s-load-$i" "$IMG" /bin/true
  timed minic-run2 "${MINIC[@]}" run --store "$work/s-load-$i" "$IMG" /bin/true

  pod "l$i"
  timed podman-load "${POD[@]}" load -q -i "$work/podman.tar"
  timed podman-run1 "${POD[@]}" run --rm "${PODMAN_NET[@]}" "$IMG" /bin/true
  timed podman-run2 "${POD[@]}" run --rm "${PODMAN_NET[@]}" "$IMG" /bin/true

  if [ "$PULL" = 1 ]; then
    timed minic-pull "${MINIC[@]}" pull "$REG/minic/deb:1" -t "$IMG" --store "$work/s-pull-$i"
    timed minic-prun1 "${MINIC[@]}" run --store "$work/s-pull-$i" "$IMG" /bin/true
    pod "p$i"
    timed podman-pull "${POD[@]}" pull -q --tls-verify=false "$REG/podman/deb:1"
    timed podman-prun1 "${POD[@]}" run --rm "${PODMAN_NET[@]}" "$REG/podman/deb:1" /bin/true
  fi

  timed lbzip2-dc sh -c 'lbzip2 -dc < "$1" > /dev/null' sh "$layer"
  timed tar-xf sh -c 'mkdir "$1" && tar -C "$1" -xf "$2"' sh "$work/x-tar-$i" "$work/tree.tar"
  timed minic-unpack node --input-type=module -e "$UNPACK_JS" "$ROOT" "$work/layer.cpio" "$work/x-minic-$i"
done

# best LABEL / median LABEL / rss LABEL (MB, largest of the rounds)
best() { cut -d' ' -f1 "$work/t/$1" | sort -n | head -1; }
median() { cut -d' ' -f1 "$work/t/$1" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
rss() { cut -d' ' -f2 "$work/t/$1" | sort -n | tail -1 | awk '{printf "%.0f", $1/1024}'; }
row() { printf "  %-34s best %6.2f s  median %6.2f s  peak RSS %4s MB\n" "$2" "$(best "$1")" "$(median "$1")" "$(rss "$1")"; }
sum() { awk -v a="$(best "$1")" -v b="$(best "$2")" 'BEGIN {printf "%.2f", a + b}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2fx", a / b}'; }

echo "corpus $CORPUS: $(du -sm "$CORPUS" | cut -f1) MB, $(find "$CORPUS" | wc -l) entries; minic tarball $(( $(stat -c %s "$work/minic.tar") / 1000000 )) MB, podman's $(( $(stat -c %s "$work/podman.tar") / 1000000 )) MB"
echo "$RUNS interleaved rounds (load average at the end: $(cut -d' ' -f1-3 /proc/loadavg))"
row minic-load "minic load"
row minic-run1 "minic first run"
row minic-run2 "minic second run"
row podman-load "podman load"
row podman-run1 "podman first run"
row podman-run2 "podman second run"
ml=$(sum minic-load minic-run1); pl=$(sum podman-load podman-run1)
echo "  load + first run (best parts): minic $ml s, podman $pl s -> minic/podman $(ratio "$ml" "$pl") (target <= 1.0x, stretch 0.8x)"
if [ "$PULL" = 1 ]; then
  row minic-pull "minic pull (loopback registry)"
  row minic-prun1 "minic first run after pull"
  row podman-pull "podman pull (loopback registry)"
  row podman-prun1 "podman first run after pull"
  mp=$(sum minic-pull minic-prun1); pp=$(sum podman-pull podman-prun1)
  echo "  pull + first run (best parts): minic $mp s, podman $pp s -> minic/podman $(ratio "$mp" "$pp") (target <= 1.0x)"
fi
row lbzip2-dc "floor: lbzip2 -dc of the layer"
row tar-xf "floor: tar -xf of the tree"
row minic-unpack "minic's unpacker, from the cpio"
echo "  minic unpack / tar -xf: $(ratio "$(best minic-unpack)" "$(best tar-xf)") (target <= 1.3x)"
