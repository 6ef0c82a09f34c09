#!/usr/bin/env bash
# Measures /files/: requests/s, MB/s and p50/p99 latency of the gencache
# gateway serving one re-hosted blob (1 MiB by default) from its local blob
# store, against nginx serving the same bytes from a file on the same disk,
# with the same load generator (wrk, GET). The gencache side is the real
# gateway (`gencache serve`, release build) with the fake provider as its
# Replicate upstream and `rehost: {allowed_hosts: [127.0.0.1]}`: one seeded
# prediction makes it download the fake's output into DATA_DIR/blobs and
# answer a /files/<sha256>.png URL, and that URL is what wrk fetches. nginx
# serves a copy of that very blob file, with Debian's stock
# sendfile/tcp_nopush/tcp_nodelay and the same Cache-Control header; both
# answer byte-identical bodies with a 200. The servers are interleaved in
# every round (the start rotates per round) because the machine is shared
# and noisy; the report is the median over rounds, at each connection count,
# and gencache / nginx.
#
# Environment (defaults in brackets):
#   BENCH_ROUNDS [5]  BENCH_DURATION [10s]  BENCH_CONNS ["16 64"]
#   BENCH_WRK_THREADS [2]  BENCH_WARMUP [2s]  BENCH_THREADS (gencache event
#   loops and nginx workers) [2]  BENCH_FILE_BYTES (the fake provider's
#   output size, 1 to 1073741824) [1048576]
#   BENCH_QUICK=1 (1 round of 3s, warm-up 1s)  BENCH_OUT (also write the
#   markdown report there)  BENCH_KEEP=1 (keep the temp dir)
#   BENCH_TMPDIR (where gencache's data dir and nginx's root go) [/tmp]
#   GENCACHE_BUILD_DIR [build/release]  GENCACHE_BIN  FAKE_PROVIDER_BIN
#   NGINX_BIN [nginx]
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
read -r -a CONNS <<<"${BENCH_CONNS:-16 64}"
WRK_THREADS=${BENCH_WRK_THREADS:-2}
SERVER_THREADS=${BENCH_THREADS:-2}
FILE_BYTES=${BENCH_FILE_BYTES:-1048576}
NGINX=${NGINX_BIN:-$(command -v nginx || echo /usr/sbin/nginx)}
SERVERS=(gencache nginx)
LUA=$BENCH_ROOT/bench/get_file.lua
CACHE_CONTROL="public, max-age=31536000, immutable"

[[ $ROUNDS =~ ^[1-9][0-9]{0,2}$ ]] || bench_die "BENCH_ROUNDS must be 1-999"
if ! [[ $FILE_BYTES =~ ^[1-9][0-9]{0,9}$ ]] || ((FILE_BYTES > 1073741824)); then
  bench_die "BENCH_FILE_BYTES must be a byte count from 1 to 1073741824"
fi
[[ $SERVER_THREADS =~ ^[1-9][0-9]{0,2}$ ]] || bench_die "BENCH_THREADS must be 1-999"
for c in "${CONNS[@]}"; do
  [[ $c =~ ^[1-9][0-9]{0,4}$ ]] || bench_die "BENCH_CONNS must be positive integers"
done
bench_require_file "$BENCH_GENCACHE" "cmake --preset release && ninja -C build/release gencache"
bench_require_file "$BENCH_FAKE" "cmake --preset release && ninja -C build/release fake_provider"
command -v wrk >/dev/null || bench_die "wrk is not installed"
command -v sha256sum >/dev/null || bench_die "sha256sum is not installed"
[[ -x $NGINX ]] || bench_die "nginx is not installed"

trap bench_cleanup EXIT
trap 'exit 130' INT TERM
BENCH_WORK=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/gc-files.XXXXXX")
W=$BENCH_WORK

# --- gencache: the gateway, with one output re-hosted ----------------------
bench_start fake "$BENCH_FAKE" --listen 127.0.0.1:0 --latency 0ms
FAKE_PID=$BENCH_LAST_PID
FAKE_PORT=$(bench_wait_for_line "$W/fake.out" '.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*' \
  "$FAKE_PID") || bench_die "fake provider did not start (see $W/fake.err)"
FAKE_URL=http://127.0.0.1:$FAKE_PORT
curl -s --max-time 10 -X POST --data "{\"output_bytes\": $FILE_BYTES}" \
  -o "$W/fake-config.json" "$FAKE_URL/_fake/config" ||
  bench_die "the fake provider refused its config"
grep -q "\"output_bytes\":${FILE_BYTES}[,}]" "$W/fake-config.json" ||
  bench_die "the fake provider did not take output_bytes $FILE_BYTES: $(cat "$W/fake-config.json")"

cat >"$W/gencache.yaml" <<EOF
listen: 127.0.0.1:0
data_dir: $W/gencache-data
log_level: info
server: {threads: $SERVER_THREADS}
providers:
  replicate: {kind: replicate, base_url: $FAKE_URL/replicate/v1, api_key_env: BENCH_KEY}
rehost: {allowed_hosts: [127.0.0.1]}
EOF
BENCH_KEY=bench-upstream-key bench_start gencache "$BENCH_GENCACHE" serve --config "$W/gencache.yaml"
GC_PID=$BENCH_LAST_PID
GC_PORT=$(bench_wait_for_line "$W/gencache.err" '.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*' \
  "$GC_PID") || bench_die "gencache did not start (see $W/gencache.err)"

# One seeded prediction: a miss that goes upstream and re-hosts the output.
curl -s --max-time 60 -X POST -H 'Content-Type: application/json' \
  -H 'Authorization: Bearer bench-client' \
  --data '{"model":"acme/painter","input":{"prompt":"bench","seed":1}}' \
  -D "$W/prediction.h" -o "$W/prediction.json" "http://127.0.0.1:$GC_PORT/replicate/predictions" ||
  bench_die "the prediction request to gencache failed"
header_value() { # header_value FILE NAME
  sed -n "s/^$2: *\\([^[:space:]]*\\).*/\\1/Ip" "$1" | head -n 1
}
[[ $(header_value "$W/prediction.h" X-Gencache-Status) == miss ]] ||
  bench_die "the prediction was not a miss: $(cat "$W/prediction.h" "$W/prediction.json")"
mapfile -t FILE_URLS < <(grep -o 'http://[^"]*/files/[0-9a-f]\{64\}\.[a-z0-9]*' "$W/prediction.json")
((${#FILE_URLS[@]} == 1)) ||
  bench_die "expected one /files/ URL in the answer: $(cat "$W/prediction.json")"
GC_URL=${FILE_URLS[0]}
REQUEST_PATH=/files/${GC_URL##*/files/}
[[ $GC_URL == "http://127.0.0.1:$GC_PORT$REQUEST_PATH" ]] ||
  bench_die "the /files/ URL $GC_URL does not point at gencache on :$GC_PORT"
[[ $REQUEST_PATH == *.png ]] || bench_die "the re-hosted output is not a .png: $GC_URL"
SHA=${REQUEST_PATH#/files/}
SHA=${SHA%.*}

# The blob: FILE_BYTES bytes whose SHA-256 is its name, in the local store.
curl -s --max-time 60 -o "$W/blob.bin" "$GC_URL" || bench_die "gencache did not answer $GC_URL"
[[ $(stat -c %s "$W/blob.bin") == "$FILE_BYTES" ]] ||
  bench_die "$GC_URL served $(stat -c %s "$W/blob.bin") bytes, expected $FILE_BYTES"
[[ $(sha256sum "$W/blob.bin" | cut -d' ' -f1) == "$SHA" ]] ||
  bench_die "the SHA-256 of $GC_URL's body is not $SHA"
BLOB_FILE=$W/gencache-data/blobs/${SHA:0:2}/$SHA
[[ -f $BLOB_FILE ]] || bench_die "the blob is not at $BLOB_FILE"
cmp -s "$BLOB_FILE" "$W/blob.bin" || bench_die "$BLOB_FILE differs from what gencache served"
FAKE_STATS_BEFORE=$(curl -s --max-time 5 "$FAKE_URL/_fake/stats")
bench_log "gencache on :$GC_PORT re-hosted the fake provider's output as $REQUEST_PATH"

# --- nginx: the same bytes from a file ---------------------------------------
N=$W/nginx
mkdir -p "$N/logs" "$N/tmp" "$N/www/files"
cp "$BLOB_FILE" "$N/www$REQUEST_PATH"
NGINX_PORT=$(bench_free_port) || bench_die "no free port"
USER_LINE=""
[[ $EUID -eq 0 ]] && USER_LINE="user $(id -un) $(id -gn);"
cat >"$N/nginx.conf" <<CONF
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
  types { image/png png; }
  client_body_temp_path $N/tmp/client_body;
  proxy_temp_path $N/tmp/proxy;
  fastcgi_temp_path $N/tmp/fastcgi;
  uwsgi_temp_path $N/tmp/uwsgi;
  scgi_temp_path $N/tmp/scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $N/www;
    location /files/ { add_header Cache-Control "$CACHE_CONTROL"; }
  }
}
CONF
bench_start nginx "$NGINX" -p "$N" -c "$N/nginx.conf" -e "$N/logs/error.log" -g 'daemon off;'
NGINX_PID=$BENCH_LAST_PID
bench_wait_http "http://127.0.0.1:$NGINX_PORT/" "$NGINX_PID" ||
  bench_die "nginx did not start on :$NGINX_PORT (see $N/logs/error.log, $W/nginx.err)"
NGINX_URL=http://127.0.0.1:$NGINX_PORT$REQUEST_PATH

url_of() {
  case $1 in
    gencache) echo "$GC_URL" ;;
    nginx) echo "$NGINX_URL" ;;
  esac
}

# --- both must answer the same bytes -----------------------------------------
for s in "${SERVERS[@]}"; do
  curl -s --max-time 10 -D "$W/$s.h" -o "$W/$s.body" "$(url_of "$s")" ||
    bench_die "$s did not answer $(url_of "$s")"
  status=$(sed -n '1s/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p' "$W/$s.h")
  [[ $status == 200 ]] || bench_die "$s answered HTTP $status: $(cat "$W/$s.h")"
  cmp -s "$W/$s.body" "$W/blob.bin" || bench_die "$s's body differs from the file"
  [[ $(header_value "$W/$s.h" Content-Type) == image/png ]] ||
    bench_die "$s's Content-Type is not image/png: $(cat "$W/$s.h")"
done
bench_log "gencache on :$GC_PORT and nginx on :$NGINX_PORT answer the same $FILE_BYTES bytes"
bench_log "response heads (bytes): gencache $(stat -c %s "$W/gencache.h"), nginx $(stat -c %s "$W/nginx.h")"

# run_wrk SERVER CONNS DURATION: prints the BENCHRESULT line.
run_wrk() {
  local out
  out=$(wrk -t "$WRK_THREADS" -c "$2" -d "$3" --timeout 5s -s "$LUA" "$(url_of "$1")" 2>&1) ||
    bench_die "wrk failed against $1: $out"
  grep '^BENCHRESULT ' <<<"$out" || bench_die "wrk printed no result against $1: $out"
}
field() { sed -n "s/.* $1=\\([0-9]*\\).*/\\1/p" <<<"$2"; }

# --- measure ----------------------------------------------------------------
MACHINE_BEFORE=$(bench_machine)
FS=$(df -PT "$W" | awk 'NR == 2 { print $2 }')
bench_log "machine: $MACHINE_BEFORE; files on $FS"
bench_log "$ROUNDS round(s) x ${#CONNS[@]} connection count(s) x ${#SERVERS[@]} servers x $DURATION"
for c in "${CONNS[@]}"; do
  for s in "${SERVERS[@]}"; do run_wrk "$s" "$c" "$WARMUP" >/dev/null; done
done
RESULTS=$W/results.tsv
printf 'round\tserver\tconns\trps\tmbps\tp50_us\tp99_us\terrors\n' >"$RESULTS"
TOTAL_ERRORS=0
for ((round = 1; round <= ROUNDS; round++)); do
  for c in "${CONNS[@]}"; do
    for ((k = 0; k < ${#SERVERS[@]}; k++)); do
      s=${SERVERS[(k + round - 1) % ${#SERVERS[@]}]}
      line=$(run_wrk "$s" "$c" "$DURATION")
      requests=$(field requests "$line")
      duration=$(field duration_us "$line")
      bytes=$(field bytes "$line")
      errors=0
      for e in connect_errors read_errors write_errors status_errors timeouts; do
        errors=$((errors + $(field "$e" "$line")))
      done
      TOTAL_ERRORS=$((TOTAL_ERRORS + errors))
      rps=$(awk -v r="$requests" -v d="$duration" 'BEGIN { printf "%.0f", r / (d / 1e6) }')
      # MB/s of bodies (10^6 bytes): requests x body size, heads left out.
      mbps=$(awk -v r="$requests" -v b="$FILE_BYTES" -v d="$duration" \
        'BEGIN { printf "%.1f", r * b / 1e6 / (d / 1e6) }')
      printf '%d\t%s\t%d\t%s\t%s\t%s\t%s\t%d\n' "$round" "$s" "$c" "$rps" "$mbps" \
        "$(field p50_us "$line")" "$(field p99_us "$line")" "$errors" >>"$RESULTS"
      bench_log "round $round/$ROUNDS $s c=$c: $rps req/s, $mbps MB/s, p50 $(field p50_us "$line") us," \
        "p99 $(field p99_us "$line") us, errors $errors (wrk counted $bytes bytes)"
      ((errors == 0)) || bench_log "warning: $s had $errors errors at c=$c (see $RESULTS)"
    done
  done
done

# --- verify that gencache served every request from its blob store ----------
FAKE_STATS_AFTER=$(curl -s --max-time 5 "$FAKE_URL/_fake/stats")
json_field() { sed -n "s/.*\"$1\":\\([0-9]*\\).*/\\1/p" <<<"$2"; }
for f in total_creates file_gets; do
  [[ -n $(json_field "$f" "$FAKE_STATS_AFTER") &&
    $(json_field "$f" "$FAKE_STATS_AFTER") == "$(json_field "$f" "$FAKE_STATS_BEFORE")" ]] ||
    bench_die "the fake provider's $f changed during the runs: $FAKE_STATS_BEFORE -> $FAKE_STATS_AFTER"
done
[[ $(json_field total_creates "$FAKE_STATS_AFTER") == 1 ]] ||
  bench_die "the fake provider saw more than one create: $FAKE_STATS_AFTER"
FAKE_FILE_GETS=$(json_field file_gets "$FAKE_STATS_AFTER")

# --- report -----------------------------------------------------------------
median_of() { # median_of SERVER CONNS COLUMN
  awk -F'\t' -v s="$1" -v c="$2" -v col="$3" 'NR > 1 && $2 == s && $3 == c { print $col }' \
    "$RESULTS" | bench_median
}
ms() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "n/a" }'; }
# round_range CONNS COLUMN: "lo-hi", the range of gencache/nginx over the
# rounds, each round's pair measured back to back.
round_range() {
  awk -F'\t' -v c="$1" -v col="$2" '
    NR > 1 && $3 == c && $2 == "gencache" { g[$1] = $col }
    NR > 1 && $3 == c && $2 == "nginx" { r[$1] = $col }
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
  echo "### /files/: gencache vs nginx serving the same file"
  echo
  echo "Machine: $MACHINE_BEFORE at the start, load $(cut -d' ' -f1-3 /proc/loadavg) at the end;" \
    "wrk and the servers share these cores. Blob and nginx root on $FS."
  echo "gencache serve, the gateway ($(bench_revision)), re-hosting from the fake provider," \
    "$("$NGINX" -v 2>&1 | sed 's/^nginx version: //'), wrk $WRK_THREADS threads," \
    "servers $SERVER_THREADS threads/workers, $ROUNDS round(s) of $DURATION per cell," \
    "$FILE_BYTES-byte body (GET, 200), medians over rounds; MB/s counts bodies (10^6 bytes)."
  echo
  echo "| server | conns | req/s | MB/s | p50 ms | p99 ms |"
  echo "|---|---:|---:|---:|---:|---:|"
  for c in "${CONNS[@]}"; do
    for s in "${SERVERS[@]}"; do
      printf "| %s | %d | %.0f | %.1f | %s | %s |\n" "$s" "$c" "$(median_of "$s" "$c" 4)" \
        "$(median_of "$s" "$c" 5)" "$(ms "$(median_of "$s" "$c" 6)")" \
        "$(ms "$(median_of "$s" "$c" 7)")"
    done
  done
  echo
  echo "gencache / nginx, ratio of the medians (req/s and MB/s: higher is better for gencache;" \
    "latency: lower is better), with the range of the per-round ratios:"
  echo
  echo "| conns | req/s | (rounds) | MB/s | p50 | p99 |"
  echo "|---:|---:|---:|---:|---:|---:|"
  for c in "${CONNS[@]}"; do
    printf '| %d | %s | %s | %s | %s | %s |\n' "$c" \
      "$(ratio "$(median_of gencache "$c" 4)" "$(median_of nginx "$c" 4)")" "$(round_range "$c" 4)" \
      "$(ratio "$(median_of gencache "$c" 5)" "$(median_of nginx "$c" 5)")" \
      "$(ratio "$(median_of gencache "$c" 6)" "$(median_of nginx "$c" 6)")" \
      "$(ratio "$(median_of gencache "$c" 7)" "$(median_of nginx "$c" 7)")"
  done
  echo
  echo "Checks: gencache re-hosted one prediction's output (1 create and $FAKE_FILE_GETS" \
    "download(s) at the fake provider, none during the runs); its /files/ URL and nginx" \
    "answered the same $FILE_BYTES bytes, whose SHA-256 is the URL's name, with 200 before" \
    "the runs; wrk counted $TOTAL_ERRORS errors (socket errors, non-2xx, timeouts) in the" \
    "measured runs."
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
((TOTAL_ERRORS == 0)) || bench_die "wrk saw $TOTAL_ERRORS errors"
