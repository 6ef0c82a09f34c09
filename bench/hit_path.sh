#!/usr/bin/env bash
# Measures the cache-hit path: requests/s and p50/p99 latency of gencache
# answering a cached prediction, against two references run in the same
# script, on the same machine, with the same load generator (wrk, POST with
# a JSON body):
#   proxy_cache  nginx with proxy_cache keyed on "$request_uri|$request_body"
#                (proxy_cache_methods POST), the tool a user would otherwise
#                reach for;
#   return200    nginx `return` with the same bytes, the ceiling for serving
#                fixed bytes on this machine.
# All three answer byte-identical bodies (gencache's cached body, fetched
# once after warming). The servers are interleaved in every round (the start
# rotates per round) because the machine is shared and noisy; the report is
# the median over rounds, at each connection count.
#
# Environment (defaults in brackets):
#   BENCH_ROUNDS [5]  BENCH_DURATION [10s]  BENCH_CONNS ["16 64"]
#   BENCH_WRK_THREADS [2]  BENCH_WARMUP [2s]  BENCH_THREADS (gencache and
#   nginx worker count) [2]  BENCH_QUICK=1 (1 round of 3s, warm-up 1s)
#   BENCH_OUT (also write the markdown report there)  BENCH_KEEP=1 (keep the
#   temp dir)  GENCACHE_BUILD_DIR [build/release]  NGINX_BIN [nginx]
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
read -r -a CONNS <<<"${BENCH_CONNS:-16 64}"
WRK_THREADS=${BENCH_WRK_THREADS:-2}
SERVER_THREADS=${BENCH_THREADS:-2}
NGINX=${NGINX_BIN:-$(command -v nginx || echo /usr/sbin/nginx)}
SERVERS=(gencache proxy_cache return200)
REQUEST_PATH=/replicate/predictions
LUA=$BENCH_ROOT/bench/post_json.lua

[[ $ROUNDS =~ ^[1-9][0-9]{0,2}$ ]] || bench_die "BENCH_ROUNDS must be 1-999"
for c in "${CONNS[@]}"; do
  [[ $c =~ ^[1-9][0-9]{0,4}$ ]] || bench_die "BENCH_CONNS must be positive integers"
done
bench_require_file "$BENCH_GENCACHE" "cmake --preset release && ninja -C build/release gencache"
bench_require_file "$BENCH_FAKE" "cmake --preset release && ninja -C build/release fake_provider"
command -v wrk >/dev/null || bench_die "wrk is not installed"
[[ -x $NGINX ]] || bench_die "nginx is not installed"

trap bench_cleanup EXIT
trap 'exit 130' INT TERM
bench_make_workdir gc-hitpath
W=$BENCH_WORK

# --- gencache, warmed through the fake provider ---------------------------
bench_start fake "$BENCH_FAKE" --listen 127.0.0.1:0 --latency 0ms
FAKE_PID=$BENCH_LAST_PID
FAKE_PORT=$(bench_wait_for_line "$W/fake.out" '.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*' \
  "$FAKE_PID") || bench_die "fake provider did not start (see $W/fake.err)"

cat >"$W/gencache.yaml" <<EOF
listen: 127.0.0.1:0
data_dir: $W/gencache-data
log_level: info
server: {threads: $SERVER_THREADS}
providers:
  replicate: {kind: replicate, base_url: http://127.0.0.1:$FAKE_PORT/replicate/v1, api_key_env: BENCH_KEY}
cache:
  ttl: 7d
EOF
BENCH_KEY=bench-upstream-key bench_start gencache "$BENCH_GENCACHE" serve --config "$W/gencache.yaml"
GC_PID=$BENCH_LAST_PID
GC_PORT=$(bench_wait_for_line "$W/gencache.err" '.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*' \
  "$GC_PID") || bench_die "gencache did not start (see $W/gencache.err)"

printf '%s' '{"version":"bench-hit-path","input":{"prompt":"a lighthouse at dusk, oil painting","width":1024,"height":1024,"seed":1234}}' >"$W/request.json"
export BENCH_REQUEST_BODY=$W/request.json

# post URL HEADERS_FILE BODY_FILE: one request shaped like wrk's.
post() {
  curl -s --max-time 10 -X POST -H 'Content-Type: application/json' \
    -H 'Authorization: Bearer bench-client' --data-binary "@$W/request.json" \
    -D "$2" -o "$3" "$1"
}
header_value() { # header_value FILE NAME
  sed -n "s/^$2: *\\([^[:space:]]*\\).*/\\1/Ip" "$1" | head -n 1
}

GC_URL=http://127.0.0.1:$GC_PORT$REQUEST_PATH
post "$GC_URL" "$W/gc-miss.h" "$W/gc-miss.body" || bench_die "gencache warm-up request failed"
[[ $(header_value "$W/gc-miss.h" X-Gencache-Status) == miss ]] ||
  bench_die "first gencache request was not a miss: $(cat "$W/gc-miss.h")"
post "$GC_URL" "$W/gc-hit.h" "$W/body.bin" || bench_die "gencache hit request failed"
[[ $(header_value "$W/gc-hit.h" X-Gencache-Status) == hit ]] ||
  bench_die "second gencache request was not a hit: $(cat "$W/gc-hit.h")"
STATUS=$(sed -n '1s/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p' "$W/gc-hit.h")
CONTENT_TYPE=$(header_value "$W/gc-hit.h" Content-Type)
BODY_BYTES=$(stat -c %s "$W/body.bin")
cmp -s "$W/gc-miss.body" "$W/body.bin" || bench_die "the hit body differs from the miss body"
bench_log "gencache on :$GC_PORT answers hit: HTTP $STATUS, $BODY_BYTES body bytes"

# --- nginx: return200, proxy_cache and proxy_cache's origin ----------------
# nginx `return` text is a quoted config string: escape \ and ", and refuse
# `$` (it would be read as a variable).
grep -q '\$' "$W/body.bin" && bench_die "the cached body contains '\$'; nginx return cannot serve it"
ESCAPED=$(sed 's/\\/\\\\/g; s/"/\\"/g' "$W/body.bin")
RETURN_PORT=$(bench_free_port) || bench_die "no free port"
CACHE_PORT=$(bench_free_port) || bench_die "no free port"
ORIGIN_PORT=$(bench_free_port) || bench_die "no free port"
N=$W/nginx
mkdir -p "$N/logs" "$N/cache" "$N/tmp"
USER_LINE=""
[[ $EUID -eq 0 ]] && USER_LINE="user $(id -un) $(id -gn);"
cat >"$N/nginx.conf" <<EOF
$USER_LINE
worker_processes $SERVER_THREADS;
pid $N/nginx.pid;
error_log $N/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  # Debian's stock nginx.conf settings.
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  # wrk keeps each connection for the whole run; the default (1000) would
  # make nginx close and re-accept connections that gencache keeps.
  keepalive_requests 100000000;
  keepalive_timeout 75s;
  default_type $CONTENT_TYPE;
  client_body_temp_path $N/tmp/client_body;
  proxy_temp_path $N/tmp/proxy;
  fastcgi_temp_path $N/tmp/fastcgi;
  uwsgi_temp_path $N/tmp/uwsgi;
  scgi_temp_path $N/tmp/scgi;
  proxy_cache_path $N/cache levels=1:2 keys_zone=bench:10m max_size=100m inactive=7d use_temp_path=off;

  server {  # return200: the ceiling
    listen 127.0.0.1:$RETURN_PORT;
    location / { return $STATUS "$ESCAPED"; }
  }
  server {  # proxy_cache keyed on the request body
    listen 127.0.0.1:$CACHE_PORT;
    client_body_buffer_size 64k;
    location / {
      proxy_pass http://127.0.0.1:$ORIGIN_PORT;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache bench;
      proxy_cache_methods POST;
      proxy_cache_key "\$request_uri|\$request_body";
      proxy_cache_valid any 7d;
      add_header X-Cache-Status \$upstream_cache_status always;
    }
  }
  server {  # proxy_cache's origin; its log must end with one request
    listen 127.0.0.1:$ORIGIN_PORT;
    access_log $N/logs/origin.log;
    location / { return $STATUS "$ESCAPED"; }
  }
}
EOF
bench_start nginx "$NGINX" -p "$N" -c "$N/nginx.conf" -e "$N/logs/error.log" -g 'daemon off;'
NGINX_PID=$BENCH_LAST_PID
for port in "$RETURN_PORT" "$CACHE_PORT" "$ORIGIN_PORT"; do
  bench_wait_http "http://127.0.0.1:$port/" "$NGINX_PID" ||
    bench_die "nginx did not start on :$port (see $N/logs/error.log, $W/nginx.err)"
done

RETURN_URL=http://127.0.0.1:$RETURN_PORT$REQUEST_PATH
CACHE_URL=http://127.0.0.1:$CACHE_PORT$REQUEST_PATH
post "$RETURN_URL" "$W/ret.h" "$W/ret.body" || bench_die "nginx return request failed"
cmp -s "$W/ret.body" "$W/body.bin" || bench_die "nginx return body differs from gencache's"
post "$CACHE_URL" "$W/pc-miss.h" "$W/pc-miss.body" || bench_die "proxy_cache request failed"
[[ $(header_value "$W/pc-miss.h" X-Cache-Status) == MISS ]] ||
  bench_die "first proxy_cache request was not a MISS: $(cat "$W/pc-miss.h")"
post "$CACHE_URL" "$W/pc-hit.h" "$W/pc-hit.body" || bench_die "proxy_cache request failed"
[[ $(header_value "$W/pc-hit.h" X-Cache-Status) == HIT ]] ||
  bench_die "second proxy_cache request was not a HIT: $(cat "$W/pc-hit.h")"
cmp -s "$W/pc-hit.body" "$W/body.bin" || bench_die "proxy_cache body differs from gencache's"
bench_log "nginx: return200 on :$RETURN_PORT, proxy_cache on :$CACHE_PORT (HIT), same $BODY_BYTES bytes"
bench_log "response heads (bytes): gencache $(stat -c %s "$W/gc-hit.h"), proxy_cache" \
  "$(stat -c %s "$W/pc-hit.h"), return200 $(stat -c %s "$W/ret.h")"

url_of() {
  case $1 in
    gencache) echo "$GC_URL" ;;
    proxy_cache) echo "$CACHE_URL" ;;
    return200) echo "$RETURN_URL" ;;
  esac
}

# run_wrk SERVER CONNS DURATION: prints the BENCHRESULT line.
run_wrk() {
  local out
  out=$(wrk -t "$WRK_THREADS" -c "$2" -d "$3" --timeout 5s -s "$LUA" "$(url_of "$1")" 2>&1) ||
    bench_die "wrk failed against $1: $out"
  grep '^BENCHRESULT ' <<<"$out" || bench_die "wrk printed no result against $1: $out"
}
field() { sed -n "s/.* $1=\\([0-9]*\\).*/\\1/p" <<<"$2"; }

# --- measure ----------------------------------------------------------------
GC_STATS_BEFORE=$(curl -s --max-time 5 "http://127.0.0.1:$GC_PORT/v1/stats")
MACHINE_BEFORE=$(bench_machine)
bench_log "machine: $MACHINE_BEFORE"
bench_log "$ROUNDS round(s) x ${#CONNS[@]} connection count(s) x ${#SERVERS[@]} servers x $DURATION"
for c in "${CONNS[@]}"; do
  for s in "${SERVERS[@]}"; do run_wrk "$s" "$c" "$WARMUP" >/dev/null; done
done
RESULTS=$W/results.tsv
printf 'round\tserver\tconns\trps\tp50_us\tp99_us\terrors\n' >"$RESULTS"
GC_REQUESTS=0
for ((round = 1; round <= ROUNDS; round++)); do
  for c in "${CONNS[@]}"; do
    for ((k = 0; k < ${#SERVERS[@]}; k++)); do
      s=${SERVERS[(k + round - 1) % ${#SERVERS[@]}]}
      line=$(run_wrk "$s" "$c" "$DURATION")
      requests=$(field requests "$line")
      duration=$(field duration_us "$line")
      errors=0
      for e in connect_errors read_errors write_errors status_errors timeouts; do
        errors=$((errors + $(field "$e" "$line")))
      done
      rps=$(awk -v r="$requests" -v d="$duration" 'BEGIN { printf "%.0f", r / (d / 1e6) }')
      printf '%d\t%s\t%d\t%s\t%s\t%s\t%d\n' "$round" "$s" "$c" "$rps" "$(field p50_us "$line")" \
        "$(field p99_us "$line")" "$errors" >>"$RESULTS"
      [[ $s == gencache ]] && GC_REQUESTS=$((GC_REQUESTS + requests))
      bench_log "round $round/$ROUNDS $s c=$c: $rps req/s, p50 $(field p50_us "$line") us," \
        "p99 $(field p99_us "$line") us, errors $errors"
      ((errors == 0)) || bench_log "warning: $s had $errors errors at c=$c (see $RESULTS)"
    done
  done
done

# --- verify that every measured request was a cache hit ---------------------
GC_STATS_AFTER=$(curl -s --max-time 5 "http://127.0.0.1:$GC_PORT/v1/stats")
json_field() { sed -n "s/.*\"$1\":\\([0-9]*\\).*/\\1/p" <<<"$2"; }
[[ $(json_field misses "$GC_STATS_AFTER") == 1 && $(json_field upstream_creates "$GC_STATS_AFTER") == 1 ]] ||
  bench_die "gencache went upstream during the benchmark: $GC_STATS_AFTER"
GC_HITS=$(($(json_field hits "$GC_STATS_AFTER") - $(json_field hits "$GC_STATS_BEFORE")))
((GC_HITS >= GC_REQUESTS)) ||
  bench_die "gencache counted $GC_HITS hits for $GC_REQUESTS measured requests"
# Only POSTs: the start-up probes above are GETs.
ORIGIN_REQUESTS=$(grep -c '"POST ' "$N/logs/origin.log" || true)
((ORIGIN_REQUESTS == 1)) ||
  bench_die "proxy_cache's origin saw $ORIGIN_REQUESTS requests; nginx did not serve from cache"

# --- report -----------------------------------------------------------------
median_of() { # median_of SERVER CONNS COLUMN
  awk -F'\t' -v s="$1" -v c="$2" -v col="$3" 'NR > 1 && $2 == s && $3 == c { print $col }' \
    "$RESULTS" | bench_median
}
ms() { awk -v us="$1" 'BEGIN { printf "%.3f", us / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "n/a" }'; }
# round_range REF CONNS COLUMN: "lo-hi", the range of gencache/REF over the
# rounds, each round's pair measured back to back.
round_range() {
  awk -F'\t' -v ref="$1" -v c="$2" -v col="$3" '
    NR > 1 && $3 == c && $2 == "gencache" { g[$1] = $col }
    NR > 1 && $3 == c && $2 == ref { r[$1] = $col }
    END {
      for (k in g) if ((k in r) && r[k] > 0) {
        x = g[k] / r[k]; n++
        if (n == 1 || x < lo) lo = x
        if (n == 1 || x > hi) hi = x
      }
      if (n) printf "%.2f-%.2f", lo, hi; else printf "n/a"
    }' "$RESULTS"
}

REPORT=$W/report.md
{
  echo "### Cache-hit path: gencache vs nginx"
  echo
  echo "Machine: $MACHINE_BEFORE at the start, load $(cut -d' ' -f1-3 /proc/loadavg) at the end;" \
    "wrk and the servers share these cores."
  echo "gencache ($(bench_revision)), $("$NGINX" -v 2>&1 | sed 's/^nginx version: //'), wrk $WRK_THREADS threads," \
    "servers $SERVER_THREADS threads/workers, $ROUNDS round(s) of $DURATION per cell," \
    "$BODY_BYTES-byte body (HTTP $STATUS), medians over rounds."
  echo
  echo "| server | conns | req/s | p50 ms | p99 ms |"
  echo "|---|---:|---:|---:|---:|"
  for c in "${CONNS[@]}"; do
    for s in "${SERVERS[@]}"; do
      printf "| %s | %d | %.0f | %s | %s |\n" "$s" "$c" "$(median_of "$s" "$c" 4)" \
        "$(ms "$(median_of "$s" "$c" 5)")" "$(ms "$(median_of "$s" "$c" 6)")"
    done
  done
  echo
  echo "Ratios of the medians (req/s: higher is better for gencache; latency: lower is better)," \
    "with the range of the per-round ratios:"
  echo
  echo "| conns | metric | gencache / proxy_cache | (rounds) | gencache / return200 | (rounds) |"
  echo "|---:|---|---:|---:|---:|---:|"
  for c in "${CONNS[@]}"; do
    for col in 4:req/s 5:p50 6:p99; do
      n=${col%%:*}
      g=$(median_of gencache "$c" "$n")
      printf '| %d | %s | %s | %s | %s | %s |\n' "$c" "${col#*:}" \
        "$(ratio "$g" "$(median_of proxy_cache "$c" "$n")")" "$(round_range proxy_cache "$c" "$n")" \
        "$(ratio "$g" "$(median_of return200 "$c" "$n")")" "$(round_range return200 "$c" "$n")"
    done
  done
  echo
  echo "Checks: gencache answered $GC_HITS hits and made 1 upstream call; proxy_cache's origin saw 1 POST."
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
