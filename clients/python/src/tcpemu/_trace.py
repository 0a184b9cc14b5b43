"""Normalising a trace for analysis and plots: events from the daemon or from
JSON Lines become tcpemu.v1.Event messages, gaps are counted, and dropped or
mangled segments, which the link reports without relative numbers (and, from
the daemon, without a session id), get their sequence numbers relative to the
sender's ISS and are attributed to the session whose sequence space they fall
in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Tuple, Union

from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb
from tcpemu.events import EventLike, to_event
from tcpemu.model import Gap

_LINK_KINDS = (pb.EVENT_KIND_SEGMENT_DROPPED, pb.EVENT_KIND_SEGMENT_MANGLED)
_M32 = 0xFFFFFFFF
_SYN = 2

Key = Tuple[int, int, int]  # network, session, endpoint


def _peer(endpoint: int) -> int:
    return pb.ENDPOINT_SERVER if endpoint == pb.ENDPOINT_CLIENT else pb.ENDPOINT_CLIENT


@dataclass
class Trace:
    events: List[pb.Event]
    # The session of each event: its own, or the one a link event is
    # attributed to (0 when none fits).
    session_ids: List[int] = field(default_factory=list)
    lost: int = 0
    iss: Dict[Key, int] = field(default_factory=dict)

    def _key(self, ev: pb.Event, i: int, endpoint: int) -> Key:
        return (ev.network_id, self.session_ids[i], endpoint)

    def rel_seq(self, i: int) -> int:
        """Relative sequence number of segment event i."""
        ev = self.events[i]
        if ev.kind in _LINK_KINDS:
            base = self.iss.get(self._key(ev, i, ev.endpoint))
            return ev.segment.seq if base is None else (ev.segment.seq - base) & _M32
        if ev.kind == pb.EVENT_KIND_SEGMENT_RECEIVED and ev.segment.flags & _SYN:
            return 0  # the SYN's seq is the ISS, before the receiver learns it
        return ev.segment.rel_seq

    def rel_ack(self, i: int) -> int:
        ev = self.events[i]
        if ev.kind not in _LINK_KINDS:
            return ev.segment.rel_ack
        base = self.iss.get(self._key(ev, i, _peer(ev.endpoint)))
        return ev.segment.ack if base is None else (ev.segment.ack - base) & _M32

    def rel_sack(self, i: int) -> List[Tuple[int, int]]:
        """SACK blocks of segment event i, relative like its rel_ack."""
        ev = self.events[i]
        blocks = ev.segment.sack_blocks
        if ev.kind not in _LINK_KINDS:
            return [(b.rel_left, b.rel_right) for b in blocks]
        base = self.iss.get(self._key(ev, i, _peer(ev.endpoint)))
        if base is None:
            return [(b.left, b.right) for b in blocks]
        return [((b.left - base) & _M32, (b.right - base) & _M32) for b in blocks]

    def sessions(self) -> List[int]:
        return sorted({s for s in self.session_ids if s})


def load(items: Iterable[Union[EventLike, Gap]]) -> Trace:
    trace = Trace(events=[])
    # Per (network, link, endpoint): sessions there, with the end of the
    # sequence space each endpoint used.
    extent: Dict[Key, int] = {}
    on_link: Dict[Tuple[int, int, int], List[int]] = {}
    for item in items:
        if isinstance(item, Gap):
            trace.lost += item.lost
            continue
        ev = to_event(item)
        trace.events.append(ev)
        trace.session_ids.append(ev.session_id)
        if ev.kind == pb.EVENT_KIND_SEGMENT_SENT and ev.session_id:
            s = ev.segment
            key = (ev.network_id, ev.session_id, ev.endpoint)
            if key not in trace.iss:
                trace.iss[key] = (s.seq - s.rel_seq) & _M32
                on_link.setdefault((ev.network_id, ev.link_id, ev.endpoint), []).append(
                    ev.session_id
                )
            end = s.rel_seq + s.len + 1
            if end > extent.get(key, 0):
                extent[key] = end
    for i, ev in enumerate(trace.events):
        if ev.session_id or ev.kind not in _LINK_KINDS:
            continue
        fits = [
            sid
            for sid in on_link.get((ev.network_id, ev.link_id, ev.endpoint), ())
            if (ev.segment.seq - trace.iss[(ev.network_id, sid, ev.endpoint)]) & _M32
            < extent[(ev.network_id, sid, ev.endpoint)]
        ]
        if len(fits) == 1:
            trace.session_ids[i] = fits[0]
    return trace
