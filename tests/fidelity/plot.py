#!/usr/bin/env python3
"""Plots the Mathis fidelity table (from the fidelity_mathis_test binary):
measured goodput against the loss-event rate, with the model's curve per RTT.

    python tests/fidelity/plot.py TABLE.md OUT.png
"""

from __future__ import annotations

import math
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

MSS = 1460


def main() -> None:
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
