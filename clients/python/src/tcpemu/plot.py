"""Time-sequence graphs in the manner of Stevens and tcptrace (the ``plot``
extra, from a checkout of the tcpemu repository: ``pip install
'./clients/python[plot]'``). Drawn with matplotlib's Agg canvas, so no
display is needed."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Tuple, Union, cast

from tcpemu import _names
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb
from tcpemu._trace import Trace, load
from tcpemu.events import EventLike
from tcpemu.model import Gap

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["COLORS", "time_sequence"]

COLORS = {
    "data": "#1f4e9a",
    "retransmit_rto": "#d62728",
    "retransmit_fast": "#ff7f0e",
    "dropped": "#9400d3",
    "ack": "#2ca02c",
    "window": "#c9a400",
    "fin": "#000000",
}
_SYN = 2
_FIN = 1
_ACK = 16


def _require_matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise ImportError(
            "tcpemu.plot needs matplotlib: pip install './clients/python[plot]' "
            "in the tcpemu repository (or pip install matplotlib)"
        ) from None
    return matplotlib


def _pick_session(trace: Trace, session: Optional[int]) -> int:
    ids = trace.sessions()
    if session is not None:
        if session not in ids:
            raise ValueError(f"session {session}: no events in the trace (sessions: {ids})")
        return session
    if len(ids) != 1:
        raise ValueError(
            f"the trace holds events of sessions {ids}; pass session= to choose one"
            if ids
            else "the trace holds no session events"
        )
    return ids[0]


def _fit(
    xlim: Tuple[float, float],
    groups: Dict[str, Tuple[List[float], List[int], List[int]]],
    drops: Tuple[List[float], List[float]],
    acks: List[Tuple[float, int, int]],
) -> Optional[Tuple[float, float]]:
    """The sequence range of what is drawn between xlim's times, padded."""
    t0, t1 = xlim
    ys: List[float] = []
    for times, lows, highs in groups.values():
        for t, lo, hi in zip(times, lows, highs):
            if t0 <= t <= t1:
                ys += (lo, hi)
    ys += [y for t, y in zip(*drops) if t0 <= t <= t1]
    ys += [a[1] for a in acks if t0 <= a[0] <= t1]
    if not ys:
        return None
    bottom, top = min(ys), max(ys)
    pad = max((top - bottom) * 0.05, 1.0)
    return bottom - pad, top + pad


def time_sequence(
    events: Iterable[Union[EventLike, Gap]],
    path: Union[str, os.PathLike[str], None] = None,
    *,
    session: Optional[int] = None,
    direction: str = "client",
    title: Optional[str] = None,
    ax: Optional[Axes] = None,
    xlim: Optional[Tuple[float, float]] = None,
    ylim: Optional[Tuple[float, float]] = None,
    figsize: Tuple[float, float] = (11.0, 6.5),
    dpi: int = 120,
) -> Figure:
    """Draws the time-sequence graph of one direction of a session and
    returns the figure; writes it to `path` (PNG, SVG, PDF by extension) when
    given.

    ``direction="client"`` shows the data the client sends, as seen at the
    client: each data segment a vertical bar from its relative sequence
    number to seq + len at the time it was sent, retransmissions (RTO and
    fast) in their own colours, segments the link dropped as crosses, the
    ACK line (cumulative ACKs arriving from the server) and the receive
    window line (ACK + the advertised window, scaled). ``"server"`` shows the
    other direction. `events` may be tcpemu.v1.Event messages or JSON Lines
    records (``tcpemu watch --json``, tcpemu-sim ``--events``).

    Time on the x-axis is seconds since the session's first event in the
    trace (its SYN, normally), not the network's clock, which counts from
    the network's creation (on the default REALTIME network, from the
    daemon's start-up). ``xlim=(t0, t1)`` zooms in on a range of those
    seconds; the sequence axis then fits the segments and ACKs within it
    unless ``ylim`` is given.
    """
    _require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.ticker import EngFormatter

    sender = _names.endpoint(direction)
    receiver = pb.ENDPOINT_SERVER if sender == pb.ENDPOINT_CLIENT else pb.ENDPOINT_CLIENT
    trace = load(events)
    sid = _pick_session(trace, session)
    evs = [(i, ev) for i, ev in enumerate(trace.events) if trace.session_ids[i] == sid]
    # Time 0 is the session's first event.
    origin_ns = min(ev.time_ns for _, ev in evs)

    # Window scaling is in effect when both SYNs carried the option; the
    # window of a SYN itself is never scaled (RFC 7323 2.2).
    wscale: Dict[int, int] = {}
    for _, ev in evs:
        s = ev.segment
        if ev.kind == pb.EVENT_KIND_SEGMENT_SENT and s.flags & _SYN and s.HasField("opt_wscale"):
            wscale.setdefault(ev.endpoint, s.opt_wscale)
    shift = wscale.get(receiver, 0) if len(wscale) == 2 else 0

    groups: Dict[str, Tuple[List[float], List[int], List[int]]] = {
        k: ([], [], []) for k in ("data", "retransmit_rto", "retransmit_fast")
    }
    drops: Tuple[List[float], List[float]] = ([], [])
    fins: Tuple[List[float], List[int]] = ([], [])
    acks_at_sender: List[Tuple[float, int, int]] = []
    acks_from_receiver: List[Tuple[float, int, int]] = []
    for i, ev in evs:
        k = ev.kind
        s = ev.segment
        t = (ev.time_ns - origin_ns) / 1e9
        if k == pb.EVENT_KIND_SEGMENT_SENT and ev.endpoint == sender:
            if s.len:
                g = ev.reason if ev.reason in ("retransmit_rto", "retransmit_fast") else "data"
                groups[g][0].append(t)
                groups[g][1].append(s.rel_seq)
                groups[g][2].append(s.rel_seq + s.len)
            if s.flags & _FIN:
                fins[0].append(t)
                fins[1].append(s.rel_seq + s.len)
        elif k == pb.EVENT_KIND_SEGMENT_DROPPED and ev.endpoint == sender and s.len:
            lo = trace.rel_seq(i)
            drops[0].append(t)
            drops[1].append(lo + s.len / 2)
        elif s.flags & _ACK and not s.flags & _SYN:
            window = s.window << shift
            if k == pb.EVENT_KIND_SEGMENT_RECEIVED and ev.endpoint == sender:
                acks_at_sender.append((t, s.rel_ack, window))
            elif k == pb.EVENT_KIND_SEGMENT_SENT and ev.endpoint == receiver:
                acks_from_receiver.append((t, s.rel_ack, window))
    # The ACKs as the sender saw them; the receiver's own if the trace lacks them.
    acks = acks_at_sender or acks_from_receiver

    fig: Any
    if ax is None:
        fig = Figure(figsize=figsize, dpi=dpi)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    handles = []
    labels = {
        "data": "data segment",
        "retransmit_rto": "retransmission (RTO)",
        "retransmit_fast": "retransmission (fast)",
    }
    markers = {"data": None, "retransmit_rto": "s", "retransmit_fast": "D"}
    for g, (times, lows, highs) in groups.items():
        if not times:
            continue
        color = COLORS[g]
        width = 1.0 if g == "data" else 1.8
        ax.vlines(times, lows, highs, colors=color, linewidth=width, zorder=3 if g != "data" else 2)
        ax.scatter(
            times + times, lows + highs, marker="_", s=12, color=color, linewidths=width, zorder=3
        )
        marker = markers[g]
        if marker is not None:
            # A single segment is a few pixels tall on a long transfer: mark it.
            mid = [(a + b) / 2 for a, b in zip(lows, highs)]
            ax.scatter(
                times,
                mid,
                marker=marker,
                s=22,
                facecolors="none",
                edgecolors=color,
                linewidths=1.2,
                zorder=4,
            )
        handles.append(
            Line2D(
                [],
                [],
                color=color,
                linewidth=2,
                marker=marker,
                markerfacecolor="none",
                label=f"{labels[g]} ({len(times)})",
            )
        )
    if drops[0]:
        ax.scatter(drops[0], drops[1], marker="x", s=36, color=COLORS["dropped"], zorder=4)
        handles.append(
            Line2D(
                [],
                [],
                color=COLORS["dropped"],
                marker="x",
                linestyle="none",
                label=f"dropped by the link ({len(drops[0])})",
            )
        )
    if acks:
        ack_times = [a[0] for a in acks]
        ax.step(ack_times, [a[1] for a in acks], where="post", color=COLORS["ack"], linewidth=1.2)
        handles.append(Line2D([], [], color=COLORS["ack"], linewidth=1.5, label="ACK"))
        ax.step(
            ack_times,
            [a[1] + a[2] for a in acks],
            where="post",
            color=COLORS["window"],
            linewidth=1.0,
        )
        handles.append(
            Line2D(
                [], [], color=COLORS["window"], linewidth=1.5, label="receive window (ACK + win)"
            )
        )
    if fins[0]:
        ax.scatter(fins[0], fins[1], marker="v", s=30, color=COLORS["fin"], zorder=4)
        handles.append(
            Line2D([], [], color=COLORS["fin"], marker="v", linestyle="none", label="FIN")
        )
    peer = _names.endpoint_name(receiver)
    me = _names.endpoint_name(sender)
    ax.set_title(title or f"session {sid}: {me} \u2192 {peer} time-sequence graph")
    ax.set_xlabel("time since the session's first event (s)")
    ax.set_ylabel("relative sequence number (bytes)")
    ax.yaxis.set_major_formatter(EngFormatter(unit="B"))
    ax.grid(True, color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    if handles:
        ax.legend(handles=handles, loc="upper left", fontsize="small", framealpha=0.9)
    if trace.lost:
        ax.text(
            0.99,
            0.01,
            f"{trace.lost} events lost",
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            color="#d62728",
            fontsize="small",
        )
    if xlim is not None:
        ax.set_xlim(*xlim)
        if ylim is None:
            ylim = _fit(xlim, groups, drops, acks)
    if ylim is not None:
        ax.set_ylim(*ylim)
    if path is not None:
        fig.savefig(os.fspath(path))
    return cast("Figure", fig)
