# Generated from tcpemu/_async/handles.py by tools/gen_sync.py (unasync): do not
# edit. Change the asyncio module and run 'python tools/gen_sync.py' in
# clients/python.
"""The resource handles the client returns: :class:`Network`, :class:`Link`,
:class:`Session`, :class:`Interface`, :class:`Listener` and :class:`Proxy`."""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any, List, Optional, Union

import tcpemu._sync_support as _support
from tcpemu import _names, _pcap
from tcpemu import _requests as rq
from tcpemu._sync.streams import EventStream, ProxyEventStream
from tcpemu._common import (
    describe,
    state_reached,
    target_name,
    wait_target,
)
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb
from tcpemu._proxy_view import ProxyView
from tcpemu._views import InterfaceView, LinkView, ListenerView, NetworkView, SessionView
from tcpemu.errors import (
    DeadlineExceeded,
    FailedPrecondition,
    NotFound,
    TcpemuError,
)
from tcpemu.model import AdvanceResult, Fault, Gap, ReadResult, SessionSnapshot
from tcpemu.spec import ReaderArg
from tcpemu.toxics import Toxic, ToxicArg
from tcpemu.units import Duration, parse_duration

if TYPE_CHECKING:
    from tcpemu._sync.client import Client

_id = rq.ident


class Network(NetworkView):
    """A clock domain (tcpemu.v1.Network). Attributes are as of the last
    fetch; :meth:`refresh` fetches again."""

    def __init__(self, client: Client, proto: pb.Network) -> None:
        self.client = client
        self.proto = proto

    def __repr__(self) -> str:
        return (
            f"{_support.REPR_PREFIX}Network(id={self.id}, clock={self.clock!r}, "
            f"seed={self.seed})"
        )

    def refresh(self) -> Network:
        self.proto = (self.client.network(self.id)).proto
        return self

    def advance(self, duration: Duration) -> AdvanceResult:
        """Runs this VIRTUAL network's clock forward by `duration`."""
        return self.client.advance(self, duration)

    def advance_until_idle(self, limit: Optional[Duration] = None) -> AdvanceResult:
        """Runs this VIRTUAL network until nothing is scheduled."""
        return self.client.advance_until_idle(self, limit)

    def create_link(self, *args: Any, **kwargs: Any) -> Link:
        """:meth:`Client.create_link` on this network."""
        return self.client.create_link(*args, network=self, **kwargs)

    def links(self) -> List[Link]:
        return self.client.links(self)

    def create_interface(self, address: str, **kwargs: Any) -> Interface:
        """:meth:`Client.create_interface` on this (REALTIME) network."""
        return self.client.create_interface(address, network=self, **kwargs)

    def interfaces(self) -> List[Interface]:
        return self.client.interfaces(self)

    def create_proxy(self, name: str, *args: Any, **kwargs: Any) -> Proxy:
        """:meth:`Client.create_proxy` on this (REALTIME) network."""
        return self.client.create_proxy(name, *args, network=self, **kwargs)

    def proxies(self) -> List[Proxy]:
        return self.client.proxies(self)

    def sessions(self) -> List[Session]:
        return self.client.sessions(network=self)

    def events(self, **kwargs: Any) -> EventStream:
        """:meth:`Client.events` of this network."""
        return self.client.events(network=self, **kwargs)

    def delete(self) -> None:
        self.client.delete_network(self)


class Link(LinkView):
    """An emulated path (tcpemu.v1.Link): ``forward`` is client to server.
    Attributes are as of the last fetch; :meth:`refresh` fetches again."""

    def __init__(self, client: Client, proto: pb.Link) -> None:
        self.client = client
        self.proto = proto

    def __repr__(self) -> str:
        return f"{_support.REPR_PREFIX}Link(id={self.id}, network_id={self.network_id})"

    def refresh(self) -> Link:
        self.proto = (self.client.link(self.id)).proto
        return self

    def update(self, *args: Any, **kwargs: Any) -> Link:
        """:meth:`Client.update_link` on this link; refreshes it."""
        self.proto = (self.client.update_link(self, *args, **kwargs)).proto
        return self

    def open_session(self, **kwargs: Any) -> Session:
        """:meth:`Client.open_session` across this link."""
        return self.client.open_session(self, **kwargs)

    def inject_fault(self, **kwargs: Any) -> Fault:
        """:meth:`Client.inject_fault` on this link."""
        return self.client.inject_fault(link=self, **kwargs)

    def clear_faults(self) -> None:
        self.client.clear_faults(link=self)

    def sessions(self) -> List[Session]:
        """The sessions across this link, in id order."""
        return self.client.sessions(link=self)

    def delete(self) -> None:
        self.client.delete_link(self)


class Session(SessionView):
    """One TCP connection: both endpoints in the daemon, or, for a session
    with a real host (``remote`` set), the engine's endpoint only, which the
    calls below then default to. ``proto`` is the tcpemu.v1.Session last
    fetched; :meth:`snapshot` fetches a new one."""

    def __init__(self, client: Client, proto: pb.Session) -> None:
        self.client = client
        self.proto = proto
        self._network: Optional[Network] = None

    def __repr__(self) -> str:
        return (
            f"{_support.REPR_PREFIX}Session(id={self.id}, link_id={self.link_id}, "
            f"network_id={self.network_id})"
        )

    @_support.sync_property
    def network(self) -> Network:
        """The session's network (fetched once); a property in the blocking
        client, a coroutine method in tcpemu.aio."""
        return self._fetch_network()

    def _fetch_network(self) -> Network:
        if self._network is None:
            self._network = self.client.network(self.network_id)
        return self._network

    def snapshot(self) -> SessionSnapshot:
        """Both endpoints' state, TCB and counters now (GetSession)."""
        req = pb.GetSessionRequest(session_id=self.id)
        self.proto = self.client._call("GetSession", req)
        return SessionSnapshot.from_proto(self.proto)

    def write(
        self,
        data: Optional[rq.Data] = None,
        *,
        fill: Optional[int] = None,
        push: bool = False,
        wait: Optional[Duration] = None,
        endpoint: Union[str, int, None] = None,
    ) -> int:
        """Hands bytes to an endpoint's send buffer (the client's, or the
        engine's in a session with a real host): `data`, or `fill` bytes of a
        seeded pattern. Returns how many were accepted; with `wait`, waits up
        to that long for room until everything is accepted."""
        req = rq.write(self.id, self._endpoint(endpoint, "client"), data, fill, push, wait)
        return int((self.client._call("Write", req, wait=wait)).accepted)

    def read(
        self,
        max_bytes: int = 65536,
        *,
        wait: Optional[Duration] = None,
        endpoint: Union[str, int, None] = None,
    ) -> ReadResult:
        """Reads up to `max_bytes` an endpoint received (the server's, or the
        engine's in a session with a real host; its reader must be "manual");
        with `wait`, waits up to that long for at least one byte."""
        req = rq.read(self.id, self._endpoint(endpoint, "server"), max_bytes, wait)
        resp = self.client._call("Read", req, wait=wait)
        return ReadResult(resp.data, resp.eof)

    def close(self, endpoint: Union[str, int, None] = None, *, rst: bool = False) -> str:
        """Closes one endpoint (the client, or the engine's in a session with
        a real host) with a FIN (or an RST); returns its new state."""
        req = rq.close(self.id, self._endpoint(endpoint, "client"), rst)
        return _names.state_name((self.client._call("Close", req)).state)

    def set_reader(self, reader: ReaderArg, endpoint: Union[str, int, None] = None) -> None:
        """Changes how an endpoint's application reads (the server's, or the
        engine's in a session with a real host): "auto", "manual" or bytes/s."""
        req = rq.set_reader(self.id, self._endpoint(endpoint, "server"), reader)
        self.client._call("SetReader", req)

    def export_pcap(self, dest: _pcap.PcapDest) -> int:
        """:meth:`Client.export_pcap` of this session (opened with ``capture=True``)."""
        return self.client.export_pcap(self, dest)

    def inject_fault(self, action: Union[str, int] = "drop", **kwargs: Any) -> Fault:
        """:meth:`Client.inject_fault` matching only this session's segments."""
        return self.client.inject_fault(session=self, action=action, **kwargs)

    def clear_faults(self) -> None:
        """Removes every fault rule of this session's link."""
        self.client.clear_faults(session=self)

    def events(
        self,
        kinds: rq.KindsArg = None,
        *,
        replay: bool = True,
        endpoint: Union[str, int, None] = None,
        max_batch: int = 0,
        until_destroyed: bool = True,
    ) -> EventStream:
        """This session's events, from its retained history on (``replay``);
        with `until_destroyed` the stream ends after the session is destroyed.
        See :meth:`Client.events`."""
        return self.client.events(
            network=self.network_id,
            sessions=[self.id],
            kinds=kinds,
            endpoint=endpoint,
            replay=replay,
            max_batch=max_batch,
            until_destroyed=self if until_destroyed else None,
        )

    def wait_for(
        self,
        state: Union[str, int],
        endpoint: Union[str, int, None] = None,
        timeout: float = 10.0,
        *,
        step: Duration = "1ms",
        max_step: Duration = "100ms",
    ) -> SessionSnapshot:
        """Waits until `endpoint` (the client, or the engine's in a session
        with a real host) is in `state` ("ESTABLISHED", "TIME_WAIT", ..., or
        "destroyed" for the whole session) and returns the snapshot.

        On a REALTIME network it polls for up to `timeout` seconds. On a
        VIRTUAL network it advances the clock itself, by `step` at first and
        doubling up to `max_step`, for up to `timeout` seconds of virtual
        time; FailedPrecondition if the network goes idle first.
        """
        target = wait_target(state)
        ep_name = _names.endpoint_name(_names.endpoint(self._endpoint(endpoint, "client")))
        virtual = (self._fetch_network()).virtual
        limit_ns = round(timeout * 1e9)
        step_ns = parse_duration(step)
        max_ns = max(step_ns, parse_duration(max_step))
        waited = 0
        deadline = time.monotonic() + timeout
        while True:
            snap = self.snapshot()
            if state_reached(snap, ep_name, target):
                return snap
            if virtual:
                if waited >= limit_ns:
                    break
                n = min(step_ns, limit_ns - waited)
                result = self.client.advance(self.network_id, n / 1e9)
                waited += n
                step_ns = min(step_ns * 2, max_ns)
                if result.idle:
                    snap = self.snapshot()
                    if state_reached(snap, ep_name, target):
                        return snap
                    raise FailedPrecondition(
                        f"session {self.id}: {describe(snap, ep_name)} and nothing is scheduled "
                        f"on network {self.network_id}, so it will not reach {target_name(state)}"
                    )
            else:
                if time.monotonic() >= deadline:
                    break
                _support.sleep(0.005)
        raise DeadlineExceeded(
            f"session {self.id}: {describe(snap, ep_name)} after {timeout}s, "
            f"not {target_name(state)}"
        )

    def delete(self) -> None:
        """Forgets the session (its final state and history); aborts it if live."""
        self.client.delete_session(self)


class Interface(InterfaceView):
    """A TAP device joining a REALTIME network to real hosts
    (tcpemu.v1.Interface). Its id is also a link id: ``egress`` (engine to
    host) is the link's forward direction, ``ingress`` its reverse.
    Attributes are as of the last fetch; :meth:`refresh` fetches again."""

    def __init__(self, client: Client, proto: pb.Interface) -> None:
        self.client = client
        self.proto = proto

    def __repr__(self) -> str:
        return (
            f"{_support.REPR_PREFIX}Interface(id={self.id}, name={self.name!r}, "
            f"address={self.address!r})"
        )

    def refresh(self) -> Interface:
        self.proto = (self.client.interface(self.id)).proto
        return self

    def update(self, *args: Any, **kwargs: Any) -> Interface:
        """:meth:`Client.update_interface` on this interface; refreshes it."""
        self.proto = (self.client.update_interface(self, *args, **kwargs)).proto
        return self

    def connect(self, address: str, port: int, **kwargs: Any) -> Session:
        """:meth:`Client.connect` through this interface."""
        return self.client.connect(self, address, port, **kwargs)

    def listen(self, port: int, **kwargs: Any) -> Listener:
        """:meth:`Client.listen` on this interface."""
        return self.client.listen(self, port, **kwargs)

    def link(self) -> Link:
        """This interface as a link (forward: egress, reverse: ingress)."""
        return self.client.link(self.id)

    def inject_fault(self, **kwargs: Any) -> Fault:
        """:meth:`Client.inject_fault` on this interface's link; `direction`
        takes "egress" and "ingress" as well."""
        return self.client.inject_fault(link=self.id, **kwargs)

    def clear_faults(self) -> None:
        self.client.clear_faults(link=self.id)

    def sessions(self) -> List[Session]:
        """The sessions through this interface, opened or accepted."""
        return self.client.sessions(link=self.id)

    def delete(self) -> None:
        self.client.delete_interface(self)


class Listener(ListenerView):
    """A port an interface listens on (tcpemu.v1.Listener). The daemon accepts
    each connection a host opens as a new session at once; :meth:`accept`
    returns them in order, from the SESSION_ACCEPTED events of the
    interface. Use it as a context manager, or call :meth:`delete`."""

    def __init__(self, client: Client, proto: pb.Listener, stream: EventStream) -> None:
        self.client = client
        self.proto = proto
        self._stream = stream
        # Session ids announced; a TcpemuError or None (stream ended) last.
        self._queue: _support.Mailbox[Union[int, TcpemuError, None]] = _support.Mailbox()
        self._pumping = _support.Background(self._pump)

    def __repr__(self) -> str:
        return (
            f"{_support.REPR_PREFIX}Listener(interface_id={self.interface_id}, "
            f"port={self.port})"
        )

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(NotFound):  # the interface is gone, with its listeners
            self.delete()

    def _pump(self) -> None:
        try:
            for ev in self._stream:
                if not isinstance(ev, Gap) and self._announces(ev):
                    self._queue.put(ev.session_id)
        except TcpemuError as e:
            self._queue.put(e)
        finally:
            self._queue.put(None)

    def accept(self, timeout: Optional[float] = None) -> Session:
        """The next session a host opened to this port, waiting up to
        `timeout` seconds (None: no limit); DeadlineExceeded when none came.
        The session is live already: its reader may have consumed data."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                item = self._queue.get(left)
            except TimeoutError:
                raise DeadlineExceeded(
                    f"no connection to interface {self.interface_id} port {self.port} "
                    f"within {timeout}s"
                ) from None
            if item is None or isinstance(item, TcpemuError):
                self._queue.put(item)  # for the next call
                if item is not None:
                    raise item
                raise FailedPrecondition(
                    f"the listener on interface {self.interface_id} port {self.port} is closed"
                )
            try:
                session = self.client.session(item)
            except NotFound:
                continue  # deleted already
            if self._owns(session.proto):
                return session

    def close(self) -> None:
        """Stops watching for accepted sessions, leaving the daemon's
        listener in place."""
        self._stream.cancel()
        self._pumping.settle()

    def delete(self) -> None:
        """Stops listening (sessions already accepted go on) and watching."""
        try:
            self.client.delete_listener(self.interface_id, self.port)
        finally:
            self.close()


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
            f"{_support.REPR_PREFIX}Proxy(id={self.id}, name={self.name!r}, "
            f"listen_address={self.listen_address!r}, upstream={self.upstream!r})"
        )

    def __enter__(self) -> Proxy:
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(NotFound):
            self.delete()

    def refresh(self) -> Proxy:
        self.proto = (self.client.proxy(self.id)).proto
        return self

    def update(self, **kwargs: Any) -> Proxy:
        """:meth:`Client.update_proxy <tcpemu.Client.update_proxy>` on this
        proxy (only the settings given change); refreshes it."""
        self.proto = (self.client.update_proxy(self.id, **kwargs)).proto
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
        return [
            s for s in self.client.sessions(link=self.link_id) if s.proto.proxy_id == self.id
        ]

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
