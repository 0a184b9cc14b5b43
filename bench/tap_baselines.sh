#!/usr/bin/env bash
# Baselines for a benchmark of a userspace TCP peer over a TAP device, for
# docs/benchmarks.md, all measured in one run on this machine:
#
#   smoltcp   smoltcp's own TAP benchmark (examples/benchmark.rs of the
#             smoltcp crate): smoltcp on a TAP device at MTU 1500, a kernel
#             TCP socket in the same process moving 10^9 bytes to or from it.
#             "reader" mode is smoltcp->kernel, "writer" mode kernel->smoltcp.
#   veth      the Linux kernel's TCP between two network namespaces joined by
#             a veth pair at MTU 1500, offloads off, iperf3 moving the same
#             10^9 bytes in each direction (as bench/kernel_veth_baseline.sh).
#
# Each measurement is repeated RUNS times, interleaved, and the median is
# reported. Needs root. Everything it creates is named tcpemu-bench-* and is
# deleted on exit, whatever happens; traffic never leaves those namespaces:
# the TAP device and its kernel-side address live in a namespace of their own.
#
# smoltcp is not part of this repository. If SMOLTCP_DIR holds no source, the
# crate SMOLTCP_VERSION is fetched with cargo (which checks it against the
# registry index) into SMOLTCP_DIR, and its benchmark example is built there
# with the crate's own Cargo.lock.
#
# Usage: bench/tap_baselines.sh [--runs N] [--out FILE]
#   --runs N     repetitions of each measurement (default 3)
#   --out FILE   also write the results as key=value lines to FILE
# Environment:
#   SMOLTCP_DIR      smoltcp source tree (default /work/ext/smoltcp)
#   SMOLTCP_VERSION  crate version fetched when SMOLTCP_DIR is empty (0.14.0)
#   CARGO            cargo binary (default: cargo on PATH, else ~/.cargo/bin)
set -euo pipefail

RUNS=3
OUT=""
while (($# > 0)); do
  case "$1" in
    --runs) RUNS="${2:?--runs needs a number}"; shift 2 ;;
    --out) OUT="${2:?--out needs a file}"; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "tap_baselines: unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
if ! [[ "$RUNS" =~ ^[1-9][0-9]*$ ]]; then
  echo "tap_baselines: --runs must be a positive integer" >&2
  exit 2
fi

# Kept under other names: smoltcp's build script reads every SMOLTCP_*
# variable in its environment as a setting and panics on one it does not know
# ("Unknown env var DIR"), so cargo runs without these two (see cargo_run).
SMOLTCP_SRC="${SMOLTCP_DIR:-/work/ext/smoltcp}"
SMOLTCP_FETCH_VERSION="${SMOLTCP_VERSION:-0.14.0}"
CARGO="${CARGO:-$(command -v cargo || echo "$HOME/.cargo/bin/cargo")}"
cargo_run() {  # cargo arguments...
  env -u SMOLTCP_DIR -u SMOLTCP_VERSION "$CARGO" "$@"
}
AMOUNT=1000000000         # bytes per transfer, as AMOUNT in benchmark.rs
TIMEOUT=300               # seconds allowed for one transfer
MTU=1500

NS_TAP=tcpemu-bench-t
DEV_TAP=tcpemu-bench-t    # interface names are limited to 15 characters
# Fixed by benchmark.rs: smoltcp is 192.168.69.1/24 and its client connects
# there from the kernel, to port 1234 (reader) or 1235 (writer).
ADDR_TAP_KERNEL=192.168.69.100/24
NS_CLIENT=tcpemu-bench-c
NS_SERVER=tcpemu-bench-s
DEV_CLIENT=tcpemu-bench-c
DEV_SERVER=tcpemu-bench-s
ADDR_CLIENT=192.168.237.1
ADDR_SERVER=192.168.237.2

if [[ "$(id -u)" != 0 ]]; then
  echo "tap_baselines: needs root (network namespaces, TAP device)" >&2
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
if [[ ! -x "$CARGO" ]]; then
  echo "tap_baselines: cargo not found (set CARGO)" >&2
  exit 1
fi

for ns in "$NS_TAP" "$NS_CLIENT" "$NS_SERVER"; do
  if ip netns list | awk '{print $1}' | grep -qxF "$ns"; then
    echo "tap_baselines: namespace $ns already exists; not touching it" >&2
    exit 1
  fi
done

created=()
pids=()
scratch=""
log=""
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  # Deleting a namespace deletes the devices inside it: the veth pair and the
  # TAP device (which is persistent only until then).
  for ns in "${created[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  if [[ -n "$scratch" ]]; then rm -rf "$scratch"; fi
  if [[ -n "$log" ]]; then rm -f "$log"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

started="$(date +%s)"

# --- smoltcp: source and build ----------------------------------------------

if [[ ! -f "$SMOLTCP_SRC/examples/benchmark.rs" ]]; then
  if [[ -e "$SMOLTCP_SRC" ]] && [[ -n "$(ls -A "$SMOLTCP_SRC")" ]]; then
    echo "tap_baselines: $SMOLTCP_SRC exists but has no examples/benchmark.rs" >&2
    exit 1
  fi
  echo "fetching smoltcp $SMOLTCP_FETCH_VERSION into $SMOLTCP_SRC" >&2
  scratch="$(mktemp -d)"
  # A throwaway package that depends on exactly that version: cargo downloads
  # the published crate and unpacks it in its registry cache.
  mkdir -p "$scratch/fetch/src"
  touch "$scratch/fetch/src/lib.rs"
  cat >"$scratch/fetch/Cargo.toml" <<EOF
[package]
name = "fetch-smoltcp"
version = "0.0.0"
edition = "2021"

[dependencies]
smoltcp = { version = "=$SMOLTCP_FETCH_VERSION", default-features = false }
EOF
  cargo_run fetch --quiet --manifest-path "$scratch/fetch/Cargo.toml"
  manifest="$(cargo_run metadata --quiet --format-version 1 \
    --manifest-path "$scratch/fetch/Cargo.toml" |
    jq -r --arg v "$SMOLTCP_FETCH_VERSION" \
      '.packages[] | select(.name == "smoltcp" and .version == $v) | .manifest_path')"
  if [[ -z "$manifest" ]] || [[ ! -f "$(dirname "$manifest")/examples/benchmark.rs" ]]; then
    echo "tap_baselines: smoltcp $SMOLTCP_FETCH_VERSION has no examples/benchmark.rs" >&2
    exit 1
  fi
  mkdir -p "$SMOLTCP_SRC"
  cp -a "$(dirname "$manifest")/." "$SMOLTCP_SRC/"
fi

smoltcp_version="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$SMOLTCP_SRC/Cargo.toml" | head -n1)"
smoltcp_commit=unknown
if [[ -f "$SMOLTCP_SRC/.cargo_vcs_info.json" ]]; then
  smoltcp_commit="$(jq -r '.git.sha1' "$SMOLTCP_SRC/.cargo_vcs_info.json")"
elif git -C "$SMOLTCP_SRC" rev-parse HEAD >/dev/null 2>&1; then
  smoltcp_commit="$(git -C "$SMOLTCP_SRC" rev-parse HEAD)"
fi

echo "building smoltcp $smoltcp_version examples/benchmark.rs (release)" >&2
locked=()
if [[ -f "$SMOLTCP_SRC/Cargo.lock" ]]; then locked=(--locked); fi
(cd "$SMOLTCP_SRC" &&
  cargo_run build --quiet --release "${locked[@]}" --example benchmark)
BENCH_BIN="$SMOLTCP_SRC/target/release/examples/benchmark"

# --- network setup -------------------------------------------------------------

offloads_off() {  # namespace device
  # No segmentation or receive offloads and no checksum offload: the kernel
  # handles every MTU-sized segment and checksums it.
  for feature in tso gso gro lro tx rx sg; do
    ip netns exec "$1" ethtool -K "$2" "$feature" off >/dev/null 2>&1 || true
  done
}

# TAP: smoltcp opens it by name; the kernel side has the address benchmark.rs
# expects. IPv6 off on it, so that the kernel sends no router solicitations
# or MLD reports into the measurement.
ip netns add "$NS_TAP"
created+=("$NS_TAP")
ip -n "$NS_TAP" link set lo up
ip netns exec "$NS_TAP" ip tuntap add name "$DEV_TAP" mode tap
ip netns exec "$NS_TAP" sysctl -qw "net.ipv6.conf.$DEV_TAP.disable_ipv6=1"
ip -n "$NS_TAP" link set "$DEV_TAP" mtu "$MTU"
ip -n "$NS_TAP" addr add "$ADDR_TAP_KERNEL" dev "$DEV_TAP"
ip -n "$NS_TAP" link set "$DEV_TAP" up
offloads_off "$NS_TAP" "$DEV_TAP"

# veth, as in bench/kernel_veth_baseline.sh: the pair is created directly
# inside the two namespaces and never exists in the caller's namespace.
ip netns add "$NS_CLIENT"
created+=("$NS_CLIENT")
ip netns add "$NS_SERVER"
created+=("$NS_SERVER")
ip link add "$DEV_CLIENT" mtu "$MTU" netns "$NS_CLIENT" type veth \
  peer name "$DEV_SERVER" mtu "$MTU" netns "$NS_SERVER"
ip -n "$NS_CLIENT" addr add "$ADDR_CLIENT/30" dev "$DEV_CLIENT"
ip -n "$NS_SERVER" addr add "$ADDR_SERVER/30" dev "$DEV_SERVER"
for pair in "$NS_CLIENT:$DEV_CLIENT" "$NS_SERVER:$DEV_SERVER"; do
  ns="${pair%%:*}"
  dev="${pair##*:}"
  ip -n "$ns" link set lo up
  ip -n "$ns" link set "$dev" up
  offloads_off "$ns" "$dev"
done

offload_summary() {  # namespace device
  ip netns exec "$1" ethtool -k "$2" |
    grep -E '^(tcp-segmentation-offload|generic-segmentation-offload|generic-receive-offload|large-receive-offload|tx-checksumming|rx-checksumming|scatter-gather):' |
    awk '{ printf "%s%s %s", sep, $1, $2; sep = ", " } END { print "" }'
}
echo "offloads on $DEV_TAP: $(offload_summary "$NS_TAP" "$DEV_TAP")" >&2
echo "offloads on $DEV_CLIENT: $(offload_summary "$NS_CLIENT" "$DEV_CLIENT")" >&2

# --- measurements --------------------------------------------------------------

log="$(mktemp)"
value=""
run_bg() {  # command...; runs it in the background, where a signal can
  # interrupt the wait and cleanup can kill it; its output goes to $log
  "$@" >"$log" 2>&1 &
  local pid=$! rc=0
  pids+=("$pid")
  wait "$pid" || rc=$?
  unset 'pids[-1]'
  return "$rc"
}

smoltcp_once() {  # reader|writer; sets value to Gbit/s
  # benchmark.rs starts its kernel client thread before its sockets listen
  # (that happens in the first pass of its poll loop): on a busy machine the
  # client's SYN can come first and be refused. Such a run has measured
  # nothing; it is started again, up to 3 times.
  local attempt
  for attempt in 1 2 3; do
    if run_bg ip netns exec "$NS_TAP" timeout "$TIMEOUT" \
      "$BENCH_BIN" --tap "$DEV_TAP" "$1"; then
      break
    fi
    if ((attempt < 3)) && grep -q "ConnectionRefused" "$log"; then
      echo "tap_baselines: smoltcp benchmark $1: connection refused before" \
        "it listened; again" >&2
      continue
    fi
    echo "tap_baselines: smoltcp benchmark $1 failed:" >&2
    sed 's/^/  /' "$log" >&2
    exit 1
  done
  # benchmark.rs prints "throughput: X Gbps" with X = bytes * 8 / 1e9 / s.
  value="$(sed -n 's/^throughput: \([0-9.]*\) Gbps$/\1/p' "$log" | tail -n1)"
  if [[ -z "$value" ]]; then
    echo "tap_baselines: no throughput line from smoltcp benchmark $1:" >&2
    sed 's/^/  /' "$log" >&2
    exit 1
  fi
}

veth_once() {  # forward|reverse; sets value to Gbit/s (iperf3 receiver)
  local reverse=()
  if [[ "$1" == reverse ]]; then reverse=(--reverse); fi
  ip netns exec "$NS_SERVER" iperf3 --server --one-off --bind "$ADDR_SERVER" \
    >/dev/null 2>&1 &
  local server_pid=$!
  pids=("$server_pid")
  for _ in $(seq 50); do
    if ip netns exec "$NS_SERVER" ss -ltn | grep -q ":5201"; then break; fi
    sleep 0.1
  done
  if ! run_bg ip netns exec "$NS_CLIENT" timeout "$TIMEOUT" iperf3 \
    --client "$ADDR_SERVER" --bytes "$AMOUNT" "${reverse[@]}" --json; then
    echo "tap_baselines: iperf3 $1 failed:" >&2
    sed 's/^/  /' "$log" >&2
    exit 1
  fi
  wait "$server_pid" 2>/dev/null || true
  pids=()
  value="$(jq '.end.sum_received.bits_per_second' "$log" |
    awk '{ printf "%.3f\n", $1 / 1e9 }')"
}

median() {  # values...
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR % 2) printf "%.3f\n", v[(NR + 1) / 2];
    else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
keys=(smoltcp_to_kernel kernel_to_smoltcp veth_forward veth_reverse)
declare -A runs=()
for i in $(seq "$RUNS"); do
  echo "run $i of $RUNS" >&2
  smoltcp_once reader
  runs[smoltcp_to_kernel]+=" $value"
  smoltcp_once writer
  runs[kernel_to_smoltcp]+=" $value"
  veth_once forward
  runs[veth_forward]+=" $value"
  veth_once reverse
  runs[veth_reverse]+=" $value"
done

declare -A name=(
  [smoltcp_to_kernel]="smoltcp benchmark reader"
  [kernel_to_smoltcp]="smoltcp benchmark writer"
  [veth_forward]="kernel over veth"
  [veth_reverse]="kernel over veth -R"
)
declare -A direction=(
  [smoltcp_to_kernel]="smoltcp->kernel"
  [kernel_to_smoltcp]="kernel->smoltcp"
  [veth_forward]="kernel->kernel(veth)"
  [veth_reverse]="kernel->kernel(veth,reverse)"
)
elapsed=$(($(date +%s) - started))
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

echo
echo "TAP baselines, MTU $MTU, $AMOUNT bytes per transfer, median of $RUNS"
echo "smoltcp $smoltcp_version (commit $smoltcp_commit)"
printf '%-26s %-30s %9s   %s\n' name direction Gbit/s runs
for k in "${keys[@]}"; do
  read -ra values <<<"${runs[$k]}"
  printf '%-26s %-30s %9s   %s\n' "${name[$k]}" "${direction[$k]}" \
    "$(median "${values[@]}")" "${values[*]}"
done
echo "load average (1, 5, 15 min) before: $load_before; after: $load_after"
echo "took ${elapsed}s (including the build)"

if [[ -n "$OUT" ]]; then
  {
    echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "machine.nproc=$(nproc)"
    echo "machine.cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
    echo "machine.kernel=$(uname -r)"
    echo "machine.loadavg_before=$load_before"
    echo "machine.loadavg_after=$load_after"
    echo "mtu=$MTU"
    echo "bytes_per_transfer=$AMOUNT"
    echo "runs=$RUNS"
    echo "smoltcp.version=$smoltcp_version"
    echo "smoltcp.commit=$smoltcp_commit"
    echo "iperf3.version=$(iperf3 --version | awk 'NR == 1 { print $2 }')"
    for k in "${keys[@]}"; do
      read -ra values <<<"${runs[$k]}"
      echo "$k.direction=${direction[$k]}"
      echo "$k.gbps_median=$(median "${values[@]}")"
      echo "$k.gbps_runs=$(IFS=,; echo "${values[*]}")"
    done
  } >"$OUT"
  echo "wrote $OUT"
fi
