"""Events as a pandas DataFrame (the ``analysis`` extra, from a checkout of
the tcpemu repository: ``pip install './clients/python[analysis]'``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Union

from tcpemu import _names
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb
from tcpemu._trace import load
from tcpemu.events import TCB_BOOL_FIELDS, TCB_FIELDS, TCB_STRING_FIELDS, EventLike, tcb_value
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
_SEGMENT_COLUMNS = (
    "seq",
    "ack",
    "rel_seq",
    "rel_ack",
    "len",
    "window",
    "window_bytes",
    "flags",
    "mss",
    "wscale",
    "ts_val",
    "ts_ecr",
    "sack",
)
_TCB_COLUMNS = TCB_FIELDS
_BOOL_COLUMNS = TCB_BOOL_FIELDS
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
_INT_COLUMNS = (
    "a",
    "b",
    *(c for c in _SEGMENT_COLUMNS if c not in ("flags", "sack")),
    *(c for c in _TCB_COLUMNS if c not in _BOOL_COLUMNS and c not in TCB_STRING_FIELDS),
)
_STRING_COLUMNS = (
    "kind",
    "endpoint",
    "reason",
    "old_state",
    "new_state",
    "flags",
    "state",
    *TCB_STRING_FIELDS,
)


def _require_pandas() -> Any:
    try:
        import pandas as pd
    except ImportError:
        raise ImportError(
            "tcpemu.analysis needs pandas: pip install './clients/python[analysis]' "
            "in the tcpemu repository (or pip install pandas)"
        ) from None
    return pd


def events_to_dataframe(
    events: Iterable[Union[EventLike, Gap]], *, session: Optional[int] = None
) -> pandas.DataFrame:
    """One row per event, columns as in :data:`COLUMNS`.

    `events` are tcpemu.v1.Event messages (an EventStream, a list), records
    of a JSON Lines trace, or both; Gap items are counted in
    ``df.attrs["events_lost"]``. Segment columns (seq .. sack) are empty
    for other kinds and TCB columns (state .. min_rtt_ns) for events
    without a TCB; cc_phase is a name such as ``probe_bw``, pacing_rate and
    bandwidth_estimate are bytes/s; ``flags`` holds the letters FSRPAUEC;
    ts_val and ts_ecr are empty without a timestamp option; ``sack`` is a
    tuple of the SACK blocks as (left, right) pairs relative like rel_ack,
    empty when there are none.
    For dropped and mangled segments, which the daemon reports without
    relative numbers or a session id, rel_seq/rel_ack and the SACK blocks
    are computed from the ISS seen in the trace and session_id is the
    session whose sequence space they fall in (on their link). `session`
    keeps only that session's rows.
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
            cols["window_bytes"].append(s.window_bytes)
            cols["flags"].append(_names.flags_letters(s.flags))
            cols["mss"].append(s.opt_mss or None)
            cols["wscale"].append(s.opt_wscale if s.HasField("opt_wscale") else None)
            has_ts = s.HasField("ts_val")
            cols["ts_val"].append(s.ts_val if has_ts else None)
            cols["ts_ecr"].append(s.ts_ecr if has_ts else None)
            cols["sack"].append(tuple(trace.rel_sack(i)))
        else:
            for c in _SEGMENT_COLUMNS:
                cols[c].append(None)
        if k not in _NO_TCB:
            t = ev.tcb
            cols["state"].append(_names.state_name(t.state))
            for c in _TCB_COLUMNS:
                cols[c].append(tcb_value(t, c))
        else:
            cols["state"].append(None)
            for c in _TCB_COLUMNS:
                cols[c].append(None)
    dtypes = {c: "Int64" for c in _INT_COLUMNS}
    dtypes.update({c: "string" for c in _STRING_COLUMNS})
    dtypes.update({c: "boolean" for c in _BOOL_COLUMNS})
    dtypes.update(time_s="float64", time_ns="int64", network_id="int64", session_id="int64")
    dtypes.update(link_id="int64")
    data = {c: pd.array(cols[c], dtype=dtypes[c]) for c in COLUMNS if c != "sack"}
    # A Series of tuples stays one-dimensional, which pd.array would not.
    data["sack"] = pd.Series(cols["sack"], dtype="object")
    df = pd.DataFrame({c: data[c] for c in COLUMNS})
    df.attrs["events_lost"] = trace.lost
    return df
