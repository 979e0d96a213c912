#!/usr/bin/env bash
# Packing benchmark: `minic import` of a real rootfs (>= 150 MB) into a fresh store, against the
# tutorial's pipeline `cd tree && find . | cpio -o -H newc | pbzip2 -c > out`. Prints, side by
# side, the median wall time of RUNS runs of each (default 3), the ratio (target <= 0.8), minic's
# peak RSS while packing (target < 256 MB) and whether every minic pack gave the same digests.
# The rootfs comes from ../shared/bench/corpus.sh (built there on a fresh machine; CORPUS=DIR
# overrides). Builds minic first when dist/ is missing. Not a test: it prints, it does not fail
# on a missed target (exit 0), unless something it runs fails.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${SHARED:-$ROOT/../shared}
RUNS=${RUNS:-3}
cd "$ROOT"

need() { command -v "$1" >/dev/null || { echo "bench: $1 is missing (apt-get install ${2:-$1})" >&2; exit 1; }; }
need cpio; need pbzip2; need find findutils; [ -x /usr/bin/time ] || { echo "bench: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }

if [ -z "${CORPUS:-}" ]; then CORPUS=$(bash "$SHARED/bench/corpus.sh" | tail -n1); fi
[ -d "$CORPUS" ] || { echo "bench: corpus $CORPUS is not a directory" >&2; exit 1; }
[ -d node_modules ] || npm ci --no-audit --no-fund >/dev/null
[ -f dist/bundle/entry.js ] || npm run -s build >/dev/null

bytes=$(du -sb "$CORPUS" | cut -f1)
entries=$(find "$CORPUS" -mindepth 1 | wc -l)
[ "$bytes" -ge $((150 * 1000 * 1000)) ] || { echo "bench: corpus is only $((bytes / 1000000)) MB; need >= 150 MB" >&2; exit 1; }

work=$(mktemp -d /tmp/minic-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
# Nothing is removed while the runs are timed, only at exit: on a journal-less ext4 (this
# project's machine) an inode freed less than 30 s before (180 s while its table block is dirty)
# is skipped when a new one is allocated, and a store (with its unpacked tree) removed before the
# next run's import made that import's 6,800 new files slow: a store and an archive per run.
need_mb=$(( RUNS * (3 * bytes / 1000000 / 2 + 100) ))
free_mb=$(df -Pm "$work" | awk 'NR == 2 {print $4}')
[ "$free_mb" -ge "$need_mb" ] || { echo "bench: needs ~$need_mb MB free under /tmp for $RUNS runs (nothing is removed before the end), has $free_mb MB" >&2; exit 1; }

# Warm the page cache so neither side pays for the first read of the tree.
find "$CORPUS" -type f -print0 | xargs -0 cat > /dev/null 2>&1 || true

minic_t=(); pipe_t=(); minic_c=(); pipe_c=(); rss=(); digests=(); msize=0; psize=0
for i in $(seq 1 "$RUNS"); do
  store="$work/store-$i"
  /usr/bin/time -f '%e %M %U %S' -o "$work/m.time" bin/minic import "$CORPUS" -t bench --store "$store" > "$work/m.out" 2> "$work/m.err" \
    || { cat "$work/m.err" >&2; exit 1; }
  read -r t m u s < <(tail -n1 "$work/m.time")
  minic_t+=("$t"); rss+=("$m"); minic_c+=("$(awk -v u="$u" -v s="$s" 'BEGIN {print u + s}')")
  layer=$(grep -o 'layer sha256:[0-9a-f]*' "$work/m.err" | cut -d' ' -f2)
  digests+=("$(cut -d' ' -f2 "$work/m.out") $layer")
  msize=$(grep -o '([0-9]* bytes compressed)' "$work/m.err" | tr -dc 0-9)

  /usr/bin/time -f '%e %U %S' -o "$work/p.time" bash -c 'cd "$1" && find . | cpio -o -H newc --quiet | pbzip2 -c > "$2"' _ "$CORPUS" "$work/pipe-$i.cpio.bz2"
  read -r t u s < <(tail -n1 "$work/p.time")
  pipe_t+=("$t"); pipe_c+=("$(awk -v u="$u" -v s="$s" 'BEGIN {print u + s}')")
  psize=$(stat -c %s "$work/pipe-$i.cpio.bz2")
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
mt=$(median "${minic_t[@]}"); pt=$(median "${pipe_t[@]}")
mc=$(median "${minic_c[@]}"); pc=$(median "${pipe_c[@]}")
cratio=$(awk -v a="$mc" -v b="$pc" 'BEGIN {printf "%.2f", a / b}')
peak=$(printf '%s\n' "${rss[@]}" | sort -g | tail -n1)
ratio=$(awk -v a="$mt" -v b="$pt" 'BEGIN {printf "%.2f", a / b}')
same=$(printf '%s\n' "${digests[@]}" | sort -u | wc -l)
verdict() { awk -v x="$1" -v lim="$2" -v op="$3" 'BEGIN {ok = (op == "le") ? x <= lim : x < lim; print ok ? "ok" : "MISSED"}'; }
tool=$(for t in lbzip2 pbzip2 bzip2; do command -v $t >/dev/null && { echo $t; break; }; done)

printf 'packing %s: %d MB, %d entries, %d runs each (median), %s cores\n' "$CORPUS" $((bytes / 1000000)) "$entries" "$RUNS" "$(nproc)"
printf '%-26s %-22s %s\n' "" "minic import" "find|cpio -H newc|pbzip2"
printf '%-26s %-22s %s\n' "wall time (s)" "$mt" "$pt"
printf '%-26s %-22s %s\n' "all runs (s)" "${minic_t[*]}" "${pipe_t[*]}"
printf '%-26s %-22s %s\n' "cpu time, user+sys (s)" "$mc" "$pc"
printf '%-26s %-22s %s\n' "compressed size (MB)" "$(awk -v b="$msize" 'BEGIN {printf "%.1f", b / 1e6}')" "$(awk -v b="$psize" 'BEGIN {printf "%.1f", b / 1e6}')"
printf '%-26s %-22s %s\n' "compressor" "${MINIC_BZIP2:-$tool}" "pbzip2"
printf '%-26s %s (target <= 0.80: %s)\n' "ratio minic/pipeline" "$ratio" "$(verdict "$ratio" 0.80 le)"
printf '%-26s %s (load-independent; load average at the end: %s)\n' "cpu-time ratio" "$cratio" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-26s %s MB (target < 256 MB: %s)\n' "minic peak RSS" $((peak / 1024)) "$(verdict $((peak / 1024)) 256 lt)"
if [ "$same" -eq 1 ]; then
  printf '%-26s yes: %d fresh stores, image %s, layer %s\n' "identical digests" "$RUNS" "$(cut -c1-19 <<<"${digests[0]}")…" "$(cut -d' ' -f2 <<<"${digests[0]}" | cut -c1-19)…"
else
  printf '%-26s NO: %d different results\n' "identical digests" "$same"
fi
