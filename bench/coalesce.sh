#!/usr/bin/env bash
# Measures request coalescing: with the fake provider answering after
# BENCH_LATENCY (200ms), coalesce_burst opens BENCH_REQUESTS (200)
# connections to gencache, releases identical seeded requests on all of them
# at once, and records each request's latency (release to last response byte)
# and X-Gencache-Status. A burst passes when exactly one request is a miss,
# the rest are coalesced, and the provider saw exactly one create; the
# latency target is that all requests finish within BENCH_TARGET_MS (220) ms,
# i.e. about one provider call. Repeated BENCH_BURSTS (5) times with a fresh
# seed each; the report gives medians over bursts.
#
# Environment: BENCH_BURSTS [5]  BENCH_REQUESTS [200]  BENCH_LATENCY [200ms]
#   BENCH_TARGET_MS [220]  BENCH_THREADS (gencache event loops) [2]
#   BENCH_QUICK=1 (2 bursts)  BENCH_STRICT=1 (exit 1 when the latency target
#   is missed)  BENCH_OUT (also write the markdown report there)
#   BENCH_KEEP=1  GENCACHE_BUILD_DIR [build/release]
# Exit status: 0 on success, 1 when a burst failed its checks.
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

BURSTS=${BENCH_BURSTS:-5}
[[ ${BENCH_QUICK:-0} == 1 ]] && BURSTS=${BENCH_BURSTS:-2}
REQUESTS=${BENCH_REQUESTS:-200}
LATENCY=${BENCH_LATENCY:-200ms}
TARGET_MS=${BENCH_TARGET_MS:-220}
SERVER_THREADS=${BENCH_THREADS:-2}
BURST_BIN=${COALESCE_BURST_BIN:-$BENCH_BUILD_DIR/bench/coalesce_burst}

[[ $BURSTS =~ ^[1-9][0-9]{0,2}$ ]] || bench_die "BENCH_BURSTS must be 1-999"
[[ $TARGET_MS =~ ^[0-9]+$ ]] || bench_die "BENCH_TARGET_MS must be an integer"
bench_require_file "$BENCH_GENCACHE" "cmake --preset release && ninja -C build/release gencache"
bench_require_file "$BENCH_FAKE" "cmake --preset release && ninja -C build/release fake_provider"
bench_require_file "$BURST_BIN" "cmake --preset release && ninja -C build/release coalesce_burst"

trap bench_cleanup EXIT
trap 'exit 130' INT TERM
bench_make_workdir gc-coalesce
W=$BENCH_WORK

# Enough descriptors for the burst on both ends (gencache inherits it).
ulimit -n $((REQUESTS * 2 + 256)) 2>/dev/null || true

bench_start fake "$BENCH_FAKE" --listen 127.0.0.1:0 --latency "$LATENCY"
FAKE_PID=$BENCH_LAST_PID
FAKE_PORT=$(bench_wait_for_line "$W/fake.out" '.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*' \
  "$FAKE_PID") || bench_die "fake provider did not start (see $W/fake.err)"
cat >"$W/gencache.yaml" <<YAML
listen: 127.0.0.1:0
data_dir: $W/gencache-data
log_level: info
server: {threads: $SERVER_THREADS}
providers:
  replicate: {kind: replicate, base_url: http://127.0.0.1:$FAKE_PORT/replicate/v1, api_key_env: BENCH_KEY}
cache:
  ttl: 7d
YAML
BENCH_KEY=bench-upstream-key bench_start gencache "$BENCH_GENCACHE" serve --config "$W/gencache.yaml"
GC_PID=$BENCH_LAST_PID
GC_PORT=$(bench_wait_for_line "$W/gencache.err" '.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*' \
  "$GC_PID") || bench_die "gencache did not start (see $W/gencache.err)"

total_creates() {
  curl -s --max-time 5 "http://127.0.0.1:$FAKE_PORT/_fake/stats" |
    sed -n 's/.*"total_creates":\([0-9]*\).*/\1/p'
}
field() { sed -n "s/.* $1=\\([0-9]*\\).*/\\1/p" <<<"$2"; }

bench_log "machine: $(bench_machine)"
bench_log "$BURSTS burst(s) of $REQUESTS identical requests, provider latency $LATENCY"
# One request first, so connection set-up to the provider is not measured.
printf '%s' '{"version":"bench-coalesce","input":{"prompt":"warm-up","seed":0}}' >"$W/warm.json"
"$BURST_BIN" --port "$GC_PORT" --body-file "$W/warm.json" --requests 1 \
  --header 'Authorization: Bearer bench-client' --timeout-ms 10000 >/dev/null ||
  bench_die "warm-up request failed (see $W/gencache.err)"

SEED_BASE=$(( (RANDOM << 15 | RANDOM) + 1 ))
RESULTS=$W/results.tsv
COLUMNS=(ok miss coalesced hit other min_us p50_us p99_us max_us release_spread_us)
printf 'burst\tseed\tcreates' >"$RESULTS"
printf '\t%s' "${COLUMNS[@]}" >>"$RESULTS"
printf '\n' >>"$RESULTS"
FAILED=0
for ((b = 1; b <= BURSTS; b++)); do
  seed=$((SEED_BASE + b))
  printf '{"version":"bench-coalesce","input":{"prompt":"a lighthouse at dusk, oil painting","width":1024,"height":1024,"seed":%d}}' \
    "$seed" >"$W/burst.json"
  before=$(total_creates)
  line=$("$BURST_BIN" --port "$GC_PORT" --body-file "$W/burst.json" --requests "$REQUESTS" \
    --header 'Authorization: Bearer bench-client' --timeout-ms 10000) || true
  [[ $line == BURST* ]] || bench_die "coalesce_burst failed: $line"
  after=$(total_creates)
  creates=$((after - before))
  {
    printf '%d\t%d\t%d' "$b" "$seed" "$creates"
    for c in "${COLUMNS[@]}"; do printf '\t%s' "$(field "$c" "$line")"; done
    printf '\n'
  } >>"$RESULTS"
  bench_log "burst $b: ok $(field ok "$line")/$REQUESTS, miss $(field miss "$line")," \
    "coalesced $(field coalesced "$line"), hit $(field hit "$line"), creates $creates," \
    "min $(field min_us "$line") us, p50 $(field p50_us "$line") us," \
    "p99 $(field p99_us "$line") us, max $(field max_us "$line") us"
  if [[ $(field ok "$line") != "$REQUESTS" || $(field miss "$line") != 1 ||
    $(field coalesced "$line") != $((REQUESTS - 1)) || $creates != 1 ]]; then
    bench_log "burst $b FAILED its checks: $line creates=$creates"
    FAILED=1
  fi
done

col() { # col NAME: the column's values, one per line
  awk -F'\t' -v name="$1" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next }
    { print $c }' "$RESULTS"
}
ms() { awk -v us="$1" 'BEGIN { printf "%.1f", us / 1000 }'; }
# row LABEL VALUE...: one markdown table row.
row() {
  printf '| %s ' "$@"
  printf '|\n'
}
MAX_MEDIAN=$(col max_us | bench_median)
WORST_MAX=$(col max_us | sort -g | tail -n 1)
WITHIN=$(col max_us | awk -v t="$TARGET_MS" '$1 <= t * 1000 { n++ } END { print n + 0 }')
TIME_COLUMNS=(min_us p50_us p99_us max_us)
REPORT=$W/report.md
{
  echo "### Coalescing: $REQUESTS identical requests released at once"
  echo
  echo "Machine: $(bench_machine); the load tool, gencache and the fake provider share these cores."
  echo "gencache ($(bench_revision)) with $SERVER_THREADS event loops; fake provider latency $LATENCY;" \
    "$BURSTS burst(s), each with a fresh seed; latency is from the release to the last byte."
  echo
  echo "| burst | ok | miss | coalesced | hit | provider creates | min ms | p50 ms | p99 ms | max ms |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for ((b = 1; b <= BURSTS; b++)); do
    cells=("$b")
    for c in ok miss coalesced hit creates; do cells+=("$(col "$c" | sed -n "${b}p")"); done
    for c in "${TIME_COLUMNS[@]}"; do cells+=("$(ms "$(col "$c" | sed -n "${b}p")")"); done
    row "${cells[@]}"
  done
  cells=("**median**")
  for c in ok miss coalesced hit creates; do cells+=("$(col "$c" | bench_median)"); done
  for c in "${TIME_COLUMNS[@]}"; do cells+=("$(ms "$(col "$c" | bench_median)")"); done
  row "${cells[@]}"
  echo
  echo "Target: every request within $TARGET_MS ms: $WITHIN of $BURSTS bursts met it" \
    "(median max $(ms "$MAX_MEDIAN") ms, worst $(ms "$WORST_MAX") ms)." \
    "Median time for the load tool's threads to start sending after the release:" \
    "$(ms "$(col release_spread_us | bench_median)") ms."
  if ((FAILED)); then echo; echo "**A burst failed its checks (one miss, one provider create).**"; fi
} >"$REPORT"
echo
cat "$REPORT"
if [[ -n ${BENCH_OUT:-} ]]; then
  cp "$REPORT" "$BENCH_OUT"
  bench_log "report written to $BENCH_OUT"
fi
((FAILED == 0)) || exit 1
if [[ ${BENCH_STRICT:-0} == 1 && $WITHIN -ne $BURSTS ]]; then exit 1; fi
exit 0
