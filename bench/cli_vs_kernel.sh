#!/usr/bin/env bash
# tcpemu-sim against the kernel in one sitting: a 1 GB lossless transfer
# through the CLI with --no-digest, interleaved with the kernel's TCP over
# veth with offloads off (bench/kernel_veth_baseline.sh), both pinned to
# CPU 0. Prints each run, the medians and their ratio: payload Gbit/s per
# wall second on that one CPU for both, and for tcpemu-sim also per second
# of its own CPU time (the clock is virtual, so that is the engine's rate
# per core whatever else shares the CPU). Needs root (network namespaces).
# Figures: docs/benchmarks.md.
#
# Usage: bench/cli_vs_kernel.sh [TCPEMU_SIM] [RUNS]
#   default: build-rel/engine/cli/tcpemu-sim, 3 runs
set -euo pipefail
cd "$(dirname "$0")/.."

sim="${1:-build-rel/engine/cli/tcpemu-sim}"
runs="${2:-3}"
if [[ ! -x "$sim" ]]; then
  echo "cli_vs_kernel: no tcpemu-sim at $sim (build it: cmake -S . -B build-rel" \
    "-G Ninja -DCMAKE_BUILD_TYPE=Release -DTCPEMU_WERROR=OFF && ninja -C build-rel" \
    "tcpemu-sim)" >&2
  exit 2
fi

sim_gbit=()
sim_cpu_gbit=()
veth_gbit=()
cpu_file="$(mktemp)"
trap 'rm -f "$cpu_file"' EXIT
for ((i = 1; i <= runs; i++)); do
  out="$(/usr/bin/time -o "$cpu_file" -f '%U %S' taskset -c 0 "$sim" \
    --bytes 1000000000 --delay 25ms --rate 10Gbit --queue 0 \
    --send-buffer 64MiB --recv-buffer 64MiB --seed 1 --no-digest --json)"
  g="$(python3 -c 'import json,sys; r=json.load(sys.stdin); print("%.3f" % (r["bytes"] * 8 / r["wall_time_s"] / 1e9))' <<<"$out")"
  c="$(awk '{ printf "%.3f", 8 / ($1 + $2) }' "$cpu_file")"  # 1e9 bytes
  sim_gbit+=("$g")
  sim_cpu_gbit+=("$c")
  echo "run $i: tcpemu-sim $g Gbit/s ($c per CPU-second)"
  v="$(CPUS=0 bench/kernel_veth_baseline.sh 10 | awk '/received:/ { print $2 }')"
  veth_gbit+=("$v")
  echo "run $i: kernel over veth (one CPU) $v Gbit/s"
done

median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
ms="$(median "${sim_gbit[@]}")"
mc="$(median "${sim_cpu_gbit[@]}")"
mv="$(median "${veth_gbit[@]}")"
echo "median: tcpemu-sim $ms Gbit/s ($mc per CPU-second), kernel over veth" \
  "$mv Gbit/s, ratio $(awk -v a="$ms" -v b="$mv" 'BEGIN { printf "%.2f", a / b }')"
