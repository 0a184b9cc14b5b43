"""The attributes of a proxy handle (:class:`ProxyView`) and which events
are a proxy's (:class:`_Members`), shared by the blocking and the asyncio
Proxy; see tcpemu.proxy."""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb
from tcpemu._views import _Bound
from tcpemu.errors import NotFound
from tcpemu.model import Counters
from tcpemu.toxics import Toxic, ToxicArg, toxic_proto

__all__ = ["ProxyView", "split_host_port"]


def split_host_port(address: str) -> Tuple[str, int]:
    """``"127.0.0.1:26379"`` -> ``("127.0.0.1", 26379)``; ``"[::1]:80"`` ->
    ``("::1", 80)``."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"{address!r} is not host:port")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


class ProxyView(_Bound):
    """Attributes of a tcpemu.v1.Proxy as of the last fetch."""

    proto: pb.Proxy

    @property
    def id(self) -> int:
        return self.proto.id

    @property
    def network_id(self) -> int:
        return self.proto.network_id

    @property
    def name(self) -> str:
        return self.proto.name

    @property
    def listen(self) -> str:
        """The listen address as given ("127.0.0.1:0")."""
        return self.proto.listen

    @property
    def listen_address(self) -> str:
        """The bound address while enabled ("127.0.0.1:26379": port 0 is
        resolved here); empty while disabled."""
        return self.proto.listen_address

    @property
    def address(self) -> Tuple[str, int]:
        """:attr:`listen_address` as ``(host, port)``, for
        ``socket.create_connection(proxy.address)``."""
        if not self.proto.listen_address:
            raise ValueError(f"proxy {self.name!r} is not listening (disabled)")
        return split_host_port(self.proto.listen_address)

    @property
    def upstream(self) -> str:
        return self.proto.upstream

    @property
    def link_id(self) -> int:
        """The link its connections cross (forward: application to upstream)."""
        return self.proto.link_id

    @property
    def owns_link(self) -> bool:
        """The link was made for this proxy and goes with it."""
        return self.proto.owns_link

    @property
    def enabled(self) -> bool:
        return self.proto.enabled

    @property
    def relay_buffer(self) -> int:
        """Bytes held per direction per connection."""
        return self.proto.relay_buffer

    @property
    def downstream_tcp(self) -> pb.TcpConfig:
        """The TCP configuration of the endpoint facing the application."""
        return self.proto.downstream_tcp

    @property
    def upstream_tcp(self) -> pb.TcpConfig:
        """The TCP configuration of the endpoint facing the upstream host."""
        return self.proto.upstream_tcp

    @property
    def toxics(self) -> List[Toxic]:
        return [Toxic.from_proto(t) for t in self.proto.toxics]

    @property
    def counters(self) -> Counters:
        """Connections accepted, active and refused, upstream failures, bytes
        delivered each way."""
        return Counters(self.proto.counters)

    def _with_toxic(self, toxic: ToxicArg) -> List[pb.Toxic]:
        return [*self.proto.toxics, toxic_proto(toxic)]

    def _without_toxic(self, name: str) -> List[pb.Toxic]:
        kept = [t for t in self.proto.toxics if t.name != name]
        if len(kept) == len(self.proto.toxics):
            have = ", ".join(t.name for t in self.proto.toxics) or "none"
            raise NotFound(f'toxic "{name}" not found in proxy "{self.name}" (toxics: {have})')
        return kept

    def _added(self, before: List[str]) -> Toxic:
        """The toxic of the current proto whose name is not in `before`."""
        for t in self.proto.toxics:
            if t.name not in before:
                return Toxic.from_proto(t)
        return Toxic.from_proto(self.proto.toxics[-1])


class _Members:
    """Which sessions of the proxy's network are the proxy's: those whose
    events name its link and whose Session names it, looked up once each."""

    def __init__(self, proxy: pb.Proxy) -> None:
        self.proxy_id = proxy.id
        self.link_id = proxy.link_id
        self.owns_link = proxy.owns_link
        self.known: Dict[int, bool] = {}

    def answer(self, ev: pb.Event) -> Optional[bool]:
        """Whether `ev` is of the proxy's sessions; None: look the session up."""
        if ev.session_id == 0:
            return False
        hit = self.known.get(ev.session_id)
        if hit is not None:
            return hit
        if ev.link_id != self.link_id:
            self.known[ev.session_id] = False
            return False
        return None

    def learn(self, session_id: int, session: Optional[pb.Session]) -> bool:
        """Records a looked-up session (None: deleted already, so only its
        link can tell)."""
        ours = self.owns_link if session is None else session.proxy_id == self.proxy_id
        self.known[session_id] = ours
        return ours
