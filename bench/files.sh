#!/usr/bin/env bash
# Measures /files/: requests/s, MB/s and p50/p99 latency of gencache serving
# one re-hosted blob (1 MiB of random bytes by default) from its local blob
# store, against nginx serving the same bytes from a file on the same disk,
# with the same load generator (wrk, GET). Both answer byte-identical bodies
# with a 200; nginx runs with Debian's stock sendfile/tcp_nopush/tcp_nodelay
# and the same Cache-Control header. The gencache side is
# build/.../bench/files_server (bench/files_server.cpp): files::FilesHandler
# over a LocalBlobStore behind gencache's http::Server, as the gateway
# routes /files/. The servers are interleaved in every round (the start
# rotates per round) because the machine is shared and noisy; the report is
# the median over rounds, at each connection count, and gencache / nginx.
#
# Environment (defaults in brackets):
#   BENCH_ROUNDS [5]  BENCH_DURATION [10s]  BENCH_CONNS ["16 64"]
#   BENCH_WRK_THREADS [2]  BENCH_WARMUP [2s]  BENCH_THREADS (gencache event
#   loops and nginx workers) [2]  BENCH_FILE_BYTES [1048576]
#   BENCH_QUICK=1 (1 round of 3s, warm-up 1s)  BENCH_OUT (also write the
#   markdown report there)  BENCH_KEEP=1 (keep the temp dir)
#   BENCH_TMPDIR (where the blob directory and nginx's root go) [/tmp]
#   GENCACHE_BUILD_DIR [build/release]  FILES_SERVER_BIN  NGINX_BIN [nginx]
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
FILES_SERVER=${FILES_SERVER_BIN:-$BENCH_BUILD_DIR/bench/files_server}
NGINX=${NGINX_BIN:-$(command -v nginx || echo /usr/sbin/nginx)}
SERVERS=(gencache nginx)
LUA=$BENCH_ROOT/bench/get_file.lua
CACHE_CONTROL="public, max-age=31536000, immutable"

[[ $ROUNDS =~ ^[1-9][0-9]{0,2}$ ]] || bench_die "BENCH_ROUNDS must be 1-999"
[[ $FILE_BYTES =~ ^[0-9]{1,12}$ ]] || bench_die "BENCH_FILE_BYTES must be a byte count"
[[ $SERVER_THREADS =~ ^[1-9][0-9]{0,2}$ ]] || bench_die "BENCH_THREADS must be 1-999"
for c in "${CONNS[@]}"; do
  [[ $c =~ ^[1-9][0-9]{0,4}$ ]] || bench_die "BENCH_CONNS must be positive integers"
done
bench_require_file "$FILES_SERVER" "cmake --preset release && ninja -C build/release files_server"
command -v wrk >/dev/null || bench_die "wrk is not installed"
command -v sha256sum >/dev/null || bench_die "sha256sum is not installed"
[[ -x $NGINX ]] || bench_die "nginx is not installed"

trap bench_cleanup EXIT
trap 'exit 130' INT TERM
BENCH_WORK=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/gc-files.XXXXXX")
W=$BENCH_WORK

# --- the bytes --------------------------------------------------------------
head -c "$FILE_BYTES" /dev/urandom >"$W/blob.bin"
SHA=$(sha256sum "$W/blob.bin" | cut -d' ' -f1)
REQUEST_PATH=/files/$SHA.png

# --- gencache: FilesHandler over a LocalBlobStore ---------------------------
bench_start gencache "$FILES_SERVER" --dir "$W/blobs" --threads "$SERVER_THREADS" \
  --import "$W/blob.bin"
GC_PID=$BENCH_LAST_PID
GC_PORT=$(bench_wait_for_line "$W/gencache.out" '.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*' \
  "$GC_PID") || bench_die "files_server did not start (see $W/gencache.err)"
STORED=$(sed -n 's/^blob \([0-9a-f]*\) .*/\1/p' "$W/gencache.out")
[[ $STORED == "$SHA" ]] || bench_die "the blob store named the file '$STORED', expected $SHA"
GC_URL=http://127.0.0.1:$GC_PORT$REQUEST_PATH

# --- nginx: the same bytes from a file ---------------------------------------
N=$W/nginx
mkdir -p "$N/logs" "$N/tmp" "$N/www/files"
cp "$W/blob.bin" "$N/www$REQUEST_PATH"
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
header_value() { # header_value FILE NAME
  sed -n "s/^$2: *\\([^[:space:]]*\\).*/\\1/Ip" "$1" | head -n 1
}
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
  echo "files_server ($(GENCACHE_BIN=$FILES_SERVER BENCH_GENCACHE=$FILES_SERVER bench_revision))," \
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
  echo "Checks: both answered the same $FILE_BYTES bytes with 200 before the runs;" \
    "wrk counted $TOTAL_ERRORS errors (socket errors, non-2xx, timeouts) in the measured runs."
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
