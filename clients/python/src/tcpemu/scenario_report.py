"""Plots of scenario results (docs/experiments.md, "Reports and sweeps"), as
PNG files, from summary.json: per flow throughput, cwnd and smoothed RTT over
time, per link direction queue occupancy over time, and for a sweep a
Pantheon-style scatter of mean throughput against p95 delay.

Needs matplotlib (the `[plot]` extra); drawn on the Agg canvas, no display.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

__all__ = ["write_report", "write_sweep_scatter"]


def _figure(figsize: Tuple[float, float] = (9.0, 4.5)) -> Any:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(
            "scenario plots need matplotlib: pip install './clients/python[plot]' "
            "in the tcpemu repository (or pip install matplotlib)"
        ) from None
    fig = Figure(figsize=figsize, dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _series(
    t: Sequence[float], ys: Sequence[Optional[float]], scale: float
) -> Tuple[List[float], List[float]]:
    """Pairs (t, y*scale) without the nulls ("not defined")."""
    xs: List[float] = []
    out: List[float] = []
    for x, y in zip(t, ys):
        if y is not None:
            xs.append(float(x))
            out.append(float(y) * scale)
    return xs, out


def _flow_plot(
    summary: Mapping[str, Any], key: str, scale: float, ylabel: str, title: str, path: Path
) -> Optional[Path]:
    ts = summary.get("timeseries") or {}
    t = ts.get("t_s") or []
    flows = ts.get("flows") or []
    if not t or not flows:
        return None
    fig = _figure()
    ax = fig.add_subplot(1, 1, 1)
    for f in flows:
        xs, ys = _series(t, f.get(key) or [], scale)
        ax.plot(xs, ys, label=str(f.get("name")), linewidth=1.2)
    ax.set_xlabel("virtual time (s)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    fig.savefig(os.fspath(path))
    return path


def _queue_plot(summary: Mapping[str, Any], path: Path) -> Optional[Path]:
    ts = summary.get("timeseries") or {}
    t = ts.get("t_s") or []
    links = ts.get("links") or []
    if not t or not links:
        return None
    fig = _figure()
    ax = fig.add_subplot(1, 1, 1)
    for link in links:
        for d in ("forward", "reverse"):
            series = (link.get(d) or {}).get("queue_packets")
            if series:
                xs, ys = _series(t, series, 1.0)
                ax.step(xs, ys, where="post", label=f"{link.get('name')} {d}", linewidth=1.2)
    ax.set_xlabel("virtual time (s)")
    ax.set_ylabel("queue (packets)")
    ax.set_title("Queue occupancy per link direction")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    fig.savefig(os.fspath(path))
    return path


def write_report(summary: Mapping[str, Any], out: str | os.PathLike[str]) -> List[Path]:
    """Writes throughput.png, cwnd.png, srtt.png and queue.png into `out`
    from a parsed summary.json; returns the files written (a plot whose time
    series are empty is left out)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    name = (summary.get("scenario") or {}).get("name", "scenario")
    written = [
        _flow_plot(
            summary,
            "throughput_bps",
            1e-6,
            "throughput (Mbit/s)",
            f"{name}: throughput per flow",
            out / "throughput.png",
        ),
        _flow_plot(
            summary,
            "cwnd_bytes",
            1e-3,
            "cwnd (kB)",
            f"{name}: congestion window per flow",
            out / "cwnd.png",
        ),
        _flow_plot(
            summary,
            "srtt_ms",
            1.0,
            "smoothed RTT (ms)",
            f"{name}: smoothed RTT per flow",
            out / "srtt.png",
        ),
        _queue_plot(summary, out / "queue.png"),
    ]
    return [p for p in written if p is not None]


def write_sweep_scatter(
    rows: Sequence[Mapping[str, Any]],
    path: str | os.PathLike[str],
    *,
    delay: str = "queueing_delay_p95_ms",
) -> Path:
    """Pantheon-style scatter: one point per run, mean flow goodput (y)
    against the p95 delay (x, `delay`: queueing_delay_p95_ms or
    one_way_delay_p95_ms, the largest over link directions), the x axis
    inverted so "better" is up and to the right; one colour per parameter
    combination, its mean over seeds drawn larger."""
    groups: Dict[str, List[Tuple[float, float]]] = {}
    for row in rows:
        x, y = row.get(delay), row.get("mean_goodput_bps")
        if x is None or y is None:
            continue
        label = ", ".join(f"{k}={v}" for k, v in row["params"].items()) or "(no params)"
        groups.setdefault(label, []).append((float(x), float(y) / 1e6))
    fig = _figure((8.0, 6.0))
    ax = fig.add_subplot(1, 1, 1)
    for label, pts in groups.items():
        xs = [p[0] for p in pts]
        ys = [p[1] for p in pts]
        (line,) = ax.plot(xs, ys, "o", alpha=0.4, markersize=4)
        ax.plot(
            [sum(xs) / len(xs)],
            [sum(ys) / len(ys)],
            "o",
            markersize=10,
            color=line.get_color(),
            label=label,
        )
    ax.invert_xaxis()
    ax.set_xlabel(f"p95 {'queueing' if delay.startswith('queueing') else 'one-way'} delay (ms)")
    ax.set_ylabel("mean throughput per flow (Mbit/s)")
    ax.set_title("Throughput vs delay (one dot per run; large: mean over seeds)")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(os.fspath(out))
    return out
