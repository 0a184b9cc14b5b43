"""Events as a pandas DataFrame (the ``analysis`` extra: ``pip install
tcpemu[analysis]``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Union

from tcpemu import _names
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb
from tcpemu._trace import load
from tcpemu.events import EventLike
from tcpemu.model import Gap

if TYPE_CHECKING:
    import pandas

__all__ = ["COLUMNS", "events_to_dataframe"]

_SEGMENT_KINDS = (
    pb.EVENT_KIND_SEGMENT_SENT,
    pb.EVENT_KIND_SEGMENT_RECEIVED,
    pb.EVENT_KIND_SEGMENT_DROPPED,
    pb.EVENT_KIND_SEGMENT_MANGLED,
)
_NO_TCB = (
    pb.EVENT_KIND_SEGMENT_DROPPED,
    pb.EVENT_KIND_SEGMENT_MANGLED,
    pb.EVENT_KIND_SESSION_DESTROYED,
    pb.EVENT_KIND_SESSION_ACCEPTED,
)
_SEGMENT_COLUMNS = ("seq", "ack", "rel_seq", "rel_ack", "len", "window", "flags", "mss", "wscale")
_TCB_COLUMNS = (
    "iss",
    "irs",
    "snd_una",
    "snd_nxt",
    "snd_wnd",
    "rcv_nxt",
    "rcv_wnd",
    "cwnd",
    "ssthresh",
    "bytes_in_flight",
    "srtt_ns",
    "rttvar_ns",
    "rto_ns",
)
COLUMNS = (
    "time_s",
    "time_ns",
    "kind",
    "network_id",
    "session_id",
    "link_id",
    "endpoint",
    "reason",
    "old_state",
    "new_state",
    "a",
    "b",
    *_SEGMENT_COLUMNS,
    "state",
    *_TCB_COLUMNS,
)
_INT_COLUMNS = ("a", "b", *(c for c in _SEGMENT_COLUMNS if c != "flags"), *_TCB_COLUMNS)
_STRING_COLUMNS = ("kind", "endpoint", "reason", "old_state", "new_state", "flags", "state")


def _require_pandas() -> Any:
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("tcpemu.analysis needs pandas: pip install 'tcpemu[analysis]'") from None
    return pd


def events_to_dataframe(
    events: Iterable[Union[EventLike, Gap]], *, session: Optional[int] = None
) -> pandas.DataFrame:
    """One row per event, columns as in :data:`COLUMNS`.

    `events` are tcpemu.v1.Event messages (an EventStream, a list), records
    of a JSON Lines trace, or both; Gap items are counted in
    ``df.attrs["events_lost"]``. Segment columns (seq .. wscale) are empty
    for other kinds and TCB columns (state .. rto_ns) for events without a
    TCB; ``flags`` holds the letters FSRPAUEC. For dropped and mangled
    segments, which the daemon reports without relative numbers or a
    session id, rel_seq/rel_ack are computed from the ISS seen in the trace
    and session_id is the session whose sequence space they fall in (on
    their link). `session` keeps only that session's rows.
    """
    pd = _require_pandas()
    trace = load(events)
    cols: Dict[str, List[Any]] = {c: [] for c in COLUMNS}
    for i, ev in enumerate(trace.events):
        sid = trace.session_ids[i]
        if session is not None and sid != session:
            continue
        k = ev.kind
        cols["time_s"].append(ev.time_ns / 1e9)
        cols["time_ns"].append(ev.time_ns)
        cols["kind"].append(_names.kind_name(k))
        cols["network_id"].append(ev.network_id)
        cols["session_id"].append(sid)
        cols["link_id"].append(ev.link_id)
        cols["endpoint"].append(_names.endpoint_name(ev.endpoint))
        cols["reason"].append(ev.reason or None)
        changed = k == pb.EVENT_KIND_STATE_CHANGED
        cols["old_state"].append(_names.state_name(ev.old_state) if changed else None)
        cols["new_state"].append(_names.state_name(ev.new_state) if changed else None)
        cols["a"].append(ev.a)
        cols["b"].append(ev.b)
        if k in _SEGMENT_KINDS:
            s = ev.segment
            cols["seq"].append(s.seq)
            cols["ack"].append(s.ack)
            cols["rel_seq"].append(trace.rel_seq(i))
            cols["rel_ack"].append(trace.rel_ack(i))
            cols["len"].append(s.len)
            cols["window"].append(s.window)
            cols["flags"].append(_names.flags_letters(s.flags))
            cols["mss"].append(s.opt_mss or None)
            cols["wscale"].append(s.opt_wscale if s.HasField("opt_wscale") else None)
        else:
            for c in _SEGMENT_COLUMNS:
                cols[c].append(None)
        if k not in _NO_TCB:
            t = ev.tcb
            cols["state"].append(_names.state_name(t.state))
            for c in _TCB_COLUMNS:
                cols[c].append(getattr(t, c))
        else:
            cols["state"].append(None)
            for c in _TCB_COLUMNS:
                cols[c].append(None)
    dtypes = {c: "Int64" for c in _INT_COLUMNS}
    dtypes.update({c: "string" for c in _STRING_COLUMNS})
    dtypes.update(time_s="float64", time_ns="int64", network_id="int64", session_id="int64")
    dtypes.update(link_id="int64")
    df = pd.DataFrame({c: pd.array(cols[c], dtype=dtypes[c]) for c in COLUMNS})
    df.attrs["events_lost"] = trace.lost
    return df
