#!/usr/bin/env python3
"""Plots for docs/fidelity.md.

    python tests/fidelity/plot.py TABLE.md OUT.png
    python tests/fidelity/plot.py linux RUN.json OUT.png
    python tests/fidelity/plot.py linux-table RUN_DIR...
    python tests/fidelity/plot.py linux-bbr RUN.json OUT.png
    python tests/fidelity/plot.py linux-bbr-table RUN_DIR...

The first plots the Mathis fidelity table (from the fidelity_mathis_test
binary): measured goodput against the loss-event rate, with the model's curve
per RTT. The second plots one run of tests/interop/test_linux_fidelity.py
(the file it writes to $TCPEMU_LINUX_CURVES): the kernel's and the engine's
cwnd over time and the bytes each receiving application read. The third
prints a Markdown table of such runs (directories of linux-<cc>.json files)
and the spread of the engine / kernel goodput ratio. The last two do the
same for the BBR comparison (linux-bbr-<path>.json): the kernel's and the
engine's pacing rate, cwnd and smoothed RTT over time, and a table of
goodput and queueing delay.
"""

from __future__ import annotations

import json
import math
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

MSS = 1460


def linux(run_json: str, out: str, until: float = 30.0) -> None:
    with open(run_json) as f:
        run = json.load(f)
    seconds = run["seconds"]
    until = min(until, seconds)
    cc = run["kernel_cc"]
    names = {"CONGESTION_CONTROL_CUBIC": "CUBIC", "CONGESTION_CONTROL_NEWRENO": "NewReno"}
    engine_cc = names.get(run["engine_cc"], run["engine_cc"])
    sides = (
        ("kernel", f"Linux {cc}", "tab:blue", run["kernel_bps"]),
        ("engine", f"tcpemu {engine_cc}", "tab:red", run["engine_bps"]),
    )
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(10, 7), gridspec_kw={"height_ratios": [3, 2]}
    )
    for side, label, color, bps in sides:
        mss = run[side]["mss"] or 1448
        flows = run[side]["flows"]
        pts = [p for p in flows[0]["cwnd"] if 0 <= p[0] <= until]
        top.plot(
            [p[0] for p in pts],
            [p[1] / mss for p in pts],
            color=color,
            linewidth=1,
            label=f"{label}, its first connection",
        )
        for i, flow in enumerate(flows):
            got = [p for p in flow["delivered"] if 0 <= p[0] <= seconds]
            bottom.plot(
                [0.0] + [p[0] for p in got],
                [0.0] + [p[1] / 1e6 for p in got],
                color=color,
                linewidth=1,
                label=f"{label}: {bps / 1e6:.2f} Mbit/s per connection" if i == 0 else None,
            )
    path = run["path"]
    top.set_ylabel("cwnd (segments)")
    top.set_xlabel("time (s)")
    top.set_xlim(0, until)
    top.set_title(
        f"{path['delay_each_way_s'] * 1e3:g} ms each way, {path['rate_bps'] / 1e6:g} Mbit/s, "
        f"{path['loss'] * 100:g} % loss: cwnd every 100 ms (first {until:g} s)",
        fontsize=10,
    )
    top.grid(True, alpha=0.3)
    top.legend(fontsize=8, loc="upper right")
    bottom.set_title(
        f"bytes read by each receiver, {run['flows']} connections each way; "
        f"engine / kernel goodput {run['ratio']:.2f}",
        fontsize=10,
    )
    bottom.set_ylabel("MB")
    bottom.set_xlabel("time (s)")
    bottom.set_xlim(0, seconds)
    bottom.grid(True, alpha=0.3)
    bottom.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def linux_table(run_dirs: list[str]) -> None:
    runs: dict[str, list[dict]] = {}
    for d in run_dirs:
        for cc in ("cubic", "reno"):
            try:
                with open(f"{d}/linux-{cc}.json") as f:
                    runs.setdefault(cc, []).append(json.load(f))
            except FileNotFoundError:
                pass
    print(
        "| kernel | run | s | kernel Mbit/s | engine Mbit/s | engine / kernel "
        "| kernel SACK recoveries / RTOs / probes / resent "
        "| engine fast recoveries / RTOs / resent |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for cc, rs in runs.items():
        for i, r in enumerate(rs, 1):
            k, e = r["kernel"], r["engine"]
            n = k["netstat"]
            print(
                f"| {cc} | {i} | {r['seconds']:g} | {r['kernel_bps'] / 1e6:.2f} "
                f"| {r['engine_bps'] / 1e6:.2f} | {r['ratio']:.3f} "
                f"| {n['TCPSackRecovery']} / {n['TCPTimeouts']} / {n['TCPLossProbes']} "
                f"/ {k['retransmitted_segments']} "
                f"| {e['fast_recoveries']} / {e['timeouts']} "
                f"/ {e['retransmits_fast'] + e['retransmits_rto']} |"
            )
    print()
    for cc, rs in runs.items():
        ratios = sorted(r["ratio"] for r in rs)
        mid = len(ratios) // 2
        median = ratios[mid] if len(ratios) % 2 else (ratios[mid - 1] + ratios[mid]) / 2
        print(
            f"{cc}: {len(ratios)} runs, engine / kernel median {median:.3f}, "
            f"min {ratios[0]:.3f}, max {ratios[-1]:.3f}"
        )


def linux_bbr(run_json: str, out: str) -> None:
    with open(run_json) as f:
        run = json.load(f)
    path = run["path"]
    base_ms = 2 * path["delay_each_way_s"] * 1e3
    sides = (
        ("kernel", "Linux bbr", "tab:blue", run["kernel_bps"], run["kernel_queueing_s"]),
        ("engine", "tcpemu BBR", "tab:red", run["engine_bps"], run["engine_queueing_s"]),
    )
    fig, (rate, cwnd, rtt) = plt.subplots(3, 1, figsize=(10, 9), sharex=True)
    for side, label, color, bps, queueing in sides:
        # t, cwnd bytes, pacing rate bytes/s, srtt s, phase, bandwidth, min RTT
        pts = [p for p in run[side]["samples"] if 0 <= p[0] <= run["seconds"]]
        ts = [p[0] for p in pts]
        rate.plot(
            ts,
            [p[2] * 8 / 1e6 for p in pts],
            color=color,
            linewidth=1,
            label=f"{label} pacing rate; goodput {bps / 1e6:.1f} Mbit/s",
        )
        if side == "engine":
            rate.plot(
                ts,
                [p[5] * 8 / 1e6 for p in pts],
                color=color,
                linewidth=1,
                linestyle=":",
                label=f"{label} bandwidth estimate",
            )
        cwnd.plot(ts, [p[1] / 1e3 for p in pts], color=color, linewidth=1, label=label)
        rtt.plot(
            ts,
            [p[3] * 1e3 for p in pts],
            color=color,
            linewidth=1,
            label=f"{label} smoothed RTT; mean queueing delay {queueing * 1e3:.1f} ms",
        )
    bdp_kb = path["rate_bps"] / 8 * base_ms / 1e3 / 1e3
    cwnd.axhline(bdp_kb, color="gray", linewidth=0.8, linestyle="--", label="1 BDP")
    cwnd.axhline(2 * bdp_kb, color="gray", linewidth=0.8, linestyle=":", label="2 BDP")
    rtt.axhline(base_ms, color="gray", linewidth=0.8, linestyle="--", label="base RTT")
    rate.set_ylabel("Mbit/s")
    rate.set_title(
        f"{run['path_name']} path: {base_ms:g} ms RTT, {path['rate_bps'] / 1e6:g} Mbit/s, "
        f"queue {path['queue_bytes'] / 1e6:g} MB, {path['loss'] * 100:g} % loss; "
        f"one connection each, each on its own copy of the path; every 100 ms",
        fontsize=10,
    )
    cwnd.set_ylabel("cwnd (kB)")
    rtt.set_ylabel("RTT (ms)")
    rtt.set_xlabel("time (s)")
    rtt.set_xlim(0, run["seconds"])
    for ax in (rate, cwnd, rtt):
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def linux_bbr_table(run_dirs: list[str]) -> None:
    print(
        "| path | run | s | kernel Mbit/s | engine Mbit/s | engine / kernel "
        "| kernel queueing ms | engine queueing ms | engine / kernel "
        "| engine phases | engine resent |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in ("clean", "lossy"):
        for i, d in enumerate(run_dirs, 1):
            try:
                with open(f"{d}/linux-bbr-{name}.json") as f:
                    r = json.load(f)
            except FileNotFoundError:
                continue
            e = r["engine"]
            print(
                f"| {name} | {i} | {r['seconds']:g} | {r['kernel_bps'] / 1e6:.2f} "
                f"| {r['engine_bps'] / 1e6:.2f} | {r['ratio']:.3f} "
                f"| {r['kernel_queueing_s'] * 1e3:.1f} | {r['engine_queueing_s'] * 1e3:.1f} "
                f"| {r['queueing_ratio']:.2f} | {', '.join(e['phases'])} "
                f"| {e['retransmits']} |"
            )


def main() -> None:
    if sys.argv[1] == "linux-bbr":
        linux_bbr(sys.argv[2], sys.argv[3])
        return
    if sys.argv[1] == "linux-bbr-table":
        linux_bbr_table(sys.argv[2:])
        return
    if sys.argv[1] == "linux":
        linux(sys.argv[2], sys.argv[3])
        return
    if sys.argv[1] == "linux-table":
        linux_table(sys.argv[2:])
        return
    table, out = sys.argv[1], sys.argv[2]
    rows = []
    with open(table) as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) < 7 or not cells[0].endswith("%") or cells[0] == "loss p":
                continue
            rtt_ms = float(cells[1].split()[0])
            rate = float(cells[2].split()[0]) / 100
            goodput = float(cells[4])
            rows.append((rtt_ms, rate, goodput))
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for rtt_ms, color in ((20.0, "tab:blue"), (100.0, "tab:orange")):
        pts = sorted((r, g) for t, r, g in rows if t == rtt_ms)
        if not pts:
            continue
        lo, hi = pts[0][0] * 0.8, pts[-1][0] * 1.25
        xs = [lo * (hi / lo) ** (i / 50) for i in range(51)]
        model = [MSS * 8 / (rtt_ms / 1000) * math.sqrt(1.5) / math.sqrt(x) / 1e6 for x in xs]
        ax.plot([x * 100 for x in xs], model, color=color, label=f"Mathis model, RTT {rtt_ms:g} ms")
        ax.fill_between(
            [x * 100 for x in xs],
            [m * 0.8 for m in model],
            [m * 1.2 for m in model],
            color=color,
            alpha=0.12,
        )
        ax.scatter(
            [r * 100 for r, _ in pts],
            [g for _, g in pts],
            color=color,
            marker="o",
            zorder=3,
            label=f"tcpemu NewReno, RTT {rtt_ms:g} ms",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("loss-event rate p (%)")
    ax.set_ylabel("goodput (Mbit/s)")
    ax.set_title("NewReno goodput vs (MSS/RTT)·sqrt(3/2)/sqrt(p), band ±20 %")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    main()
