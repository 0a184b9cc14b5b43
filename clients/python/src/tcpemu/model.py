"""Plain result types shared by the blocking and the asyncio clients."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple, Optional, Tuple

from tcpemu import _names
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb
from tcpemu.spec import seconds

__all__ = [
    "AdvanceResult",
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
    counters: pb.EndpointCounters = field(repr=False)

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
            counters=p.counters,
        )


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
