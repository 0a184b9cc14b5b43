"""Read-only views of the resource messages the daemon returns, shared by the
blocking handles (tcpemu.client) and the asyncio ones (tcpemu.aio)."""

from __future__ import annotations

from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb
from tcpemu.spec import seconds


class NetworkView:
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


class LinkView:
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
    def forward_counters(self) -> pb.PathCounters:
        return self.proto.forward_counters

    @property
    def reverse_counters(self) -> pb.PathCounters:
        return self.proto.reverse_counters

    @property
    def session_count(self) -> int:
        return self.proto.session_count


class SessionView:
    """Identifiers of a tcpemu.v1.Session."""

    proto: pb.Session

    @property
    def id(self) -> int:
        return self.proto.id

    @property
    def network_id(self) -> int:
        return self.proto.network_id

    @property
    def link_id(self) -> int:
        return self.proto.link_id
