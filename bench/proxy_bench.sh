#!/usr/bin/env bash
# tcpemud's proxies beside toxiproxy's own server, in the same run: bulk
# throughput, added latency of a 1-byte request/response, memory per idle
# proxied connection and connections per second (docs/benchmarks.md, "Proxy
# vs toxiproxy").
#
# toxiproxy-server is built here from the Go module pinned in
# bench/proxy/go.mod, into a temporary directory that is deleted on exit.
# bench/proxy (proxybench) starts a fresh toxiproxy-server and tcpemud for
# each repetition, creates one lossless proxy in toxiproxy (HTTP API) and
# three in tcpemud (gRPC: default settings; larger buffers; larger buffers and
# MTU 9000), all to its own upstream server, and prints the medians.
#
# With --perf_record FILE it measures nothing else: it runs `perf record`
# (flags: --perf_flags, default -g) on one proxy's process (--perf_target,
# default tcpemu) during one bulk transfer of --bulk_bytes (--perf_direction
# up or down), enabled only for that transfer. perf must be on the PATH; it
# keeps the profiled binary in its build-id cache, so `perf report -i FILE`
# works after the temporary copies are gone.
#
# Usage: bench/proxy_bench.sh [proxybench flags, e.g. --repetitions 3]
# Environment: TCPEMUD (default: build/server/tcpemud of this tree).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tcpemud=${TCPEMUD:-$root/build/server/tcpemud}
if [[ ! -x $tcpemud ]]; then
  echo "proxy_bench: no tcpemud at $tcpemud (build it, or set TCPEMUD)" >&2
  exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A copy, so that a rebuild of the tree during the run changes nothing.
cp "$tcpemud" "$tmp/tcpemud"

# Built in a subshell: proxybench runs in the caller's directory, where a
# relative --perf_record path is meant.
(
  cd "$root/bench/proxy"
  go build -o "$tmp/toxiproxy-server" github.com/Shopify/toxiproxy/v2/cmd/server
  go build -o "$tmp/proxybench" .
)

# Thousands of idle connections: two descriptors each in the benchmark, one
# or two in each server.
ulimit -n "$(ulimit -Hn)"

echo "nproc: $(nproc)"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
echo "kernel: $(uname -r)"
echo "go: $(go version)"
echo "tcpemud: $tcpemud, built $(date -u -r "$tcpemud" '+%Y-%m-%d %H:%M UTC'); tree at $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')"

status=0
"$tmp/proxybench" --toxiproxy_server "$tmp/toxiproxy-server" \
  --tcpemud "$tmp/tcpemud" --log_dir "$tmp" "$@" || status=$?
if [[ $status -ne 0 ]]; then
  for f in "$tmp"/*.log; do
    [[ -e $f ]] || continue
    echo "--- last lines of $(basename "$f")" >&2
    tail -n 20 "$f" >&2
  done
fi
exit "$status"
