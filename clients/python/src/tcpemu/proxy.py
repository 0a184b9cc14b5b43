"""Proxies: a listening socket of the daemon whose every accepted connection
is relayed through an emulated TCP session, across the proxy's link, to a
real upstream host. :class:`Proxy` is the blocking handle
(``client.create_proxy``); ``tcpemu.aio.Proxy`` its asyncio twin.

In a proxied connection's session the client endpoint faces the application
(downstream) and the server endpoint the upstream host: the link's forward
direction carries application to upstream, its reverse upstream to
application.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Tuple, Union

from tcpemu import _requests as rq
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb
from tcpemu._views import _Bound
from tcpemu.errors import NotFound
from tcpemu.model import Counters, Gap
from tcpemu.toxics import Toxic, ToxicArg, toxic_proto

if TYPE_CHECKING:
    from tcpemu.client import Client, EventStream, Link, Session

__all__ = ["Proxy", "ProxyEventStream", "split_host_port"]


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


class ProxyEventStream:
    """The events of a proxy's connections: a stream of its network's events
    that keeps those of the proxy's sessions (and every :class:`Gap`).
    Iterate it; it ends when cancelled (:meth:`cancel`, or leaving a
    ``with`` block)."""

    def __init__(self, client: Client, proxy: pb.Proxy, stream: EventStream) -> None:
        self._client = client
        self._members = _Members(proxy)
        self._stream = stream
        self._gen = self._generate()

    def __iter__(self) -> Iterator[Union[pb.Event, Gap]]:
        return self._gen

    def __next__(self) -> Union[pb.Event, Gap]:
        return next(self._gen)

    def __enter__(self) -> ProxyEventStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cancel()

    @property
    def lost(self) -> int:
        """Events of the network lost because the stream was read too slowly."""
        return self._stream.lost

    @property
    def cancelled(self) -> bool:
        return self._stream.cancelled

    def cancel(self) -> None:
        self._stream.cancel()

    def wait_subscribed(self, timeout: Optional[float] = None) -> bool:
        """See :meth:`tcpemu.EventStream.wait_subscribed`."""
        return self._stream.wait_subscribed(timeout)

    def _generate(self) -> Iterator[Union[pb.Event, Gap]]:
        members = self._members
        for item in self._stream:
            if isinstance(item, Gap):
                yield item
                continue
            ours = members.answer(item)
            if ours is None:
                try:
                    session: Optional[pb.Session] = self._client._call(
                        "GetSession", pb.GetSessionRequest(session_id=item.session_id)
                    )
                except NotFound:
                    session = None
                ours = members.learn(item.session_id, session)
            if ours:
                yield item


class Proxy(ProxyView):
    """A proxy (tcpemu.v1.Proxy): connections to :attr:`listen_address` are
    relayed across link :attr:`link_id` to :attr:`upstream`. Attributes are
    as of the last fetch; :meth:`refresh` fetches again. As a context
    manager it deletes the proxy on leaving."""

    def __init__(self, client: Client, proto: pb.Proxy) -> None:
        self.client = client
        self.proto = proto

    def __repr__(self) -> str:
        return (
            f"Proxy(id={self.id}, name={self.name!r}, listen_address={self.listen_address!r}, "
            f"upstream={self.upstream!r})"
        )

    def __enter__(self) -> Proxy:
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(NotFound):  # deleted already, or its network
            self.delete()

    def refresh(self) -> Proxy:
        self.proto = self.client.proxy(self.id).proto
        return self

    def update(self, **kwargs: Any) -> Proxy:
        """:meth:`Client.update_proxy <tcpemu.Client.update_proxy>` on this
        proxy (only the settings given change); refreshes it."""
        self.proto = self.client.update_proxy(self.id, **kwargs).proto
        return self

    def enable(self) -> Proxy:
        """Listens again (a listen port 0 may get another port)."""
        return self.update(enabled=True)

    def disable(self) -> Proxy:
        """Stops listening and closes the proxy's connections."""
        return self.update(enabled=False)

    def add_toxic(self, toxic: ToxicArg) -> Toxic:
        """Adds a toxic (``tcpemu.toxics.latency("50ms")``, ...) to the
        proxy's current ones and returns it as the daemon named it. It
        applies to connections open now and to new ones. The list is read
        and written back whole: concurrent changes of the toxics by
        another client can be lost."""
        self.refresh()
        before = [t.name for t in self.proto.toxics]
        self.update(toxics=self._with_toxic(toxic))
        return self._added(before)

    def remove_toxic(self, name: str) -> None:
        """Removes the toxic called `name`; NotFound if there is none."""
        self.refresh()
        self.update(toxics=self._without_toxic(name))

    def link(self) -> Link:
        """The proxy's link, to read its counters or change its paths live
        (``proxy.link().update(loss=0.02)``)."""
        return self.client.link(self.link_id)

    def sessions(self) -> List[Session]:
        """The sessions of the proxy's connections, live and finished, in id
        order (each with ``proto.downstream_peer`` and ``upstream_peer``)."""
        return [s for s in self.client.sessions(link=self.link_id) if s.proto.proxy_id == self.id]

    def events(
        self,
        kinds: rq.KindsArg = None,
        *,
        endpoint: Union[str, int, None] = None,
        replay: bool = False,
        max_batch: int = 0,
    ) -> ProxyEventStream:
        """Live events of the proxy's connections, filtered by kinds
        ("segment_sent", ...) and endpoint ("client": the application's
        side, "server": the upstream's). ``replay=True`` starts with what
        the daemon retained of the network's sessions. See
        :meth:`Client.events <tcpemu.Client.events>`."""
        stream = self.client.events(
            network=self.network_id,
            kinds=kinds,
            endpoint=endpoint,
            replay=replay,
            max_batch=max_batch,
        )
        return ProxyEventStream(self.client, self.proto, stream)

    def delete(self) -> None:
        """Closes the proxy's connections (their sessions stay until
        deleted) and its link if it made one."""
        self.client.delete_proxy(self.id)
