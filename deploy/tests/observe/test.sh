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
# promtool or prometheus is missing; its service is never started), an
# upstream promtool with Kubernetes service discovery, which Debian's lacks,
# for prometheus-kubernetes.yml (built here once from the Go module proxy,
# pinned, into $OBSERVE_TOOLS, default ~/.cache/tcpemu/observe-tools), the
# daemon ($TCPEMUD, else build/server/tcpemud, built when missing), and a
# Python with grpcio and pytest ($VENV, else clients/python/.venv, created
# when missing). As root, the workload also drives a TAP interface from a
# network namespace of its own; otherwise the interface panels are skipped.
# pytest ends with the list of what it skipped and why (-rs).
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

# Prometheus 3's promtool with Kubernetes service discovery and no other
# (its build tags), for `promtool check config prometheus-kubernetes.yml`.
# Prometheus 3.x.y is the Go module's version v0.3xx.y.
PROMETHEUS_VERSION=3.16.0
PROMETHEUS_MODULE_VERSION=v0.316.0
if [[ -z "${PROMTOOL_KUBERNETES:-}" ]]; then
  tools="${OBSERVE_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/tcpemu/observe-tools}"
  PROMTOOL_KUBERNETES="$tools/promtool-$PROMETHEUS_MODULE_VERSION/promtool"
  if [[ ! -x "$PROMTOOL_KUBERNETES" ]]; then
    echo "== building promtool $PROMETHEUS_MODULE_VERSION with Kubernetes service discovery (once; a few minutes)"
    mkdir -p "$tools"
    tmp="$(mktemp -d "$tools/.build.XXXXXX")"
    (cd "$tmp" && GOBIN="$tmp" GOFLAGS= go install -trimpath -tags remove_all_sd,enable_kubernetes_sd \
      -ldflags "-s -w -X github.com/prometheus/common/version.Version=$PROMETHEUS_VERSION" \
      "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_MODULE_VERSION")
    mkdir -p "$(dirname "$PROMTOOL_KUBERNETES")"
    mv "$tmp/promtool" "$PROMTOOL_KUBERNETES"
    rm -rf "$tmp"
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
export TCPEMUD="$tcpemud" PYTHONDONTWRITEBYTECODE=1 PROMTOOL_KUBERNETES OBSERVE_STRICT=1
exec "$py" -m pytest -p no:cacheprovider -q -rs deploy/tests/observe "$@"
