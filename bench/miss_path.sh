#!/usr/bin/env bash
# Measures what the budget step adds to the latency of a cache miss: the
# reservation of the estimated cost in the SQLite ledger (one transaction,
# synchronous=FULL) before the upstream call, and its settlement after the
# answer. Two gencache instances run side by side on one fake provider
# (latency 0), identical except for the budget:
#   A  budget on   budgets.daily_usd: 1000000 (never denies; every miss
#                  reserves and settles in the ledger)
#   B  budget off  budgets.daily_usd: none (no limit applies; the gateway
#                  skips the ledger), the reference.
# Every request is a miss (a fresh seed each, bench/miss_post.lua). wrk runs
# one cell per instance and connection count, A and B back to back in ABBA
# order across rounds, because the machine is shared and noisy; the report
# is the median over rounds of req/s and of the mean, p50 and p99 latency
# per instance (timed per request by the Lua script; wrk's own p50/p99
# beside them), A - B and A / B. Afterwards it checks that A's ledger booked the spend with no hold
# left, and that the provider saw one create per request.
#
# Environment (defaults in brackets):
#   BENCH_ROUNDS [5]  BENCH_DURATION [10s]  BENCH_CONNS ["1 8"]
#   BENCH_WRK_THREADS [1]  BENCH_WARMUP [2s]  BENCH_THREADS (gencache event
#   loops) [2]  BENCH_QUICK=1 (1 round of 3s, warm-up 1s)  BENCH_OUT (also
#   write the markdown report there)  BENCH_KEEP=1 (keep the temp dir)
#   BENCH_TMPDIR (where the temp dir with both data dirs goes) [/tmp]
#   GENCACHE_BUILD_DIR [build/release]
# Exit status: 0 on success, 1 when a run failed or a check did not hold.
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

ROUNDS=${BENCH_ROUNDS:-5}
DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-2s}
if [[ ${BENCH_QUICK:-0} == 1 ]]; then
  ROUNDS=${BENCH_ROUNDS:-1}
  DURATION=${BENCH_DURATION:-3s}
  WARMUP=${BENCH_WARMUP:-1s}
fi
read -r -a CONNS <<<"${BENCH_CONNS:-1 8}"
WRK_THREADS=${BENCH_WRK_THREADS:-1}
SERVER_THREADS=${BENCH_THREADS:-2}
REQUEST_PATH=/replicate/predictions
LUA=$BENCH_ROOT/bench/miss_post.lua
# The price of an unknown model ("version:bench"), in micro-USD.
PRICE_MICROS=40000

[[ $ROUNDS =~ ^[1-9][0-9]{0,2}$ ]] || bench_die "BENCH_ROUNDS must be 1-999"
[[ $WRK_THREADS =~ ^[1-9][0-9]{0,2}$ ]] || bench_die "BENCH_WRK_THREADS must be 1-999"
for c in "${CONNS[@]}"; do
  [[ $c =~ ^[1-9][0-9]{0,4}$ ]] || bench_die "BENCH_CONNS must be positive integers"
  ((c >= WRK_THREADS)) || bench_die "each of BENCH_CONNS must be >= BENCH_WRK_THREADS"
done
bench_require_file "$BENCH_GENCACHE" "cmake --preset release && ninja -C build/release gencache"
bench_require_file "$BENCH_FAKE" "cmake --preset release && ninja -C build/release fake_provider"
command -v wrk >/dev/null || bench_die "wrk is not installed"
command -v curl >/dev/null || bench_die "curl is not installed"

trap bench_cleanup EXIT
trap 'exit 130' INT TERM
# Not bench_make_workdir: the data dirs (and so the ledger's syncs) live in
# the work dir, and BENCH_TMPDIR can move it to another file system.
BENCH_WORK=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/gc-misspath.XXXXXX") ||
  bench_die "cannot create a work dir in ${BENCH_TMPDIR:-/tmp}"
W=$BENCH_WORK

# --- the fake provider and the two gateways ---------------------------------
bench_start fake "$BENCH_FAKE" --listen 127.0.0.1:0 --latency 0ms
FAKE_PID=$BENCH_LAST_PID
FAKE_PORT=$(bench_wait_for_line "$W/fake.out" '.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*' \
  "$FAKE_PID") || bench_die "fake provider did not start (see $W/fake.err)"

INSTANCES=(A B)
declare -A LABEL=([A]="A budget on" [B]="B budget off")
declare -A DAILY=([A]=1000000 [B]=none)
declare -A PORT=()
for i in "${INSTANCES[@]}"; do
  cat >"$W/gencache-$i.yaml" <<EOF
listen: 127.0.0.1:0
data_dir: $W/data-$i
log_level: warn
server: {threads: $SERVER_THREADS}
providers:
  replicate: {kind: replicate, base_url: http://127.0.0.1:$FAKE_PORT/replicate/v1, api_key_env: BENCH_KEY}
budgets: {daily_usd: ${DAILY[$i]}}
EOF
  BENCH_KEY=bench-upstream-key bench_start "gencache-$i" "$BENCH_GENCACHE" serve \
    --config "$W/gencache-$i.yaml"
  pid=$BENCH_LAST_PID
  PORT[$i]=$(bench_wait_for_line "$W/gencache-$i.err" \
    '.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*' "$pid") ||
    bench_die "gencache $i did not start (see $W/gencache-$i.err)"
done

url_of() { echo "http://127.0.0.1:${PORT[$1]}$REQUEST_PATH"; }
admin_get() { curl -s --max-time 5 "http://127.0.0.1:${PORT[$1]}$2"; }
json_int() { sed -n "s/.*\"$1\":\\([0-9]*\\).*/\\1/p" <<<"$2"; }
field() { sed -n "s/.* $1=\\([0-9]*\\).*/\\1/p" <<<"$2"; }
fake_creates() {
  json_int total_creates "$(curl -s --max-time 5 "http://127.0.0.1:$FAKE_PORT/_fake/stats")"
}

# One request per instance, shaped like wrk's, must be a miss.
declare -A WARM_REQUESTS=([A]=0 [B]=0) WARM_SENT=([A]=0 [B]=0)
for i in "${INSTANCES[@]}"; do
  curl -s --max-time 10 -X POST -H 'Content-Type: application/json' \
    -H 'Authorization: Bearer bench-client' \
    --data-binary '{"version":"bench","input":{"prompt":"p","seed":0}}' \
    -D "$W/check-$i.h" -o "$W/check-$i.body" "$(url_of "$i")" ||
    bench_die "the check request to $i failed (see $W/gencache-$i.err)"
  status=$(sed -n 's/^X-Gencache-Status: *\([a-z]*\).*/\1/Ip' "$W/check-$i.h" | head -n 1)
  [[ $status == miss ]] ||
    bench_die "the check request to $i was not a miss: $(cat "$W/check-$i.h" "$W/check-$i.body")"
  WARM_REQUESTS[$i]=1
  WARM_SENT[$i]=1
  bench_log "${LABEL[$i]} (:${PORT[$i]}): $(sed -n '1s/\r$//p' "$W/check-$i.h"), X-Gencache-Status: miss"
done

# Every run gets its own seed range, so no request can hit an earlier one's
# entry: BASE + run * 1e9 (1e8 per wrk thread within a run).
SEED_BASE=$(((RANDOM << 15 | RANDOM) * 1000 + 1))
RUN_INDEX=0

# wait_idle INSTANCE: until the instance has no upstream call in flight (the
# calls of requests wrk abandoned when its run ended), at most 10 s.
wait_idle() {
  local tries
  for ((tries = 0; tries < 100; tries++)); do
    [[ $(json_int inflight "$(admin_get "$1" /v1/stats)") == 0 ]] && return 0
    sleep 0.1
  done
  bench_log "warning: $1 still has calls in flight after 10 s"
}

# run_wrk INSTANCE CONNS DURATION: prints the BENCHRESULT line.
# REQUIRES: the caller advanced RUN_INDEX (this runs in a command
# substitution, so it cannot advance it itself).
run_wrk() {
  local out
  out=$(BENCH_SEED_BASE=$((SEED_BASE + RUN_INDEX * 1000000000)) \
    wrk -t "$WRK_THREADS" -c "$2" -d "$3" --timeout 5s -s "$LUA" "$(url_of "$1")" 2>&1) ||
    bench_die "wrk failed against $1: $out"
  grep '^BENCHRESULT ' <<<"$out" || bench_die "wrk printed no result against $1: $out"
}

# --- measure ----------------------------------------------------------------
MACHINE_BEFORE=$(bench_machine)
bench_log "machine: $MACHINE_BEFORE"
bench_log "$ROUNDS round(s) x ${#CONNS[@]} connection count(s) x 2 instances x $DURATION"
for c in "${CONNS[@]}"; do
  for i in "${INSTANCES[@]}"; do
    RUN_INDEX=$((RUN_INDEX + 1))
    line=$(run_wrk "$i" "$c" "$WARMUP")
    WARM_REQUESTS[$i]=$((WARM_REQUESTS[$i] + $(field requests "$line")))
    WARM_SENT[$i]=$((WARM_SENT[$i] + $(field sent "$line")))
    wait_idle "$i"
  done
done

RESULTS=$W/results.tsv
COLS=(rps mean_us p50_us p99_us wrk_p50_us wrk_p99_us requests sent matched errors)
printf 'round\tinstance\tconns' >"$RESULTS"
printf '\t%s' "${COLS[@]}" >>"$RESULTS"
printf '\n' >>"$RESULTS"
declare -A MEASURED=([A]=0 [B]=0) SENT=([A]=0 [B]=0)
ERRORS=0
UNMATCHED=()
for ((round = 1; round <= ROUNDS; round++)); do
  # ABBA: odd rounds start with A, even rounds with B.
  order=(A B)
  ((round % 2 == 0)) && order=(B A)
  for c in "${CONNS[@]}"; do
    for i in "${order[@]}"; do
      RUN_INDEX=$((RUN_INDEX + 1))
      line=$(run_wrk "$i" "$c" "$DURATION")
      requests=$(field requests "$line")
      sent=$(field sent "$line")
      duration=$(field duration_us "$line")
      errors=0
      for e in connect_errors read_errors write_errors status_errors timeouts; do
        errors=$((errors + $(field "$e" "$line")))
      done
      rps=$(awk -v r="$requests" -v d="$duration" 'BEGIN { printf "%.0f", r / (d / 1e6) }')
      {
        printf '%d\t%s\t%d\t%s' "$round" "$i" "$c" "$rps"
        for k in "${COLS[@]:1:5}"; do printf '\t%s' "$(field "$k" "$line")"; done
        printf '\t%d\t%d\t%d\t%d\n' "$requests" "$sent" "$(field matched "$line")" "$errors"
      } >>"$RESULTS"
      (($(field matched "$line") == requests)) ||
        UNMATCHED+=("round $round $i c=$c: $(field matched "$line") of $requests answers timed")
      MEASURED[$i]=$((MEASURED[$i] + requests))
      SENT[$i]=$((SENT[$i] + sent))
      ERRORS=$((ERRORS + errors))
      bench_log "round $round/$ROUNDS ${LABEL[$i]} c=$c: $rps req/s, mean $(field mean_us "$line") us," \
        "p50 $(field p50_us "$line") us," \
        "p99 $(field p99_us "$line") us, errors $errors"
      ((errors == 0)) || bench_log "warning: $i had $errors errors at c=$c (see $RESULTS)"
      wait_idle "$i"
    done
  done
done

# --- checks -------------------------------------------------------------------
FAILED=0
CHECKS=()
note() { CHECKS+=("$*"); }
check_fail() {
  bench_log "CHECK FAILED: $*"
  note "**failed:** $*"
  FAILED=1
}
((ERRORS == 0)) || check_fail "wrk counted $ERRORS errors (see the per-run results)"
for u in "${UNMATCHED[@]}"; do
  check_fail "answers without a matching request (no echoed seed?): $u"
done

# Every request was a miss, and each made one upstream create.
declare -A CREATES=()
for i in "${INSTANCES[@]}"; do
  stats=$(admin_get "$i" /v1/stats)
  CREATES[$i]=$(json_int upstream_creates "$stats")
  lo=$((WARM_REQUESTS[$i] + MEASURED[$i]))
  hi=$((WARM_SENT[$i] + SENT[$i]))
  for k in hits coalesced bypass denied errors; do
    [[ $(json_int "$k" "$stats") == 0 ]] || check_fail "$i counted $k: $stats"
  done
  [[ $(json_int misses "$stats") == "${CREATES[$i]}" ]] ||
    check_fail "$i: misses and upstream creates differ: $stats"
  ((CREATES[$i] >= lo && CREATES[$i] <= hi)) ||
    check_fail "$i made ${CREATES[$i]} upstream creates for $lo answered and $hi sent requests"
  note "${LABEL[$i]}: ${CREATES[$i]} misses and upstream creates; wrk answered $lo" \
    "requests (check and warm-ups included) and sent $hi (the rest were in flight when a run" \
    "ended); hits, coalesced, bypass, denied and errors 0."
done

TOTAL_CREATES=$(fake_creates)
ANSWERED=$((WARM_REQUESTS[A] + MEASURED[A] + WARM_REQUESTS[B] + MEASURED[B]))
SENT_ALL=$((WARM_SENT[A] + SENT[A] + WARM_SENT[B] + SENT[B]))
if [[ $TOTAL_CREATES == "$ANSWERED" ]]; then
  note "Fake provider: total_creates $TOTAL_CREATES = the requests wrk answered (+ checks and warm-ups)."
else
  note "Fake provider: total_creates $TOTAL_CREATES, wrk answered $ANSWERED" \
    "(+ checks and warm-ups), sent $SENT_ALL: $((TOTAL_CREATES - ANSWERED)) creates" \
    "for requests that were still in flight when wrk stopped."
fi
((TOTAL_CREATES == CREATES[A] + CREATES[B])) ||
  check_fail "the fake provider saw $TOTAL_CREATES creates, the gateways made $((CREATES[A] + CREATES[B]))"
((TOTAL_CREATES >= ANSWERED && TOTAL_CREATES <= SENT_ALL)) ||
  check_fail "the fake provider saw $TOTAL_CREATES creates for $ANSWERED answered and $SENT_ALL sent requests"

# A's ledger: everything settled at the price of the model, nothing held.
# Settlement runs after the answer, so give it a moment.
budget_scope() { admin_get "$1" /v1/budgets | sed -n 's/.*"scope":"daily",\([^}]*\)}.*/\1/p'; }
json_num() { sed -n "s/.*\"$1\":\\([-0-9.eE+]*\\).*/\\1/p" <<<"$2"; }
micros() { awk -v s="${1:-0}" 'BEGIN { printf "%.0f", s * 1e6 }'; }
for ((tries = 0; tries < 50; tries++)); do
  scope=$(budget_scope A)
  [[ -n $scope && $(micros "$(json_num reserved_usd "$scope")") == 0 ]] && break
  sleep 0.2
done
SPENT=$(json_num spent_usd "$scope")
RESERVED=$(json_num reserved_usd "$scope")
EXPECTED_MICROS=$((CREATES[A] * PRICE_MICROS))
SPENT_MICROS=$(micros "$SPENT")
RESERVED_MICROS=$(micros "$RESERVED")
if [[ -z $SPENT || -z $RESERVED ]]; then
  check_fail "A's /v1/budgets has no daily scope: $(admin_get A /v1/budgets)"
else
  ((SPENT_MICROS > 0)) || check_fail "A's daily spent_usd is $SPENT"
  ((RESERVED_MICROS == 0)) || check_fail "A's daily reserved_usd is $RESERVED, not 0"
  ((SPENT_MICROS == EXPECTED_MICROS)) ||
    check_fail "A's daily spent_usd is $SPENT, expected ${CREATES[A]} creates x \$0.04"
  note "A's /v1/budgets (daily): spent_usd $SPENT (= ${CREATES[A]} x \$0.04), reserved_usd $RESERVED."
fi
B_BUDGETS=$(admin_get B /v1/budgets)
note "B's /v1/budgets: $B_BUDGETS"

# --- report -----------------------------------------------------------------
# Columns of $RESULTS that the tables show: req/s, then the latencies.
TABLE_COLS=(4 5 6 7 8 9)
median_of() { # median_of INSTANCE CONNS COLUMN
  awk -F'\t' -v s="$1" -v c="$2" -v col="$3" 'NR > 1 && $2 == s && $3 == c { print $col }' \
    "$RESULTS" | bench_median
}
# per_round CONNS COLUMN: A - B of each round, one per line.
per_round() {
  awk -F'\t' -v c="$1" -v col="$2" '
    NR > 1 && $3 == c && $2 == "A" { a[$1] = $col }
    NR > 1 && $3 == c && $2 == "B" { b[$1] = $col }
    END { for (k in a) if (k in b) print a[k] - b[k] }' "$RESULTS"
}
range() { sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 }
  END { if (NR) printf "%+.0f to %+.0f", lo, hi; else printf "n/a" }'; }
# compare OP A B: A - B ("-") or A / B ("/") of two medians.
compare() {
  awk -v op="$1" -v a="$2" -v b="$3" 'BEGIN {
    if (op == "-") printf "%+.0f", a - b
    else if (b > 0) printf "%.2fx", a / b
    else printf "n/a"
  }'
}
# table CONNS: the markdown table for one connection count.
table() {
  local c=$1 i n op
  echo "| instance | req/s | mean us | p50 us | p99 us | wrk p50 us | wrk p99 us |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  for i in "${INSTANCES[@]}"; do
    printf '| %s |' "${LABEL[$i]}"
    for n in "${TABLE_COLS[@]}"; do printf ' %.0f |' "$(median_of "$i" "$c" "$n")"; done
    printf '\n'
  done
  for op in - /; do
    printf '| A %s B |' "$op"
    for n in "${TABLE_COLS[@]}"; do
      printf ' %s |' "$(compare "$op" "$(median_of A "$c" "$n")" "$(median_of B "$c" "$n")")"
    done
    printf '\n'
  done
  printf '| A - B per round (range) |'
  for n in "${TABLE_COLS[@]}"; do printf ' %s |' "$(per_round "$c" "$n" | range)"; done
  printf '\n'
}

REPORT=$W/report.md
{
  echo "### Miss path: budget on (A) vs budget off (B)"
  echo
  echo "Machine: $MACHINE_BEFORE at the start, load $(cut -d' ' -f1-3 /proc/loadavg) at the end;" \
    "wrk, both gateways and the fake provider share these cores."
  echo "Data dirs on $(df -P "$W" | awk 'NR == 2 { print $1 }') ($(stat -f -c %T "$W")) at ${BENCH_TMPDIR:-/tmp}." \
    "gencache ($(bench_revision)), $SERVER_THREADS event loops each; fake provider latency 0;" \
    "wrk $WRK_THREADS thread(s), $ROUNDS round(s) of $DURATION per cell in ABBA order," \
    "every request a miss (fresh seed); medians over rounds. mean/p50/p99: measured per" \
    "request by bench/miss_post.lua; wrk p50/p99: wrk's histogram, which adds synthetic" \
    "samples for coordinated omission."
  for c in "${CONNS[@]}"; do
    echo
    echo "$c connection(s):"
    echo
    table "$c"
  done
  echo
  echo "Checks:"
  echo
  for line in "${CHECKS[@]}"; do echo "- $line"; done
} >"$REPORT"

echo
cat "$REPORT"
echo
echo "Per-run results:"
column -t -s $'\t' "$RESULTS" 2>/dev/null || cat "$RESULTS"
if [[ -n ${BENCH_OUT:-} ]]; then
  { cat "$REPORT"; echo; echo '```'; cat "$RESULTS"; echo '```'; } >"$BENCH_OUT"
  bench_log "report written to $BENCH_OUT"
fi
((FAILED == 0)) || exit 1
exit 0
