"""Read-only views of the resource messages the daemon returns, shared by the
blocking handles (tcpemu.client) and the asyncio ones (tcpemu.aio)."""

from __future__ import annotations

from typing import List, Optional, Union

from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb
from tcpemu.model import Counters, Remote
from tcpemu.spec import seconds


class _Bound:
    """A handle bound to the client (and so the daemon) it came from; the
    handle classes set ``client``."""

    @property
    def replica(self) -> str:
        """The daemon this handle's calls go to: its client's target. Ids
        are per daemon; with several replicas (:class:`tcpemu.ShardedClient`)
        this and the id together name the resource."""
        return str(self.client.target)  # type: ignore[attr-defined]


class NetworkView(_Bound):
    """Attributes of a tcpemu.v1.Network as of the last fetch."""

    proto: pb.Network

    @property
    def id(self) -> int:
        return self.proto.id

    @property
    def clock(self) -> str:
        """Either "virtual" or "realtime"."""
        return "virtual" if self.proto.clock == pb.CLOCK_KIND_VIRTUAL else "realtime"

    @property
    def virtual(self) -> bool:
        return self.proto.clock == pb.CLOCK_KIND_VIRTUAL

    @property
    def seed(self) -> int:
        return self.proto.seed

    @property
    def now(self) -> float:
        """Network time in seconds, as of the last fetch."""
        return seconds(self.proto.now)

    @property
    def link_count(self) -> int:
        return self.proto.link_count

    @property
    def session_count(self) -> int:
        return self.proto.session_count


class LinkView(_Bound):
    """Attributes of a tcpemu.v1.Link as of the last fetch; ``forward`` is
    client to server."""

    proto: pb.Link

    @property
    def id(self) -> int:
        return self.proto.id

    @property
    def network_id(self) -> int:
        return self.proto.network_id

    @property
    def forward(self) -> pb.PathSpec:
        return self.proto.forward

    @property
    def reverse(self) -> pb.PathSpec:
        return self.proto.reverse

    @property
    def forward_counters(self) -> Counters:
        """Packets and bytes client to server, drops by cause, the queue."""
        return Counters(self.proto.forward_counters)

    @property
    def reverse_counters(self) -> Counters:
        return Counters(self.proto.reverse_counters)

    @property
    def session_count(self) -> int:
        return self.proto.session_count


class InterfaceView(_Bound):
    """Attributes of a tcpemu.v1.Interface as of the last fetch: a TAP device
    joining a REALTIME network to real hosts. Its id is also a link id, whose
    forward path is ``egress`` (engine to host) and reverse path ``ingress``."""

    proto: pb.Interface

    @property
    def id(self) -> int:
        return self.proto.id

    @property
    def network_id(self) -> int:
        return self.proto.network_id

    @property
    def name(self) -> str:
        """The TAP device's name, e.g. "tcpemu0"."""
        return self.proto.name

    @property
    def address(self) -> str:
        """The engine's address and prefix, e.g. "10.7.0.2/24"."""
        return self.proto.address

    @property
    def ip(self) -> str:
        """The engine's address without the prefix, e.g. "10.7.0.2"."""
        return self.proto.address.partition("/")[0]

    @property
    def mac(self) -> str:
        return self.proto.mac

    @property
    def mtu(self) -> int:
        return self.proto.mtu

    @property
    def gateway(self) -> Optional[str]:
        return self.proto.gateway or None

    @property
    def egress(self) -> pb.PathSpec:
        """The impairment from the engine to the hosts."""
        return self.proto.egress

    @property
    def ingress(self) -> pb.PathSpec:
        """The impairment from the hosts to the engine."""
        return self.proto.ingress

    @property
    def counters(self) -> Counters:
        """Frames and bytes through the device, ARP and ICMP, drops by cause."""
        return Counters(self.proto.counters)

    @property
    def egress_counters(self) -> Counters:
        return Counters(self.proto.egress_counters)

    @property
    def ingress_counters(self) -> Counters:
        return Counters(self.proto.ingress_counters)

    @property
    def session_count(self) -> int:
        return self.proto.session_count

    @property
    def listening_ports(self) -> List[int]:
        return list(self.proto.listening_ports)

    @property
    def created_device(self) -> bool:
        """The daemon created the TAP device (and removes it on delete)."""
        return self.proto.created_device


class SessionView(_Bound):
    """Identifiers of a tcpemu.v1.Session, and what it is connected to."""

    proto: pb.Session

    @property
    def id(self) -> int:
        return self.proto.id

    @property
    def network_id(self) -> int:
        return self.proto.network_id

    @property
    def link_id(self) -> int:
        """The link it crosses; for a session with a real host, the interface."""
        return self.proto.link_id

    @property
    def remote(self) -> Optional[Remote]:
        """The real host at the far end, or None for a session across a link."""
        return Remote.from_proto(self.proto)

    @property
    def local_address(self) -> Optional[str]:
        """The interface address of a session with a real host."""
        return self.proto.local_address or None

    @property
    def accepted(self) -> bool:
        """A host opened it, through a listener."""
        return self.proto.accepted

    @property
    def capture(self) -> bool:
        """Its packets are kept for export_pcap."""
        return self.proto.capture

    @property
    def local_endpoint(self) -> Optional[str]:
        """The engine's endpoint of a session with a real host ("server" if a
        host opened it, else "client"); None for a session across a link,
        where both endpoints are the engine's."""
        if not self.proto.HasField("remote"):
            return None
        return "server" if self.proto.accepted else "client"

    def _endpoint(self, endpoint: Union[str, int, None], default: str) -> Union[str, int]:
        """`endpoint`, else the engine's endpoint of a session with a real
        host, else `default`."""
        if endpoint is not None:
            return endpoint
        return self.local_endpoint or default


class ListenerView(_Bound):
    """A listener's identity (tcpemu.v1.Listener), and which accepted
    sessions are its own."""

    proto: pb.Listener

    @property
    def interface_id(self) -> int:
        return self.proto.interface_id

    @property
    def port(self) -> int:
        return self.proto.port

    def _announces(self, ev: pb.Event) -> bool:
        """Whether `ev` may announce one of this listener's sessions: a
        SESSION_ACCEPTED on its interface (the event names no port)."""
        return ev.kind == pb.EVENT_KIND_SESSION_ACCEPTED and ev.link_id == self.interface_id

    def _owns(self, session: pb.Session) -> bool:
        return session.accepted and session.server.port == self.port
