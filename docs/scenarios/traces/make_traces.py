#!/usr/bin/env python3
"""Writes the small Mahimahi delivery traces (mm-link format) that the example
scenarios use: one line per delivery opportunity of one 1500-byte packet, in
ms from the start; the trace repeats with the period of its last line.

  sine-2-12mbit-10s.mahi  a rate swinging like a sine between 2 and
                          12 Mbit/s over a 10 s period (cellular-like)
  step-10-2mbit-4s.mahi   10 Mbit/s for 2 s, then 2 Mbit/s for 2 s

Generated, not recorded: run this script to make them again (the output is
the same every time).
"""

from __future__ import annotations

import math
from pathlib import Path

PACKET_BITS = 1500 * 8


def trace(rate_mbit, period_ms: int) -> list[int]:
    """Opportunities for a rate given per ms (Mbit/s) over one period."""
    out: list[int] = []
    credit = 0.0
    for ms in range(1, period_ms + 1):
        credit += rate_mbit(ms) * 1e6 / 1000 / PACKET_BITS
        while credit >= 1:
            out.append(ms)
            credit -= 1
    if not out or out[-1] != period_ms:
        out.append(period_ms)  # the period: the last line's timestamp
    return out


def main() -> None:
    here = Path(__file__).parent
    sine = trace(lambda ms: 7 + 5 * math.sin(2 * math.pi * ms / 10000), 10000)
    step = trace(lambda ms: 10 if ms <= 2000 else 2, 4000)
    for name, lines in (
        ("sine-2-12mbit-10s.mahi", sine),
        ("step-10-2mbit-4s.mahi", step),
    ):
        (here / name).write_text("".join(f"{t}\n" for t in lines))


if __name__ == "__main__":
    main()
