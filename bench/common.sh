# shellcheck shell=bash
# Shared helpers for the benchmark scripts in bench/ (sourced, not run).
# Every process a script starts goes through bench_start, and bench_cleanup
# (installed as the EXIT trap) stops exactly those PIDs, nothing else.

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_BUILD_DIR=${GENCACHE_BUILD_DIR:-$BENCH_ROOT/build/release}
BENCH_GENCACHE=${GENCACHE_BIN:-$BENCH_BUILD_DIR/tools/gencache}
# shellcheck disable=SC2034  # used by the scripts that source this file
BENCH_FAKE=${FAKE_PROVIDER_BIN:-$BENCH_BUILD_DIR/tools/fake_provider/fake_provider}

BENCH_PIDS=()
BENCH_WORK=""

bench_log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
bench_die() {
  bench_log "error: $*"
  exit 1
}

bench_require_file() {
  [[ -x $1 ]] || bench_die "$1 not found; build it first: $2"
}

# bench_make_workdir NAME: a fresh temp dir, removed on exit unless the
# script failed or BENCH_KEEP=1 (then its path is printed for the logs).
bench_make_workdir() {
  BENCH_WORK=$(mktemp -d "/tmp/$1.XXXXXX")
}

# bench_start LOGPREFIX CMD ARGS...: runs CMD in the background with stdout
# and stderr in $BENCH_WORK/LOGPREFIX.{out,err}; sets BENCH_LAST_PID.
bench_start() {
  local name=$1
  shift
  "$@" >"$BENCH_WORK/$name.out" 2>"$BENCH_WORK/$name.err" &
  BENCH_LAST_PID=$!
  BENCH_PIDS+=("$BENCH_LAST_PID")
}

# Stops the started processes in reverse order: SIGTERM, up to 5 s to exit,
# then SIGKILL.
bench_cleanup() {
  local status=$?
  local i pid tries
  for ((i = ${#BENCH_PIDS[@]} - 1; i >= 0; i--)); do
    pid=${BENCH_PIDS[i]}
    kill -0 "$pid" 2>/dev/null || continue
    kill -TERM "$pid" 2>/dev/null || true
    for ((tries = 0; tries < 50; tries++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      bench_log "pid $pid ignored SIGTERM; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  if [[ -n $BENCH_WORK && -d $BENCH_WORK ]]; then
    if [[ $status -ne 0 || ${BENCH_KEEP:-0} == 1 ]]; then
      bench_log "logs and configs kept in $BENCH_WORK"
    else
      rm -rf "$BENCH_WORK"
    fi
  fi
  exit "$status"
}

# bench_wait_for_line FILE REGEX PID: waits (up to 15 s) for a line matching
# the sed regex REGEX (with one capture group) in FILE and prints the capture.
bench_wait_for_line() {
  local file=$1 regex=$2 pid=$3 value tries
  for ((tries = 0; tries < 150; tries++)); do
    value=$(sed -n "s/$regex/\\1/p" "$file" 2>/dev/null | head -n 1)
    if [[ -n $value ]]; then
      printf '%s\n' "$value"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# bench_free_port: a loopback TCP port nobody listens on right now. A race
# with another process is possible; callers check that their server bound.
bench_free_port() {
  local tries port
  for ((tries = 0; tries < 100; tries++)); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      printf '%s\n' "$port"
      return 0
    fi
  done
  return 1
}

# bench_wait_http URL PID: waits (up to 15 s) until URL answers at all.
bench_wait_http() {
  local url=$1 pid=$2 tries
  for ((tries = 0; tries < 150; tries++)); do
    curl -s -o /dev/null --max-time 1 "$url" && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# bench_median: the median of the numbers on stdin, one per line (the mean
# of the two middle values for an even count); empty input prints nothing.
bench_median() {
  sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) exit
    if (NR % 2) printf "%.10g\n", v[(NR + 1) / 2]
    else printf "%.10g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2
  }'
}

# bench_machine: one line describing where the numbers came from.
bench_machine() {
  local cpu
  cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
  printf '%s cores (%s), %s, load average %s' "$(nproc)" "${cpu:-unknown cpu}" \
    "$(uname -sr)" "$(cut -d' ' -f1-3 /proc/loadavg)"
}

# bench_revision: the checkout the scripts ran from and when the gencache
# binary was built (they differ when GENCACHE_BIN points elsewhere).
bench_revision() {
  local head dirty=""
  head=$(git -C "$BENCH_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
  [[ -n $(git -C "$BENCH_ROOT" status --porcelain --untracked-files=no 2>/dev/null) ]] &&
    dirty="+changes"
  printf 'checkout %s%s, binary built %s' "$head" "$dirty" \
    "$(date -u -r "$BENCH_GENCACHE" +%Y-%m-%dT%H:%MZ 2>/dev/null || echo '?')"
}
