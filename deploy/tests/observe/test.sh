#!/usr/bin/env bash
# Tests deploy/prometheus and deploy/grafana: promtool on the configuration
# and the alert rules (with their unit tests), static checks of the
# dashboard, then a real tcpemud under a workload, scraped every second by a
# real Prometheus with the rules loaded, and every query of the dashboard
# run against it: each must return data.
#
#   deploy/tests/observe/test.sh [pytest arguments]
#
# Needs: Debian's prometheus package (installed here with apt-get when
# promtool or prometheus is missing; its service is never started), the
# daemon ($TCPEMUD, else build/server/tcpemud, built when missing), and a
# Python with grpcio and pytest ($VENV, else clients/python/.venv, created
# when missing). As root, the workload also drives a TAP interface from a
# network namespace of its own; otherwise the interface panels are skipped.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
repo="$PWD"

as_root() {
  if [[ "$(id -u)" -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "test.sh: need root to run: $*" >&2
    exit 1
  fi
}

if [[ -z "${PROMETHEUS:-}" ]] && ! { command -v promtool && command -v prometheus; } >/dev/null 2>&1; then
  echo "== installing Debian's prometheus (promtool and the server)"
  # Keep the package's maintainer scripts from starting its service, where
  # nothing else already does (an existing policy-rc.d is left as it is).
  policy=/usr/sbin/policy-rc.d
  made_policy=0
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
    as_root chmod 755 "$policy"
    made_policy=1
  fi
  status=0
  as_root apt-get update -qq &&
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus ||
    status=$?
  if [[ "$made_policy" -eq 1 ]]; then
    as_root rm -f "$policy"
  fi
  if [[ "$status" -ne 0 ]]; then
    echo "test.sh: apt-get install prometheus failed ($status)" >&2
    exit "$status"
  fi
fi

tcpemud="${TCPEMUD:-$repo/build/server/tcpemud}"
if [[ ! -x "$tcpemud" ]]; then
  if [[ -n "${TCPEMUD:-}" ]]; then
    echo "test.sh: \$TCPEMUD=$TCPEMUD is not an executable" >&2
    exit 1
  fi
  echo "== building tcpemud"
  scripts/setup
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
  cmake --build build --target tcpemud
fi

venv="${VENV:-$repo/clients/python/.venv}"
py="$venv/bin/python"
if [[ ! -x "$py" ]]; then
  echo "== creating $venv"
  "${PYTHON:-python3}" -m venv "$venv"
fi
if ! "$py" -c 'import grpc, google.protobuf, pytest' >/dev/null 2>&1; then
  "$py" -m pip install --quiet --disable-pip-version-check "$repo/clients/python" pytest
fi

echo "== deploy/tests/observe ($("${PROMETHEUS:-prometheus}" --version 2>&1 | head -n 1))"
export TCPEMUD="$tcpemud" PYTHONDONTWRITEBYTECODE=1
exec "$py" -m pytest -p no:cacheprovider -q deploy/tests/observe "$@"
