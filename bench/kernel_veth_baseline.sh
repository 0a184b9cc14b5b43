#!/usr/bin/env bash
# Baseline for docs/benchmarks.md: the Linux kernel's TCP between two network
# namespaces joined by a veth pair with offloads off, measured with iperf3.
# Needs root. Everything it creates is named tcpemu-bench-* and is deleted on
# exit, whatever happens; traffic never leaves those two namespaces.
#
# Usage: bench/kernel_veth_baseline.sh [SECONDS]   (default 10)
#   CPUS=0 bench/kernel_veth_baseline.sh           pins both iperf3 ends (and
#                                                  so the veth softirq work)
#                                                  to CPU 0: one core
set -euo pipefail

SECONDS_TO_RUN="${1:-10}"
CPUS="${CPUS:-}"
NS_CLIENT=tcpemu-bench-c
NS_SERVER=tcpemu-bench-s
DEV_CLIENT=tcpemu-bench-c  # interface names are limited to 15 characters
DEV_SERVER=tcpemu-bench-s
ADDR_CLIENT=192.168.237.1
ADDR_SERVER=192.168.237.2
MTU=1500

if [[ "$(id -u)" != 0 ]]; then
  echo "kernel_veth_baseline: needs root (network namespaces)" >&2
  exit 1
fi

# Tools: install only what is missing.
missing=()
command -v iperf3 >/dev/null || missing+=(iperf3)
command -v ethtool >/dev/null || missing+=(ethtool)
command -v jq >/dev/null || missing+=(jq)
if ((${#missing[@]} > 0)); then
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y "${missing[@]}" >/dev/null 2>&1 ||
    { apt-get update >/dev/null && apt-get install -y "${missing[@]}" >/dev/null; }
fi

for ns in "$NS_CLIENT" "$NS_SERVER"; do
  if ip netns list | awk '{print $1}' | grep -qxF "$ns"; then
    echo "kernel_veth_baseline: namespace $ns already exists; not touching it" >&2
    exit 1
  fi
done

created=()
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; fi
  # Deleting a namespace deletes the veth end inside it, and with it the pair.
  for ns in "${created[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

ip netns add "$NS_CLIENT"
created+=("$NS_CLIENT")
ip netns add "$NS_SERVER"
created+=("$NS_SERVER")
# Create the pair directly inside the namespaces: it never exists in the
# caller's namespace.
ip link add "$DEV_CLIENT" mtu "$MTU" netns "$NS_CLIENT" type veth \
  peer name "$DEV_SERVER" mtu "$MTU" netns "$NS_SERVER"
ip -n "$NS_CLIENT" addr add "$ADDR_CLIENT/30" dev "$DEV_CLIENT"
ip -n "$NS_SERVER" addr add "$ADDR_SERVER/30" dev "$DEV_SERVER"
for pair in "$NS_CLIENT:$DEV_CLIENT" "$NS_SERVER:$DEV_SERVER"; do
  ns="${pair%%:*}"
  dev="${pair##*:}"
  ip -n "$ns" link set lo up
  ip -n "$ns" link set "$dev" up
  # No segmentation or receive offloads and no checksum offload: the kernel
  # handles every MTU-sized segment and checksums it, as tcpemu does.
  for feature in tso gso gro lro tx rx sg; do
    ip netns exec "$ns" ethtool -K "$dev" "$feature" off >/dev/null 2>&1 || true
  done
done

pin=()
if [[ -n "$CPUS" ]]; then pin=(taskset -c "$CPUS"); fi

echo "offloads on $DEV_CLIENT after ethtool -K:"
ip netns exec "$NS_CLIENT" ethtool -k "$DEV_CLIENT" |
  grep -E '^(tcp-segmentation-offload|generic-segmentation-offload|generic-receive-offload|large-receive-offload|tx-checksumming|rx-checksumming|scatter-gather):' |
  sed 's/^/  /'

ip netns exec "$NS_SERVER" "${pin[@]}" iperf3 --server --one-off \
  --bind "$ADDR_SERVER" >/dev/null 2>&1 &
server_pid=$!
for _ in $(seq 50); do
  if ip netns exec "$NS_SERVER" ss -ltn | grep -q ":5201"; then break; fi
  sleep 0.1
done

result="$(ip netns exec "$NS_CLIENT" "${pin[@]}" iperf3 --client "$ADDR_SERVER" \
  --time "$SECONDS_TO_RUN" --json)"
wait "$server_pid" 2>/dev/null || true
server_pid=""

bps="$(jq '.end.sum_received.bits_per_second' <<<"$result")"
retr="$(jq '.end.sum_sent.retransmits' <<<"$result")"
cpu_local="$(jq '.end.cpu_utilization_percent.host_total' <<<"$result")"
cpu_remote="$(jq '.end.cpu_utilization_percent.remote_total' <<<"$result")"
echo "kernel TCP over veth, MTU $MTU, ${SECONDS_TO_RUN}s, CPUs: ${CPUS:-any}"
awk -v b="$bps" 'BEGIN { printf "  received: %.3f Gbit/s of payload\n", b / 1e9 }'
echo "  retransmits: $retr"
awk -v l="$cpu_local" -v r="$cpu_remote" \
  'BEGIN { printf "  iperf3 process CPU: sender %.1f%%, receiver %.1f%% of one core\n", l, r }'
