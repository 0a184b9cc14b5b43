"""Event helpers: names, one-line text like tcpdump, and the JSON Lines form
that tcpemu-sim ``--events`` writes (the same keys, plus ``network_id``), so
traces from the daemon and from tcpemu-sim can be read, analysed and plotted
alike."""

from __future__ import annotations

import ipaddress
import json
from typing import IO, Any, Dict, Iterable, Iterator, Mapping, Union

from tcpemu import _names
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb
from tcpemu.model import Gap

__all__ = [
    "EventLike",
    "event_from_dict",
    "event_to_dict",
    "format_event",
    "read_jsonl",
    "remote_address",
    "to_event",
    "write_jsonl",
]

EventLike = Union[pb.Event, Mapping[str, Any]]


# The TCB fields of an event, as JSON Lines keys (and DataFrame columns).
TCB_FIELDS = (
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
    "snd_wscale",
    "rcv_wscale",
    "ts_ok",
    "sack_ok",
    "ts_recent",
    "sacked_bytes",
    "lost_bytes",
    "retrans_bytes",
    "pipe",
    "pacing_rate",
    "cc_phase",
    "bandwidth_estimate",
    "min_rtt_ns",
    "ecn_ok",
)
TCB_BOOL_FIELDS = ("ts_ok", "sack_ok", "ecn_ok")
# Enum fields written by name ("probe_bw"), as tcb_value gives them.
TCB_STRING_FIELDS = ("cc_phase",)
# Per kind: the JSON key of `reason`, of `a`, of `b`, whether the segment
# carries relative numbers, and whether a TCB is attached.
_LAYOUT: Dict[int, tuple[str | None, str | None, str | None, bool | None, bool]] = {
    pb.EVENT_KIND_SEGMENT_SENT: ("reason", None, None, True, True),
    pb.EVENT_KIND_SEGMENT_RECEIVED: ("disposition", None, None, True, True),
    pb.EVENT_KIND_SEGMENT_DROPPED: ("reason", None, None, False, False),
    pb.EVENT_KIND_SEGMENT_MANGLED: ("mangle", None, None, False, False),
    pb.EVENT_KIND_STATE_CHANGED: (None, None, None, None, True),
    pb.EVENT_KIND_TIMER_ARMED: ("timer", "deadline_ns", None, None, True),
    pb.EVENT_KIND_TIMER_FIRED: ("timer", None, None, None, True),
    pb.EVENT_KIND_APP_WRITE: (None, "requested", "accepted", None, True),
    pb.EVENT_KIND_APP_READ: (None, "bytes", None, None, True),
    pb.EVENT_KIND_RTT_SAMPLE: (None, "rtt_ns", None, None, True),
    pb.EVENT_KIND_CWND_CHANGED: (None, "old_cwnd", "new_cwnd", None, True),
    pb.EVENT_KIND_CONNECTION_ERROR: ("error", None, None, None, True),
    pb.EVENT_KIND_SESSION_DESTROYED: (None, None, None, None, False),
    # `a` is the remote host's IPv4 address, written dotted as "remote".
    pb.EVENT_KIND_SESSION_ACCEPTED: (None, None, None, False, False),
    # A REALTIME network's clock fell behind wall time, then caught up.
    pb.EVENT_KIND_CLOCK_BEHIND: (None, "lag_ns", None, None, False),
    pb.EVENT_KIND_CLOCK_CAUGHT_UP: (None, "max_lag_ns", "behind_ns", None, False),
    # A link's schedule changed its values; its queue, sampled.
    pb.EVENT_KIND_LINK_CHANGED: (None, "rate_bps", "delay_ns", None, False),
    pb.EVENT_KIND_QUEUE_SAMPLE: (None, "queue_bytes", "sojourn_ns", None, False),
}


def tcb_value(t: pb.Tcb, name: str) -> Any:
    """TCB field `name` as JSON Lines writes it: cc_phase by name, the rest
    as they are."""
    if name == "cc_phase":
        return _names.cc_phase_name(t.cc_phase)
    return getattr(t, name)


def remote_address(ev: pb.Event) -> str:
    """The host's address a SESSION_ACCEPTED event names, dotted."""
    return str(ipaddress.IPv4Address(ev.a & 0xFFFFFFFF))


def event_to_dict(ev: pb.Event) -> Dict[str, Any]:
    """The event as tcpemu-sim's JSON Lines record, plus ``network_id``."""
    reason_key, a_key, b_key, rel, tcb = _LAYOUT.get(ev.kind, (None, None, None, None, False))
    out: Dict[str, Any] = {
        "time_ns": ev.time_ns,
        "kind": _names.kind_name(ev.kind),
        "endpoint": _names.endpoint_name(ev.endpoint),
        "session_id": ev.session_id,
        "link_id": ev.link_id,
        "network_id": ev.network_id,
    }
    if reason_key is not None:
        out[reason_key] = ev.reason
    if ev.kind == pb.EVENT_KIND_STATE_CHANGED:
        out["old_state"] = _names.state_name(ev.old_state)
        out["new_state"] = _names.state_name(ev.new_state)
    if a_key is not None:
        out[a_key] = ev.a
    if b_key is not None:
        out[b_key] = ev.b
    if ev.kind == pb.EVENT_KIND_SESSION_ACCEPTED:
        out["remote"] = remote_address(ev)
    if rel is not None:
        s = ev.segment
        out["seq"] = s.seq
        out["ack"] = s.ack
        if rel:
            out["rel_seq"] = s.rel_seq
            out["rel_ack"] = s.rel_ack
        out["flags"] = _names.flags_letters(s.flags)
        out["len"] = s.len
        out["window"] = s.window
        out["window_bytes"] = s.window_bytes
        if s.sack_blocks:
            out["sack"] = [[b.left, b.right] for b in s.sack_blocks]
            if rel:
                out["rel_sack"] = [[b.rel_left, b.rel_right] for b in s.sack_blocks]
        if s.HasField("ts_val"):
            out["ts_val"] = s.ts_val
            out["ts_ecr"] = s.ts_ecr
        options: Dict[str, Any] = {}
        if s.opt_mss:
            options["mss"] = s.opt_mss
        if s.HasField("opt_wscale"):
            options["wscale"] = s.opt_wscale
        if s.opt_sack_permitted:
            options["sack_permitted"] = True
        if s.opt_sack_blocks:
            options["sack_blocks"] = s.opt_sack_blocks
        if s.opt_timestamp:
            options["timestamp"] = True
        out["options"] = options
    if tcb:
        t = ev.tcb
        d: Dict[str, Any] = {"state": _names.state_name(t.state)}
        for name in TCB_FIELDS:
            d[name] = tcb_value(t, name)
        out["tcb"] = d
    return out


def event_from_dict(d: Mapping[str, Any]) -> pb.Event:
    """Parses a JSON Lines record (from :func:`event_to_dict`, ``tcpemu watch
    --json`` or tcpemu-sim ``--events``) back into a tcpemu.v1.Event."""
    kind = _names.kind(str(d["kind"]))
    ev = pb.Event(
        time_ns=int(d.get("time_ns", 0)),
        kind=kind,  # type: ignore[arg-type]
        network_id=int(d.get("network_id", 0)),
        session_id=int(d.get("session_id", 0)),
        link_id=int(d.get("link_id", 0)),
    )
    if d.get("endpoint") in ("client", "server"):
        ev.endpoint = _names.endpoint(d["endpoint"])  # type: ignore[assignment]
    reason_key, a_key, b_key, _, _ = _LAYOUT.get(kind, (None, None, None, None, False))
    if reason_key is not None:
        ev.reason = str(d.get(reason_key, ""))
    if a_key is not None:
        ev.a = int(d.get(a_key, 0))
    if b_key is not None:
        ev.b = int(d.get(b_key, 0))
    if kind == pb.EVENT_KIND_SESSION_ACCEPTED and d.get("remote"):
        ev.a = int(ipaddress.IPv4Address(str(d["remote"])))
    if "old_state" in d:
        ev.old_state = _names.state(d["old_state"])  # type: ignore[assignment]
    if "new_state" in d:
        ev.new_state = _names.state(d["new_state"])  # type: ignore[assignment]
    if "seq" in d:
        s = ev.segment
        s.seq = int(d["seq"])
        s.ack = int(d.get("ack", 0))
        s.rel_seq = int(d.get("rel_seq", 0))
        s.rel_ack = int(d.get("rel_ack", 0))
        s.len = int(d.get("len", 0))
        s.window = int(d.get("window", 0))
        s.window_bytes = int(d.get("window_bytes", 0))
        blocks = d.get("sack") or []
        rel_blocks = d.get("rel_sack") or [[0, 0]] * len(blocks)
        if len(rel_blocks) != len(blocks):
            raise ValueError(f"{len(blocks)} sack blocks but {len(rel_blocks)} rel_sack")
        for (left, right), (rel_left, rel_right) in zip(blocks, rel_blocks):
            s.sack_blocks.add(
                left=int(left), right=int(right), rel_left=int(rel_left), rel_right=int(rel_right)
            )
        if "ts_val" in d:
            s.ts_val = int(d["ts_val"])
            s.ts_ecr = int(d.get("ts_ecr", 0))
        flags = d.get("flags", 0)
        s.flags = _names.flags_from_letters(flags) if isinstance(flags, str) else int(flags)
        options = d.get("options") or {}
        s.opt_mss = int(options.get("mss", 0))
        if "wscale" in options:
            s.opt_wscale = int(options["wscale"])
        s.opt_sack_permitted = bool(options.get("sack_permitted", False))
        s.opt_sack_blocks = int(options.get("sack_blocks", 0))
        s.opt_timestamp = bool(options.get("timestamp", False))
    t = d.get("tcb")
    if isinstance(t, Mapping):
        ev.tcb.state = _names.state(t.get("state", "UNSPECIFIED"))  # type: ignore[assignment]
        for name in TCB_FIELDS:
            if name in t:
                value = t[name]
                if name in TCB_BOOL_FIELDS:
                    value = bool(value)
                elif name == "cc_phase":
                    value = _names.cc_phase(value)
                else:
                    value = int(value)
                setattr(ev.tcb, name, value)
    return ev


def to_event(item: EventLike) -> pb.Event:
    return item if isinstance(item, pb.Event) else event_from_dict(item)


def _flags_tcpdump(bits: int) -> str:
    # tcpdump's notation: S F R P U E W, and "." for ACK.
    out = ""
    for bit, c in ((2, "S"), (1, "F"), (4, "R"), (8, "P"), (32, "U"), (64, "E"), (128, "W")):
        if bits & bit:
            out += c
    if bits & 16:
        out += "."
    return out or "none"


def _peer(endpoint: int) -> str:
    return "server" if endpoint == pb.ENDPOINT_CLIENT else "client"


def format_event(item: Union[EventLike, Gap]) -> str:
    """One line per event, in the manner of tcpdump."""
    if isinstance(item, Gap):
        return f"-- {item.lost} events lost (the stream was read too slowly) --"
    ev = to_event(item)
    head = f"{ev.time_ns / 1e9:12.6f} s{ev.session_id}"
    name = _names.kind_name(ev.kind)
    ep = _names.endpoint_name(ev.endpoint)
    k = ev.kind
    if k in (
        pb.EVENT_KIND_SEGMENT_SENT,
        pb.EVENT_KIND_SEGMENT_RECEIVED,
        pb.EVENT_KIND_SEGMENT_DROPPED,
        pb.EVENT_KIND_SEGMENT_MANGLED,
    ):
        s = ev.segment
        if k == pb.EVENT_KIND_SEGMENT_RECEIVED:
            src, dst, verb = _peer(ev.endpoint), ep, "recv"
        else:
            src, dst = ep, _peer(ev.endpoint)
            verb = {
                pb.EVENT_KIND_SEGMENT_SENT: "sent",
                pb.EVENT_KIND_SEGMENT_DROPPED: "DROP",
                pb.EVENT_KIND_SEGMENT_MANGLED: "mangle",
            }[k]
        rel = k in (pb.EVENT_KIND_SEGMENT_SENT, pb.EVENT_KIND_SEGMENT_RECEIVED)
        seq = s.rel_seq if rel else s.seq
        if k == pb.EVENT_KIND_SEGMENT_RECEIVED and s.flags & 2:
            seq = 0  # a SYN's seq is the ISS, which the receiver does not know yet
        ack = s.rel_ack if rel else s.ack
        parts = [f"{head} {verb:6} {src} > {dst}: Flags [{_flags_tcpdump(s.flags)}]"]
        parts.append(f"seq {seq}:{(seq + s.len) & 0xFFFFFFFF}" if s.len else f"seq {seq}")
        if s.flags & 16:
            parts.append(f"ack {ack}")
        parts.append(f"win {s.window}")
        options = []
        if s.opt_mss:
            options.append(f"mss {s.opt_mss}")
        if s.HasField("opt_wscale"):
            options.append(f"wscale {s.opt_wscale}")
        if s.opt_sack_permitted:
            options.append("sackOK")
        if s.HasField("ts_val"):
            options.append(f"TS val {s.ts_val} ecr {s.ts_ecr}")
        if s.sack_blocks:
            edges = (
                ((b.rel_left, b.rel_right) for b in s.sack_blocks)
                if rel
                else ((b.left, b.right) for b in s.sack_blocks)
            )
            blocks = "".join(f"{{{left}:{right}}}" for left, right in edges)
            options.append(f"sack {len(s.sack_blocks)} {blocks}")
        if options:
            parts.append("options [" + ",".join(options) + "]")
        parts.append(f"length {s.len}")
        line = ", ".join(parts)
        return f"{line} ({ev.reason})" if ev.reason else line
    if k == pb.EVENT_KIND_STATE_CHANGED:
        detail = f"{_names.state_name(ev.old_state)} -> {_names.state_name(ev.new_state)}"
    elif k == pb.EVENT_KIND_TIMER_ARMED:
        detail = f"{ev.reason} deadline {ev.a / 1e9:.6f}"
    elif k == pb.EVENT_KIND_TIMER_FIRED:
        detail = ev.reason
    elif k == pb.EVENT_KIND_APP_WRITE:
        detail = f"requested {ev.a} accepted {ev.b}"
    elif k == pb.EVENT_KIND_APP_READ:
        detail = f"{ev.a} bytes"
    elif k == pb.EVENT_KIND_RTT_SAMPLE:
        t = ev.tcb
        detail = (
            f"rtt {ev.a / 1e6:.3f} ms, srtt {t.srtt_ns / 1e6:.3f} ms, rto {t.rto_ns / 1e6:.1f} ms"
        )
    elif k == pb.EVENT_KIND_CWND_CHANGED:
        detail = f"{ev.a} -> {ev.b} (ssthresh {ev.tcb.ssthresh})"
    elif k == pb.EVENT_KIND_CONNECTION_ERROR:
        detail = ev.reason
    elif k == pb.EVENT_KIND_SESSION_ACCEPTED:
        detail = f"from {remote_address(ev)} on link {ev.link_id}"
    elif k == pb.EVENT_KIND_CLOCK_BEHIND:
        return f"{ev.time_ns / 1e9:12.6f} n{ev.network_id} {name} by {ev.a / 1e6:.3f} ms"
    elif k == pb.EVENT_KIND_CLOCK_CAUGHT_UP:
        return (
            f"{ev.time_ns / 1e9:12.6f} n{ev.network_id} {name} after {ev.b / 1e6:.3f} ms"
            f" (at most {ev.a / 1e6:.3f} ms behind)"
        )
    else:
        detail = ""
    return f"{head} {name} {ep} {detail}".rstrip()


def write_jsonl(events: Iterable[Union[EventLike, Gap]], out: IO[str]) -> int:
    """Writes events as JSON Lines; a Gap becomes ``{"kind": "gap", "lost": N}``.
    Returns the number of lines written."""
    n = 0
    for item in events:
        if isinstance(item, Gap):
            rec: Mapping[str, Any] = {"kind": "gap", "lost": item.lost}
        elif isinstance(item, pb.Event):
            rec = event_to_dict(item)
        else:
            rec = item
        out.write(json.dumps(rec, separators=(",", ":")))
        out.write("\n")
        n += 1
    return n


def read_jsonl(source: Union[str, IO[str]]) -> Iterator[Union[pb.Event, Gap]]:
    """Reads a JSON Lines trace (a path or an open file): events and gaps."""
    if isinstance(source, str):
        with open(source, encoding="utf-8") as f:
            yield from read_jsonl(f)
        return
    for lineno, line in enumerate(source, 1):
        line = line.strip()
        if not line:
            continue
        try:
            d = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"line {lineno}: not JSON: {e}") from None
        if d.get("kind") == "gap":
            yield Gap(int(d.get("lost", 0)))
            continue
        try:
            yield event_from_dict(d)
        except (KeyError, ValueError) as e:
            raise ValueError(f"line {lineno}: not a tcpemu event: {e}") from None
