#!/usr/bin/env bash
# The main-job demo: builds gencache, starts the bundled fake provider and the
# gateway on the embedded default (SQLite + local directory), drives a short
# workload through it (repeats, concurrent duplicates, unseeded requests),
# prints what was served from cache and how many upstream calls that saved,
# then keeps serving until Ctrl-C. Run `scripts/demo.sh --help` for the flags.
# shellcheck disable=SC2317  # the cleanup functions are called from traps
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/demo.sh [options]

Builds gencache (release preset), starts the bundled fake provider and the
gateway, drives a demo workload through the gateway, prints a report of cache
hits and saved upstream calls, then keeps serving until Ctrl-C.

options:
  --port N              gateway port on 127.0.0.1 (default 8080); fails if taken
  --data-dir DIR        demo directory: config, gateway data, logs
                        (default ./gencache-demo)
  --keep-data           keep the cache from the previous run instead of wiping it
                        (the repeats and duplicates are then served from cache)
  --latency D           fake provider time per prediction (default 800ms)
  --exit-after-report, --ci
                        stop both processes after the report and exit with the
                        report's status (0 when consistent)
  --no-install          skip scripts/install-deps.sh (dependencies already present)
  --no-build            skip the build (use the existing build/release binaries)
  -h, --help            show this help

exit status: 0 on success (or Ctrl-C while serving), 1 when the report's
numbers are inconsistent or a process fails, 2 on bad arguments.
EOF
}

port=8080
data_dir=./gencache-demo
keep_data=0
latency=800ms
exit_after_report=0
install=1
build=1
while (($#)); do
  case $1 in
    --port) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; port=$2; shift ;;
    --port=*) port=${1#*=} ;;
    --data-dir) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; data_dir=$2; shift ;;
    --data-dir=*) data_dir=${1#*=} ;;
    --latency) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; latency=$2; shift ;;
    --latency=*) latency=${1#*=} ;;
    --keep-data) keep_data=1 ;;
    --exit-after-report | --ci) exit_after_report=1 ;;
    --no-install) install=0 ;;
    --no-build) build=0 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "demo: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
if ! [[ $port =~ ^[0-9]+$ ]] || ((port < 1 || port > 65535)); then
  echo "demo: --port must be 1..65535, got '$port'" >&2
  exit 2
fi
[[ -n $data_dir ]] || { echo "demo: --data-dir must not be empty" >&2; exit 2; }

# Paths are relative to where the script was invoked; everything else runs
# from the repository root.
mkdir -p "$data_dir"
data_dir=$(cd "$data_dir" && pwd)
cd "$(dirname "$0")/.."
repo=$(pwd)

say() { printf '==> %s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

# ---- processes we start, and their cleanup --------------------------------
fake_pid=""
gateway_pid=""
serving=0
stop_pid() {
  local pid=$1
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  stop_pid "$gateway_pid"
  stop_pid "$fake_pid"
}
on_signal() {
  echo
  if ((serving)); then
    say "stopping gateway and fake provider"
    exit 0
  fi
  echo "demo: interrupted" >&2
  exit 130
}
trap cleanup EXIT
trap on_signal INT TERM

check_port_free() {
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "port $port on 127.0.0.1 is already in use; choose another with --port N"
  fi
}
# Checked before the build so a busy port fails fast, and again just before
# the gateway starts.
check_port_free

# ---- demo directory -------------------------------------------------------
# Only a directory this script created (it carries a marker) or an empty one
# is ever wiped, so a mistyped --data-dir cannot delete unrelated files.
marker=$data_dir/.gencache-demo
if [[ ! -e $marker ]] && [[ -n $(ls -A "$data_dir") ]]; then
  die "$data_dir is not empty and was not created by demo.sh; choose another --data-dir"
fi
if ((keep_data)); then
  rm -rf "$data_dir/logs"
else
  rm -rf "$data_dir/data" "$data_dir/logs"
fi
mkdir -p "$data_dir/data" "$data_dir/logs"
touch "$marker"
logs=$data_dir/logs

# ---- dependencies and build -----------------------------------------------
if ((install)); then
  say "dependencies (scripts/install-deps.sh)"
  scripts/install-deps.sh
fi
command -v node >/dev/null || die "node is not installed (run scripts/install-deps.sh)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
((node_major >= 18)) || die "Node 18 or newer is needed (found $(node --version))"

gencache_bin=$repo/build/release/tools/gencache
fake_bin=$repo/build/release/tools/fake_provider/fake_provider
if ((build)); then
  say "building gencache and fake_provider (release preset; log: $logs/build.log)"
  started=$SECONDS
  if ! { cmake --preset release && cmake --build --preset release --target gencache fake_provider; } \
      >"$logs/build.log" 2>&1; then
    tail -n 40 "$logs/build.log" >&2
    die "build failed (full log: $logs/build.log)"
  fi
  say "built in $((SECONDS - started)) s"
fi
[[ -x $gencache_bin && -x $fake_bin ]] || die "binaries missing under build/release; run without --no-build"

# ---- start the fake provider and the gateway --------------------------------
# wait_for_line FILE PATTERN PID SECONDS: waits until FILE has a line matching
# PATTERN, failing early if PID exits.
wait_for_line() {
  local file=$1 pattern=$2 pid=$3 seconds=$4
  local deadline=$((SECONDS + seconds))
  while ((SECONDS < deadline)); do
    grep -qE "$pattern" "$file" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

say "starting fake provider (latency $latency)"
"$fake_bin" --listen 127.0.0.1:0 --latency "$latency" >"$logs/fake_provider.log" 2>&1 &
fake_pid=$!
if ! wait_for_line "$logs/fake_provider.log" 'listening on 127\.0\.0\.1:[0-9]+' "$fake_pid" 10; then
  cat "$logs/fake_provider.log" >&2
  die "the fake provider did not start within 10 s"
fi
fake_port=$(sed -nE 's/.*listening on 127\.0\.0\.1:([0-9]+).*/\1/p' "$logs/fake_provider.log" | head -n 1)
fake_url=http://127.0.0.1:$fake_port

check_port_free
config=$data_dir/gencache.yaml
cat >"$config" <<EOF
# Written by scripts/demo.sh; the fake provider's port changes every run.
listen: 127.0.0.1:$port
data_dir: $data_dir/data
log_level: info
providers:
  skytells: {kind: skytells, base_url: $fake_url/skytells/v1, api_key_env: DEMO_SKYTELLS_KEY}
  replicate: {kind: replicate, base_url: $fake_url/replicate/v1, api_key_env: DEMO_REPLICATE_KEY}
  openai: {kind: openai, base_url: $fake_url/openai/v1, api_key_env: DEMO_OPENAI_KEY}
cache:
  ttl: 7d
# The fake provider serves its outputs on loopback: allowed explicitly, so
# they are re-hosted into data/blobs and served under /files/.
rehost:
  allowed_hosts: [127.0.0.1]
near_duplicate:
  enabled: true
EOF

say "starting gencache on 127.0.0.1:$port (config $config)"
DEMO_SKYTELLS_KEY=demo-skytells-key DEMO_REPLICATE_KEY=demo-replicate-key \
  DEMO_OPENAI_KEY=demo-openai-key \
  "$gencache_bin" serve --config "$config" 2>"$logs/gencache.log" >&2 &
gateway_pid=$!
if ! wait_for_line "$logs/gencache.log" "listening on 127\.0\.0\.1:$port" "$gateway_pid" 15; then
  tail -n 20 "$logs/gencache.log" >&2
  die "gencache did not start within 15 s (log: $logs/gencache.log)"
fi
gateway_url=http://127.0.0.1:$port

# ---- workload and report ----------------------------------------------------
say "running the demo workload (repeats, concurrent duplicates, unseeded, reworded prompts)"
echo
report_status=0
timeout --foreground 300 node scripts/demo-workload.mjs --gateway "$gateway_url" --fake "$fake_url" ||
  report_status=$?
echo
if ((report_status != 0)); then
  echo "demo: the workload failed or its numbers are inconsistent (status $report_status);" \
    "gateway log: $logs/gencache.log" >&2
  exit 1
fi

if ((exit_after_report)); then
  say "done (--exit-after-report): stopping gateway and fake provider"
  exit 0
fi

cat <<EOF
gencache is serving at $gateway_url (fake provider at $fake_url).
Point an SDK at it by changing only its base URL:
  Skytells           $gateway_url/skytells
  Replicate          $gateway_url/replicate
  OpenAI-compatible  $gateway_url/openai
Try a seeded request twice; the second answer carries X-Gencache-Status: hit:
  curl -si $gateway_url/skytells/predict -H 'content-type: application/json' \\
    -d '{"model":"truefusion-pro","input":{"prompt":"a red fox","seed":1}}' | grep -i x-gencache
Spend dashboard (open in a browser):  $gateway_url/dashboard
Counters and spend:
  curl -s $gateway_url/v1/stats
  curl -s '$gateway_url/v1/spend/summary?group_by=model'
  curl -s $gateway_url/metrics
  build/release/tools/gencache report --by day --data-dir $data_dir/data
Logs: $logs   Press Ctrl-C to stop.
EOF
serving=1
status=0
wait -n "$gateway_pid" "$fake_pid" || status=$?
serving=0
if ! kill -0 "$gateway_pid" 2>/dev/null; then
  die "gencache exited (status $status); log: $logs/gencache.log"
fi
die "the fake provider exited (status $status); log: $logs/fake_provider.log"
