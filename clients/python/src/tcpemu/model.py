"""Plain result types shared by the blocking and the asyncio clients."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Mapping, NamedTuple, Optional, Tuple

from google.protobuf.message import Message

from tcpemu import _names
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb
from tcpemu.spec import seconds

__all__ = [
    "AdvanceResult",
    "Counters",
    "EndpointSnapshot",
    "Fault",
    "Gap",
    "ReadResult",
    "Remote",
    "SessionSnapshot",
]


@dataclass(frozen=True)
class Gap:
    """In an event stream: this many events were lost right here because the
    stream was read too slowly (the daemon drops the oldest queued events)."""

    lost: int


class AdvanceResult(NamedTuple):
    """A virtual network's time after AdvanceTime, in seconds, and whether
    nothing is scheduled any more."""

    now: float
    idle: bool


class ReadResult(NamedTuple):
    """Bytes read, and whether the peer's FIN came and every byte was read."""

    data: bytes
    eof: bool


class Remote(NamedTuple):
    """The real host at the far end of a session, reached through interface
    `interface_id`."""

    interface_id: int
    address: str
    port: int

    @classmethod
    def from_proto(cls, p: pb.Session) -> Optional[Remote]:
        """The session's remote host, or None for a session across a link."""
        if not p.HasField("remote"):
            return None
        return cls(p.remote.interface_id, p.remote.address, p.remote.port)


class Counters(Mapping[str, int]):
    """Counters the daemon keeps (a tcpemu.v1.PathCounters,
    InterfaceCounters or EndpointCounters): each one an attribute,
    ``c.packets_sent``, and a key, ``dict(c)``. Printed, it shows every
    counter, zeros included (the message itself prints nothing for a field
    at zero). ``proto`` is the message."""

    __slots__ = ("proto",)

    def __init__(self, proto: Message) -> None:
        self.proto = proto

    def __getattr__(self, name: str) -> int:
        # Only for names that are not attributes of the class: the counters.
        if name.startswith("_") or name == "proto":
            raise AttributeError(name)
        if name not in self.proto.DESCRIPTOR.fields_by_name:
            raise AttributeError(f"{self.proto.DESCRIPTOR.name} has no counter {name!r}")
        return int(getattr(self.proto, name))

    def __getitem__(self, name: str) -> int:
        if name not in self.proto.DESCRIPTOR.fields_by_name:
            raise KeyError(name)
        return int(getattr(self.proto, name))

    def __iter__(self) -> Iterator[str]:
        return (f.name for f in self.proto.DESCRIPTOR.fields)

    def __len__(self) -> int:
        return len(self.proto.DESCRIPTOR.fields)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Counters):
            return bool(self.proto == other.proto)
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={value}" for name, value in self.items())
        return f"{self.proto.DESCRIPTOR.name}({fields})"


@dataclass(frozen=True)
class Fault:
    """An installed fault rule: one id per direction, on link `link_id`."""

    ids: Tuple[int, ...]
    link_id: int


@dataclass(frozen=True)
class EndpointSnapshot:
    """One endpoint of a session (tcpemu.v1.EndpointState)."""

    state: str
    error: Optional[str]
    port: int
    mss: int
    bytes_written: int
    bytes_read: int
    readable: int
    send_buffer_free: int
    write_sha256: Optional[str]
    read_sha256: Optional[str]
    tcb: pb.Tcb = field(repr=False)
    counters: Counters = field(repr=False)

    @classmethod
    def from_proto(cls, p: pb.EndpointState) -> EndpointSnapshot:
        return cls(
            state=_names.state_name(p.tcb.state),
            error=_names.error_name(p.error),
            port=p.port,
            mss=p.mss,
            bytes_written=p.bytes_written,
            bytes_read=p.bytes_read,
            readable=p.readable,
            send_buffer_free=p.send_buffer_free,
            write_sha256=p.write_sha256.hex() or None,
            read_sha256=p.read_sha256.hex() or None,
            tcb=p.tcb,
            counters=Counters(p.counters),
        )

    @property
    def cc_phase(self) -> str:
        """Congestion control's phase: "slow_start", "congestion_avoidance"
        or "recovery" (NewReno, CUBIC); "startup", "drain", "probe_bw" or
        "probe_rtt" (BBR); "none" before the handshake completes."""
        return _names.cc_phase_name(self.tcb.cc_phase)

    @property
    def ecn_ok(self) -> bool:
        """ECN (RFC 3168) was negotiated in the handshake."""
        return self.tcb.ecn_ok

    @property
    def pacing_rate(self) -> int:
        """The rate segments are paced at, bytes/s; 0 when not pacing."""
        return self.tcb.pacing_rate

    @property
    def bandwidth_estimate(self) -> int:
        """BBR's estimate of the bottleneck rate, bytes/s (0 for others)."""
        return self.tcb.bandwidth_estimate

    @property
    def min_rtt(self) -> float:
        """The base round-trip time, seconds: BBR's estimate, the minimum
        RTT seen for the others (0 before any sample)."""
        return self.tcb.min_rtt_ns / 1e9


@dataclass(frozen=True)
class SessionSnapshot:
    """A session as GetSession reports it; times are seconds of network time.

    A session with a real host (``remote`` set) has one endpoint in the
    engine, :attr:`local`: the client of a connection the engine opened, the
    server of one a host opened (``accepted``). The other endpoint is empty.
    """

    id: int
    network_id: int
    link_id: int
    destroyed: bool
    opened_at: float
    destroyed_at: Optional[float]
    client: EndpointSnapshot
    server: EndpointSnapshot
    proto: pb.Session = field(repr=False)
    remote: Optional[Remote] = None
    local_address: Optional[str] = None
    accepted: bool = False
    capture: bool = False

    @classmethod
    def from_proto(cls, p: pb.Session) -> SessionSnapshot:
        return cls(
            id=p.id,
            network_id=p.network_id,
            link_id=p.link_id,
            destroyed=p.destroyed,
            opened_at=seconds(p.opened_at),
            destroyed_at=seconds(p.destroyed_at) if p.HasField("destroyed_at") else None,
            client=EndpointSnapshot.from_proto(p.client),
            server=EndpointSnapshot.from_proto(p.server),
            proto=p,
            remote=Remote.from_proto(p),
            local_address=p.local_address or None,
            accepted=p.accepted,
            capture=p.capture,
        )

    def endpoint(self, name: str) -> EndpointSnapshot:
        """The "client" or the "server" endpoint."""
        return self.client if _names.endpoint(name) == pb.ENDPOINT_CLIENT else self.server

    @property
    def local(self) -> EndpointSnapshot:
        """The engine's endpoint of a session with a real host: the server if
        a host opened it, else the client (also the client of a session
        across a link)."""
        return self.server if self.accepted else self.client
