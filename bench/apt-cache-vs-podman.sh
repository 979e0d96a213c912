#!/usr/bin/env bash
# A rebuild of recipes/debian-curl.ts after a change in its apt step's line (apt-get update &&
# apt-get install curl), with and without the cache mounts of /var/cache/apt and
# /var/lib/apt/lists, against `podman build --layers` of the equivalent Containerfile with and
# without `RUN --mount=type=cache`. podman starts from the same debootstrap tree (minic's base
# layer, exported and given to `podman import`: it cannot pull from Docker Hub here). Also times a
# rebuild after a change in the later step (a cache hit for the apt layer in both). Each timed
# build changes the line (a new `echo N`), so each is a cache miss of that step. Prints the times
# (median of ROUNDS, interleaved) and the ratios. Needs root, network to deb.debian.org, podman.
# Removes what it made: its temp dir (minic's store, a podman storage of its own, buildah's
# cache-mount dirs: TMPDIR is in it), the podman images, any mount left under it.
set -euo pipefail
HERE=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
PEERS_DIR=${PEERS_DIR:-$HERE/../shared/bench/peers}
# shellcheck source=/dev/null
source "$PEERS_DIR/_common.sh"     # podman_env, on_exit, guard_var_lib_containers
ROUNDS=${ROUNDS:-3}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
[ -f "$HERE/dist/bundle/entry.js" ] || (cd "$HERE" && npm run -s build)
MINIC="$HERE/bin/minic"

W=$(mktemp -d /tmp/peers/minic-apt-bench.XXXXXX)
on_exit "rm -rf '$W'"
STORE=$W/store
# buildah keeps RUN --mount=type=cache dirs in \$TMPDIR/buildah-cache-UID (default /var/tmp).
export TMPDIR=$W/tmp; mkdir -p "$TMPDIR"

ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END { print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2 }'; }

# minic: the recipe with the apt line changed to end in `echo $2` ($1: cache|nocache).
minic_recipe() {
  local d=$W/r-$1-$2; mkdir -p "$d"
  sed -e "s/curl ca-certificates\"/curl ca-certificates \&\& echo $2\"/" "$HERE/recipes/debian-curl.ts" > "$d/debian-curl.ts"
  [ "$1" = cache ] || sed -i -e '/cache: \["\/var\/cache\/apt", "\/var\/lib\/apt\/lists"\],/d' "$d/debian-curl.ts"
  grep -q "echo $2\"" "$d/debian-curl.ts" || { echo "bench: could not edit the recipe's apt line" >&2; exit 1; }
  echo "$d/debian-curl.ts"
}
minic_build() { "$MINIC" build "$1" --store "$STORE" -q -t "bench-$2" >/dev/null 2>"$W/minic.err" || { cat "$W/minic.err" >&2; exit 1; }; }

echo "minic: debootstrap of bookworm minbase (cold, not in the ratios)..."
t=$(now_ns)
cat > "$W/base.ts" <<'EOR'
import { debian, defineRecipe } from "minic";
export default defineRecipe({ name: "bench-debian", base: debian({ suite: "bookworm", variant: "minbase" }) });
EOR
"$MINIC" build "$W/base.ts" --store "$STORE" -q >/dev/null
echo "TIMING minic debootstrap + layer: $(ms "$t") ms"
minic_build "$(minic_recipe cache 0)" warm        # fills the cache mounts
minic_build "$(minic_recipe nocache 0)" warm

# podman: the same tree, imported.
guard_var_lib_containers
podman_env
# podman's storage of its own under $W: the intermediate images of --layers go with it.
cat > "$W/storage.conf" <<EOC
[storage]
driver = "overlay"
graphroot = "$W/podman/root"
runroot = "$W/podman/run"
EOC
export CONTAINERS_STORAGE_CONF=$W/storage.conf
on_exit "awk -v w='$W/' 'index(\$2, w) == 1 { print \$2 }' /proc/mounts | sort -r | xargs -r -n1 umount -l"
on_exit "podman rmi -a -f >/dev/null 2>&1"
BASE_IMG=localhost/minic-bench-debian:bookworm
mkdir -p "$W/tree"
"$MINIC" export bench-debian --store "$STORE" -o - | lbzip2 -dc | (cd "$W/tree" && cpio -idm --quiet --no-absolute-filenames)
tar -C "$W/tree" --numeric-owner -cf "$W/tree.tar" .
rm -rf "$W/tree"
podman import -q "$W/tree.tar" "$BASE_IMG" >/dev/null
on_exit "podman rmi -f '$BASE_IMG' >/dev/null 2>&1"
if [ ! -e /var/tmp/buildah-cache-0 ]; then on_exit "rm -rf /var/tmp/buildah-cache-0"; fi

podman_ctx() {   # podman_ctx cache|nocache N LATER
  local d=$W/p-$1-$2-$3 mounts=""; mkdir -p "$d"
  [ "$1" = cache ] && mounts="--mount=type=cache,target=/var/cache/apt --mount=type=cache,target=/var/lib/apt/lists "
  cat > "$d/Containerfile" <<EOC
FROM $BASE_IMG
RUN printf 'Binary::apt::APT::Keep-Downloaded-Packages "true";\nAPT::Keep-Downloaded-Packages "true";\n' > /etc/apt/apt.conf.d/90keep-downloads
RUN ${mounts}DEBIAN_FRONTEND=noninteractive sh -c 'apt-get update && apt-get install -y --no-install-recommends curl ca-certificates && echo $2'
RUN curl --version | head -n 1 > /etc/curl-version
RUN printf 'debian-curl: built by minic from recipes/debian-curl.ts $3\n' > /etc/motd
CMD ["/usr/bin/curl", "--version"]
EOC
  echo "$d"
}
podman_build() { podman build --layers --network host -q -t "localhost/minic-bench-apt-$2" "$1" >/dev/null 2>"$W/podman.err" || { cat "$W/podman.err" >&2; exit 1; }; }
for v in cache nocache; do on_exit "podman rmi -f localhost/minic-bench-apt-$v >/dev/null 2>&1"; done
podman_build "$(podman_ctx cache 0 x)" cache
podman_build "$(podman_ctx nocache 0 x)" nocache

declare -A T
for ((i = 1; i <= ROUNDS; i++)); do
  for v in cache nocache; do
    r=$(minic_recipe "$v" "$i"); sync; t=$(now_ns); minic_build "$r" "$v"; T[minic-$v]+="$(ms "$t") "
    c=$(podman_ctx "$v" "$i" x); sync; t=$(now_ns); podman_build "$c" "$v"; T[podman-$v]+="$(ms "$t") "
  done
  # A change in the later step only: the apt layer is a cache hit.
  r=$(minic_recipe cache "$i"); sed -i -e "s/built by minic/built by minic $i/" "$r"
  sync; t=$(now_ns); minic_build "$r" cache; T[minic-later]+="$(ms "$t") "
  c=$(podman_ctx cache "$i" "later$i"); sync; t=$(now_ns); podman_build "$c" cache; T[podman-later]+="$(ms "$t") "
done
# The last minic rebuild with the cache mount printed what apt fetched: nothing but the indexes' check.
got=$("$MINIC" build "$(minic_recipe cache "x$ROUNDS")" --store "$STORE" 2>&1 | grep -E "Need to get" || true)

echo "rebuild after a change in the apt step's line, median of $ROUNDS (ms; all runs: minic [${T[minic-cache]}] [${T[minic-nocache]}], podman [${T[podman-cache]}] [${T[podman-nocache]}]):"
declare -A M
for k in minic-cache minic-nocache podman-cache podman-nocache minic-later podman-later; do
  M[$k]=$(tr ' ' '\n' <<<"${T[$k]}" | grep . | median)
  echo "TIMING $k median=${M[$k]}ms"
done
echo "minic with the cache mount: apt said '${got# *| }'"
awk -v mc="${M[minic-cache]}" -v mn="${M[minic-nocache]}" -v pc="${M[podman-cache]}" -v pn="${M[podman-nocache]}" -v ml="${M[minic-later]}" -v pl="${M[podman-later]}" 'BEGIN {
  printf "RATIO minic cache mount / no cache mount = %.2f\n", mc / mn
  printf "RATIO podman cache mount / no cache mount = %.2f\n", pc / pn
  printf "RATIO minic/podman with cache mounts = %.2f\n", mc / pc
  printf "RATIO minic/podman without cache mounts = %.2f\n", mn / pn
  printf "RATIO minic/podman after a change in the later step = %.2f\n", ml / pl
}'
