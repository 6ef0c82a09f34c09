#!/usr/bin/env bash
# Installs every build, test and demo dependency from Debian 12 packages and
# the npm registry. Idempotent: packages already present are skipped, so a
# second run costs a few dpkg queries and no network.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates curl
  clang-14 libclang-rt-14-dev clang-format
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libboost-system1.81-dev
  libabsl-dev libcurl4-openssl-dev libssl-dev libsqlite3-dev libyaml-cpp-dev
  libcli11-dev libspdlog-dev libgtest-dev libgmock-dev libbenchmark-dev
  prometheus-cpp-dev libtinyxml2-dev wamerican libhnswlib-dev libutf8proc-dev libhiredis-dev libpq-dev
  redis-server postgresql
  nodejs npm wrk nginx-light chromium
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# Debian's nodejs may be replaced by a newer node on the machine already.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do [[ $p == nodejs || $p == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: Debian packages present"
fi

# The dashboard's chart library, pinned in web/package-lock.json and embedded
# into the binary at build time (web/CMakeLists.txt).
if [[ ! -f web/node_modules/chart.js/dist/chart.umd.js \
      || web/package-lock.json -nt web/node_modules/.package-lock.json ]]; then
  echo "install-deps: npm ci (web)"
  (cd web && npm ci --no-audit --no-fund --loglevel=error)
fi

# End-to-end clients: the providers' official SDKs and playwright-core (the
# dashboard test drives chromium with it), pinned in tests/e2e/package-lock.json.
if [[ ! -d tests/e2e/node_modules/skytells || ! -d tests/e2e/node_modules/replicate \
      || ! -d tests/e2e/node_modules/playwright-core || ! -d tests/e2e/node_modules/s3rver \
      || tests/e2e/package-lock.json -nt tests/e2e/node_modules/.package-lock.json ]]; then
  echo "install-deps: npm ci (tests/e2e)"
  (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
else
  echo "install-deps: npm packages present"
fi
