#!/usr/bin/env bash
# No-op rebuild of the app recipe (recipes/hello.ts on the busybox base) with minic against
# `podman build` of an equivalent Containerfile with a warm cache. Prints both medians and the
# ratio (target: minic <= 0.5x podman). Needs root and podman (scripts/setup.sh installs it).
set -euo pipefail
HERE=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
PEERS_DIR=${PEERS_DIR:-$HERE/../shared/bench/peers}
# shellcheck source=/dev/null
source "$PEERS_DIR/_common.sh"     # make_rootfs, podman_env, time_runs (hyperfine when present)
RUNS=${RUNS:-10}
[ -f "$HERE/dist/bundle/entry.js" ] || (cd "$HERE" && npm run -s build)

W=$(mktemp -d /tmp/peers/minic-build-bench.XXXXXX)
on_exit "rm -rf '$W'"

# minic: warm the store once, then time rebuilds that must all be cache hits.
STORE=$W/store
"$HERE/bin/minic" build "$HERE/recipes/hello.ts" --store "$STORE" -q >/dev/null
explain=$("$HERE/bin/minic" build "$HERE/recipes/hello.ts" --store "$STORE" --explain 2>&1 >/dev/null)
grep -q "hello: cache hit" <<<"$explain" || { echo "minic rebuild was not a cache hit: $explain" >&2; exit 1; }

# podman: the same shape: a busybox base stage, then COPY www + the same RUN + CMD.
make_rootfs
guard_var_lib_containers
podman_env
C=$W/ctx; mkdir -p "$C"
cp -a "$ROOTFS" "$C/rootfs"
cp -r "$HERE/recipes/www" "$C/www"
cat > "$C/Containerfile" <<'EOC'
FROM scratch AS base
COPY rootfs/ /
FROM base AS app
COPY www /srv/www
RUN ["/bin/sh", "-c", "echo www:x:1000:1000:www:/srv/www:/bin/false >> /etc/passwd && echo www:x:1000: >> /etc/group && chown -R www:www /srv/www"]
CMD ["/usr/sbin/httpd", "-f", "-v", "-p", "8080", "-h", "/srv/www", "-u", "www"]
EOC
IMG=localhost/minic-bench-hello:1
podman build --layers --network none -q -t "$IMG" "$C" >/dev/null
on_exit "podman rmi -f '$IMG' >/dev/null 2>&1"

echo "no-op rebuild, median of $RUNS runs each (warm caches):"
# NODE_EXTRA_CA_CERTS makes every node process parse a CA bundle at start (~45 ms here); it is a
# TLS setting of this sandbox, and a build makes no TLS connection.
m=$(time_runs "minic build recipes/hello.ts (cache hit)" env -u NODE_EXTRA_CA_CERTS "$HERE/bin/minic" build "$HERE/recipes/hello.ts" --store "$STORE" -q)
p=$(time_runs "podman build --layers (cached)" podman build --layers --network none -q -t "$IMG" "$C")
echo "$m"; echo "$p"
med() { sed -n 's/.*median=\([0-9.]*\)ms.*/\1/p' <<<"$1"; }
awk -v a="$(med "$m")" -v b="$(med "$p")" 'BEGIN { printf "RATIO minic/podman no-op rebuild = %.2f (target <= 0.50)\n", a / b }'
