"""The asyncio client: the calls of :mod:`tcpemu.client` as coroutines, on
grpc.aio.

    async with tcpemu.aio.Client() as client:
        net = await client.create_network(clock="virtual", seed=1)
        link = await net.create_link(delay="10ms")
        session = await client.open_session(link)
        await session.write(fill=100_000)
        await net.advance_until_idle()
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any, AsyncIterator, List, Optional, Sequence, Set, Tuple, Union

import grpc
import grpc.aio

from tcpemu import _names, _pcap
from tcpemu import _requests as rq
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2_grpc as rpc
from tcpemu._views import InterfaceView, LinkView, ListenerView, NetworkView, SessionView
from tcpemu.client import (
    CHANNEL_OPTIONS,
    _describe,
    _target_name,
    default_target,
    link_params,
    state_reached,
    wait_target,
)
from tcpemu.errors import (
    DeadlineExceeded,
    FailedPrecondition,
    NotFound,
    TcpemuError,
    Unavailable,
    from_rpc_error,
)
from tcpemu.model import AdvanceResult, Fault, Gap, ReadResult, SessionSnapshot
from tcpemu.proxy import ProxyView, _Members
from tcpemu.security import TlsArg, make_aio_channel
from tcpemu.sharding import Targets, _Ring, resolve
from tcpemu.spec import Jitter, PathArg, ReaderArg, TcpConfigArg, seconds
from tcpemu.toxics import Toxic, ToxicArg
from tcpemu.units import Duration, Probability, Rate, Size, parse_duration

__all__ = [
    "Client",
    "EventStream",
    "Interface",
    "Link",
    "Listener",
    "Network",
    "Proxy",
    "ProxyEventStream",
    "Session",
    "ShardedClient",
]

_id = rq.ident


class Client:
    """:class:`tcpemu.Client` for asyncio: the same methods, as coroutines,
    and the same ``tls`` and ``token`` options."""

    def __init__(
        self,
        target: Optional[str] = None,
        timeout: Optional[float] = 10.0,
        *,
        channel: Optional[grpc.aio.Channel] = None,
        options: Sequence[Tuple[str, Any]] = (),
        tls: TlsArg = None,
        token: Optional[str] = None,
    ) -> None:
        self.target = target or default_target()
        self.timeout = timeout
        self._own_channel = channel is None
        if channel is not None and (tls or token is not None):
            raise ValueError("tls and token configure the client's own channel: not with channel=")
        self._channel = channel or make_aio_channel(
            self.target, list(CHANNEL_OPTIONS) + list(options), tls, token
        )
        self._stub: Any = rpc.EmulatorStub(self._channel)  # type: ignore[no-untyped-call]

    def __repr__(self) -> str:
        return f"aio.Client(target={self.target!r}, timeout={self.timeout!r})"

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._own_channel:
            await self._channel.close()

    @property
    def stub(self) -> Any:
        return self._stub

    async def wait_ready(self, timeout: Optional[float] = None) -> None:
        try:
            await asyncio.wait_for(self._channel.channel_ready(), timeout)
        except asyncio.TimeoutError:
            raise Unavailable(f"tcpemud at {self.target} is not reachable") from None

    async def _call(self, method: str, request: Any, wait: Optional[Duration] = None) -> Any:
        timeout = self.timeout
        if timeout is not None and wait is not None:
            timeout += parse_duration(wait) / 1e9
        try:
            return await getattr(self._stub, method)(request, timeout=timeout)
        except grpc.RpcError as e:
            raise from_rpc_error(e) from None

    # ------------------------------------------------------------ networks

    async def create_network(self, clock: Union[str, int] = "realtime", seed: int = 0) -> Network:
        return Network(self, await self._call("CreateNetwork", rq.create_network(clock, seed)))

    async def network(self, network: Union[int, Network] = 0) -> Network:
        req = pb.GetNetworkRequest(network_id=_id(network))
        return Network(self, await self._call("GetNetwork", req))

    async def networks(self) -> List[Network]:
        resp = await self._call("ListNetworks", pb.ListNetworksRequest())
        return [Network(self, n) for n in resp.networks]

    async def delete_network(self, network: Union[int, Network]) -> None:
        await self._call("DeleteNetwork", pb.DeleteNetworkRequest(network_id=_id(network)))

    async def advance(self, network: Union[int, Network], duration: Duration) -> AdvanceResult:
        resp = await self._call("AdvanceTime", rq.advance(_id(network), duration))
        return AdvanceResult(seconds(resp.now), resp.idle)

    async def advance_until_idle(
        self, network: Union[int, Network], limit: Optional[Duration] = None
    ) -> AdvanceResult:
        req = rq.advance(_id(network), until_idle=True, limit=limit)
        resp = await self._call("AdvanceTime", req)
        return AdvanceResult(seconds(resp.now), resp.idle)

    # ------------------------------------------------------------ links

    async def create_link(
        self,
        delay: Optional[Duration] = None,
        rate: Optional[Rate] = None,
        loss: Optional[Probability] = None,
        jitter: Optional[Union[Duration, Jitter]] = None,
        queue: Optional[Size] = None,
        ge_loss: Optional[Tuple[float, float, float, float]] = None,
        reorder: Optional[Union[Probability, Tuple[Probability, int]]] = None,
        duplicate: Optional[Probability] = None,
        corrupt: Optional[Probability] = None,
        mtu: Optional[Size] = None,
        *,
        reverse: Optional[PathArg] = None,
        network: Union[int, Network, None] = None,
    ) -> Link:
        params = link_params(
            delay=delay,
            rate=rate,
            loss=loss,
            jitter=jitter,
            queue=queue,
            ge_loss=ge_loss,
            reorder=reorder,
            duplicate=duplicate,
            corrupt=corrupt,
            mtu=mtu,
        )
        fwd, rev = rq.link_specs(params, reverse)
        req = pb.CreateLinkRequest(network_id=_id(network), forward=fwd, reverse=rev)
        return Link(self, await self._call("CreateLink", req))

    async def link(self, link: Union[int, Link]) -> Link:
        return Link(self, await self._call("GetLink", pb.GetLinkRequest(link_id=_id(link))))

    async def links(self, network: Union[int, Network, None] = None) -> List[Link]:
        resp = await self._call("ListLinks", pb.ListLinksRequest(network_id=_id(network)))
        return [Link(self, p) for p in resp.links]

    async def update_link(
        self,
        link: Union[int, Link],
        delay: Optional[Duration] = None,
        rate: Optional[Rate] = None,
        loss: Optional[Probability] = None,
        jitter: Optional[Union[Duration, Jitter]] = None,
        queue: Optional[Size] = None,
        ge_loss: Optional[Tuple[float, float, float, float]] = None,
        reorder: Optional[Union[Probability, Tuple[Probability, int]]] = None,
        duplicate: Optional[Probability] = None,
        corrupt: Optional[Probability] = None,
        mtu: Optional[Size] = None,
        *,
        reverse: Optional[PathArg] = None,
        replace: bool = False,
    ) -> Link:
        params = link_params(
            delay=delay,
            rate=rate,
            loss=loss,
            jitter=jitter,
            queue=queue,
            ge_loss=ge_loss,
            reorder=reorder,
            duplicate=duplicate,
            corrupt=corrupt,
            mtu=mtu,
        )
        current = None if replace else (await self.link(link)).proto
        fwd, rev = rq.link_specs(params, reverse, current)
        req = pb.UpdateLinkRequest(link_id=_id(link), forward=fwd, reverse=rev)
        return Link(self, await self._call("UpdateLink", req))

    async def delete_link(self, link: Union[int, Link]) -> None:
        await self._call("DeleteLink", pb.DeleteLinkRequest(link_id=_id(link)))

    # ------------------------------------------------------------ sessions

    async def open_session(
        self,
        link: Union[int, Link],
        *,
        client: TcpConfigArg = None,
        server: TcpConfigArg = None,
        client_reader: ReaderArg = None,
        server_reader: ReaderArg = None,
        digest: bool = False,
        client_port: int = 0,
        server_port: int = 0,
        server_closed: bool = False,
        capture: bool = False,
    ) -> Session:
        req = rq.open_session(
            _id(link),
            client=client,
            server=server,
            client_reader=client_reader,
            server_reader=server_reader,
            digest=digest,
            client_port=client_port,
            server_port=server_port,
            server_closed=server_closed,
            capture=capture,
        )
        return Session(self, await self._call("OpenSession", req))

    async def session(self, session: Union[int, Session]) -> Session:
        req = pb.GetSessionRequest(session_id=_id(session))
        return Session(self, await self._call("GetSession", req))

    async def sessions(
        self, network: Union[int, Network, None] = None, link: Union[int, Link, None] = None
    ) -> List[Session]:
        out: List[Session] = []
        token = ""
        while True:
            req = pb.ListSessionsRequest(
                network_id=_id(network), link_id=_id(link), page_size=1000, page_token=token
            )
            resp = await self._call("ListSessions", req)
            out.extend(Session(self, p) for p in resp.sessions)
            token = resp.next_page_token
            if not token:
                return out

    async def delete_session(self, session: Union[int, Session]) -> None:
        await self._call("DeleteSession", pb.DeleteSessionRequest(session_id=_id(session)))

    async def export_pcap(self, session: Union[int, Session], dest: _pcap.PcapDest) -> int:
        """See :meth:`tcpemu.Client.export_pcap`."""
        req = pb.ExportPcapRequest(session_id=_id(session))
        try:
            chunks = [c.data async for c in self._stub.ExportPcap(req, timeout=self.timeout)]
        except grpc.RpcError as e:
            raise from_rpc_error(e) from None
        return _pcap.write(chunks, dest)

    # ------------------------------------------------------------ interfaces

    async def create_interface(
        self,
        address: str,
        *,
        network: Union[int, Network, None] = None,
        name: str = "",
        mac: str = "",
        mtu: Optional[Size] = None,
        gateway: str = "",
        egress: Optional[PathArg] = None,
        ingress: Optional[PathArg] = None,
    ) -> Interface:
        """See :meth:`tcpemu.Client.create_interface`."""
        req = rq.create_interface(
            address,
            network_id=_id(network),
            name=name,
            mac=mac,
            mtu=mtu,
            gateway=gateway,
            egress=egress,
            ingress=ingress,
        )
        return Interface(self, await self._call("CreateInterface", req))

    async def interface(self, interface: Union[int, Interface]) -> Interface:
        req = pb.GetInterfaceRequest(interface_id=_id(interface))
        return Interface(self, await self._call("GetInterface", req))

    async def interfaces(self, network: Union[int, Network, None] = None) -> List[Interface]:
        req = pb.ListInterfacesRequest(network_id=_id(network))
        return [Interface(self, p) for p in (await self._call("ListInterfaces", req)).interfaces]

    async def update_interface(
        self,
        interface: Union[int, Interface],
        egress: Optional[PathArg] = None,
        ingress: Optional[PathArg] = None,
        *,
        replace: bool = False,
    ) -> Interface:
        """See :meth:`tcpemu.Client.update_interface`."""
        current = (await self.interface(interface)).proto
        fwd, rev = rq.interface_specs(egress, ingress, None if replace else current, current.mtu)
        req = pb.UpdateLinkRequest(link_id=current.id, forward=fwd, reverse=rev)
        await self._call("UpdateLink", req)
        return await self.interface(current.id)

    async def delete_interface(self, interface: Union[int, Interface]) -> None:
        req = pb.DeleteInterfaceRequest(interface_id=_id(interface))
        await self._call("DeleteInterface", req)

    async def connect(
        self,
        interface: Union[int, Interface],
        address: str,
        port: int,
        *,
        config: TcpConfigArg = None,
        reader: ReaderArg = None,
        digest: bool = False,
        capture: bool = False,
        local_port: int = 0,
    ) -> Session:
        """See :meth:`tcpemu.Client.connect`."""
        req = rq.connect(
            _id(interface),
            address,
            port,
            config=config,
            reader=reader,
            digest=digest,
            capture=capture,
            local_port=local_port,
        )
        return Session(self, await self._call("OpenSession", req))

    async def listen(
        self,
        interface: Union[int, Interface],
        port: int,
        *,
        config: TcpConfigArg = None,
        reader: ReaderArg = None,
        digest: bool = False,
        backlog: int = 0,
        capture: bool = False,
    ) -> Listener:
        """See :meth:`tcpemu.Client.listen`."""
        iface_id = _id(interface)
        network = interface.network_id if isinstance(interface, Interface) else None
        # Subscribe before listening, so that no connection goes unannounced.
        stream = self.events(network=network, kinds="session_accepted")
        try:
            if not await stream.wait_subscribed(self.timeout):
                raise Unavailable(f"tcpemud at {self.target} did not answer WatchEvents")
            req = rq.listen(
                iface_id,
                port,
                config=config,
                reader=reader,
                digest=digest,
                backlog=backlog,
                capture=capture,
            )
            return Listener(self, await self._call("Listen", req), stream)
        except BaseException:
            stream.cancel()
            raise

    async def delete_listener(self, interface: Union[int, Interface], port: int) -> None:
        req = pb.DeleteListenerRequest(interface_id=_id(interface), port=int(port))
        await self._call("DeleteListener", req)

    # ------------------------------------------------------------ proxies

    async def create_proxy(
        self,
        name: str,
        listen: str = "127.0.0.1:0",
        upstream: str = "",
        *,
        network: Union[int, Network, None] = None,
        link: Union[int, Link, None] = None,
        delay: Optional[Duration] = None,
        rate: Optional[Rate] = None,
        loss: Optional[Probability] = None,
        jitter: Optional[Union[Duration, Jitter]] = None,
        queue: Optional[Size] = None,
        ge_loss: Optional[Tuple[float, float, float, float]] = None,
        reorder: Optional[Union[Probability, Tuple[Probability, int]]] = None,
        duplicate: Optional[Probability] = None,
        corrupt: Optional[Probability] = None,
        mtu: Optional[Size] = None,
        forward: Optional[PathArg] = None,
        reverse: Optional[PathArg] = None,
        downstream_tcp: TcpConfigArg = None,
        upstream_tcp: TcpConfigArg = None,
        relay_buffer: Optional[Size] = None,
        enabled: bool = True,
        toxics: Sequence[ToxicArg] = (),
    ) -> Proxy:
        """See :meth:`tcpemu.Client.create_proxy`."""
        params = link_params(
            delay=delay,
            rate=rate,
            loss=loss,
            jitter=jitter,
            queue=queue,
            ge_loss=ge_loss,
            reorder=reorder,
            duplicate=duplicate,
            corrupt=corrupt,
            mtu=mtu,
        )
        req = rq.create_proxy(
            name,
            listen,
            upstream,
            network_id=_id(network),
            link_id=_id(link),
            params=params,
            forward=forward,
            reverse=reverse,
            downstream_tcp=downstream_tcp,
            upstream_tcp=upstream_tcp,
            relay_buffer=relay_buffer,
            enabled=enabled,
            toxics=toxics,
        )
        return Proxy(self, await self._call("CreateProxy", req))

    async def proxy(self, proxy: rq.ProxyRef) -> Proxy:
        """A proxy by name (a str) or id (an int)."""
        return Proxy(self, await self._call("GetProxy", rq.get_proxy(proxy)))

    async def proxies(self, network: Union[int, Network, None] = None) -> List[Proxy]:
        req = pb.ListProxiesRequest(network_id=_id(network))
        return [Proxy(self, p) for p in (await self._call("ListProxies", req)).proxies]

    async def update_proxy(
        self,
        proxy: rq.ProxyRef,
        *,
        listen: Optional[str] = None,
        upstream: Optional[str] = None,
        enabled: Optional[bool] = None,
        toxics: Optional[Sequence[ToxicArg]] = None,
        downstream_tcp: TcpConfigArg = None,
        upstream_tcp: TcpConfigArg = None,
        relay_buffer: Optional[Size] = None,
    ) -> Proxy:
        """See :meth:`tcpemu.Client.update_proxy`."""
        req = rq.update_proxy(
            proxy,
            listen=listen,
            upstream=upstream,
            enabled=enabled,
            toxics=toxics,
            downstream_tcp=downstream_tcp,
            upstream_tcp=upstream_tcp,
            relay_buffer=relay_buffer,
        )
        return Proxy(self, await self._call("UpdateProxy", req))

    async def delete_proxy(self, proxy: rq.ProxyRef) -> None:
        await self._call("DeleteProxy", rq.delete_proxy(proxy))

    # ------------------------------------------------------------ faults

    async def inject_fault(
        self,
        *,
        link: Union[int, Link, None] = None,
        session: Union[int, Session, None] = None,
        action: Union[str, int] = "drop",
        direction: Union[str, int, None] = None,
        count: int = 0,
        payload_only: bool = False,
        flags_all: rq.FlagsArg = None,
        flags_none: rq.FlagsArg = None,
        seq: Optional[Tuple[int, int]] = None,
        nth: int = 0,
        delay: Optional[Duration] = None,
        probability: Optional[Probability] = None,
        duration: Optional[Duration] = None,
    ) -> Fault:
        if (link is None) == (session is None):
            raise ValueError("inject_fault: give link= or session=")
        req = rq.inject_fault(
            link_id=None if link is None else _id(link),
            session_id=None if session is None else _id(session),
            action=action,
            direction=direction,
            count=count,
            payload_only=payload_only,
            flags_all=flags_all,
            flags_none=flags_none,
            seq=seq,
            nth=nth,
            delay=delay,
            probability=probability,
            duration=duration,
        )
        resp = await self._call("InjectFault", req)
        return Fault(tuple(resp.ids), resp.link_id)

    async def clear_faults(
        self, *, link: Union[int, Link, None] = None, session: Union[int, Session, None] = None
    ) -> None:
        if (link is None) == (session is None):
            raise ValueError("clear_faults: give link= or session=")
        req = pb.ClearFaultsRequest()
        if link is not None:
            req.link_id = _id(link)
        else:
            req.session_id = _id(session)
        await self._call("ClearFaults", req)

    # ------------------------------------------------------------ events

    def events(
        self,
        *,
        network: Union[int, Network, None] = None,
        sessions: Sequence[Union[int, Session]] = (),
        kinds: rq.KindsArg = None,
        endpoint: Union[str, int, None] = None,
        replay: bool = False,
        max_batch: int = 0,
        until_destroyed: Union[int, Session, None] = None,
    ) -> EventStream:
        """An async iterator of events; see :meth:`tcpemu.Client.events`."""
        plan = rq.WatchPlan(
            network=network,
            sessions=sessions,
            kinds=kinds,
            endpoint=endpoint,
            replay=replay,
            max_batch=max_batch,
            until_destroyed=until_destroyed,
        )
        return EventStream(
            self._stub.WatchEvents(plan.request),
            stop_session=plan.stop,
            wanted=plan.wanted,
            endpoint=plan.endpoint,
        )


class EventStream:
    """An async iterator of tcpemu.v1.Event messages and :class:`Gap` items;
    see :class:`tcpemu.EventStream`."""

    def __init__(
        self,
        call: Any,
        *,
        stop_session: Optional[int] = None,
        wanted: Optional[Set[int]] = None,
        endpoint: Optional[int] = None,
    ) -> None:
        self._call = call
        self._stop = stop_session
        self._wanted = wanted
        self._endpoint = endpoint
        self._cancelled = False
        self.lost = 0
        self._gen = self._generate()

    def __aiter__(self) -> AsyncIterator[Union[pb.Event, Gap]]:
        return self._gen

    async def __anext__(self) -> Union[pb.Event, Gap]:
        return await self._gen.__anext__()

    async def __aenter__(self) -> EventStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.cancel()

    def cancel(self) -> None:
        self._cancelled = True
        self._call.cancel()

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    async def wait_subscribed(self, timeout: Optional[float] = None) -> bool:
        """See :meth:`tcpemu.EventStream.wait_subscribed`."""
        try:
            await asyncio.wait_for(self._call.initial_metadata(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    async def _generate(self) -> AsyncIterator[Union[pb.Event, Gap]]:
        destroyed = pb.EVENT_KIND_SESSION_DESTROYED
        stop = self._stop
        wanted = self._wanted
        only = self._endpoint
        try:
            async for batch in self._call:
                if batch.events_lost:
                    self.lost += batch.events_lost
                    yield Gap(batch.events_lost)
                for ev in batch.events:
                    keep = (wanted is None or ev.kind in wanted) and (
                        only is None or ev.endpoint == only
                    )
                    if stop is not None and ev.kind == destroyed and ev.session_id == stop:
                        if keep:
                            yield ev
                        self.cancel()
                        return
                    if keep:
                        yield ev
        except asyncio.CancelledError:
            if not self._cancelled:
                raise
        except grpc.RpcError as e:
            if self._cancelled and e.code() == grpc.StatusCode.CANCELLED:
                return
            raise from_rpc_error(e) from None


class Network(NetworkView):
    """See :class:`tcpemu.Network`."""

    def __init__(self, client: Client, proto: pb.Network) -> None:
        self.client = client
        self.proto = proto

    def __repr__(self) -> str:
        return f"aio.Network(id={self.id}, clock={self.clock!r}, seed={self.seed})"

    async def refresh(self) -> Network:
        self.proto = (await self.client.network(self.id)).proto
        return self

    async def advance(self, duration: Duration) -> AdvanceResult:
        return await self.client.advance(self, duration)

    async def advance_until_idle(self, limit: Optional[Duration] = None) -> AdvanceResult:
        return await self.client.advance_until_idle(self, limit)

    async def create_link(self, *args: Any, **kwargs: Any) -> Link:
        return await self.client.create_link(*args, network=self, **kwargs)

    async def links(self) -> List[Link]:
        return await self.client.links(self)

    async def create_interface(self, address: str, **kwargs: Any) -> Interface:
        return await self.client.create_interface(address, network=self, **kwargs)

    async def interfaces(self) -> List[Interface]:
        return await self.client.interfaces(self)

    async def create_proxy(self, name: str, *args: Any, **kwargs: Any) -> Proxy:
        return await self.client.create_proxy(name, *args, network=self, **kwargs)

    async def proxies(self) -> List[Proxy]:
        return await self.client.proxies(self)

    async def sessions(self) -> List[Session]:
        return await self.client.sessions(network=self)

    def events(self, **kwargs: Any) -> EventStream:
        return self.client.events(network=self, **kwargs)

    async def delete(self) -> None:
        await self.client.delete_network(self)


class Link(LinkView):
    """See :class:`tcpemu.Link`."""

    def __init__(self, client: Client, proto: pb.Link) -> None:
        self.client = client
        self.proto = proto

    def __repr__(self) -> str:
        return f"aio.Link(id={self.id}, network_id={self.network_id})"

    async def refresh(self) -> Link:
        self.proto = (await self.client.link(self.id)).proto
        return self

    async def update(self, *args: Any, **kwargs: Any) -> Link:
        self.proto = (await self.client.update_link(self, *args, **kwargs)).proto
        return self

    async def open_session(self, **kwargs: Any) -> Session:
        return await self.client.open_session(self, **kwargs)

    async def inject_fault(self, **kwargs: Any) -> Fault:
        return await self.client.inject_fault(link=self, **kwargs)

    async def clear_faults(self) -> None:
        await self.client.clear_faults(link=self)

    async def delete(self) -> None:
        await self.client.delete_link(self)


class Session(SessionView):
    """See :class:`tcpemu.Session`."""

    def __init__(self, client: Client, proto: pb.Session) -> None:
        self.client = client
        self.proto = proto
        self._network: Optional[Network] = None

    def __repr__(self) -> str:
        return f"aio.Session(id={self.id}, link_id={self.link_id}, network_id={self.network_id})"

    async def network(self) -> Network:
        """The session's network (fetched once)."""
        if self._network is None:
            self._network = await self.client.network(self.network_id)
        return self._network

    async def snapshot(self) -> SessionSnapshot:
        req = pb.GetSessionRequest(session_id=self.id)
        self.proto = await self.client._call("GetSession", req)
        return SessionSnapshot.from_proto(self.proto)

    async def write(
        self,
        data: Optional[rq.Data] = None,
        *,
        fill: Optional[int] = None,
        push: bool = False,
        wait: Optional[Duration] = None,
        endpoint: Union[str, int, None] = None,
    ) -> int:
        req = rq.write(self.id, self._endpoint(endpoint, "client"), data, fill, push, wait)
        return int((await self.client._call("Write", req, wait=wait)).accepted)

    async def read(
        self,
        max_bytes: int = 65536,
        *,
        wait: Optional[Duration] = None,
        endpoint: Union[str, int, None] = None,
    ) -> ReadResult:
        req = rq.read(self.id, self._endpoint(endpoint, "server"), max_bytes, wait)
        resp = await self.client._call("Read", req, wait=wait)
        return ReadResult(resp.data, resp.eof)

    async def close(self, endpoint: Union[str, int, None] = None, *, rst: bool = False) -> str:
        req = rq.close(self.id, self._endpoint(endpoint, "client"), rst)
        return _names.state_name((await self.client._call("Close", req)).state)

    async def set_reader(self, reader: ReaderArg, endpoint: Union[str, int, None] = None) -> None:
        req = rq.set_reader(self.id, self._endpoint(endpoint, "server"), reader)
        await self.client._call("SetReader", req)

    async def export_pcap(self, dest: _pcap.PcapDest) -> int:
        return await self.client.export_pcap(self, dest)

    async def inject_fault(self, action: Union[str, int] = "drop", **kwargs: Any) -> Fault:
        return await self.client.inject_fault(session=self, action=action, **kwargs)

    async def clear_faults(self) -> None:
        await self.client.clear_faults(session=self)

    def events(
        self,
        kinds: rq.KindsArg = None,
        *,
        replay: bool = True,
        endpoint: Union[str, int, None] = None,
        max_batch: int = 0,
        until_destroyed: bool = True,
    ) -> EventStream:
        return self.client.events(
            network=self.network_id,
            sessions=[self.id],
            kinds=kinds,
            endpoint=endpoint,
            replay=replay,
            max_batch=max_batch,
            until_destroyed=self if until_destroyed else None,
        )

    async def wait_for(
        self,
        state: Union[str, int],
        endpoint: Union[str, int, None] = None,
        timeout: float = 10.0,
        *,
        step: Duration = "1ms",
        max_step: Duration = "100ms",
    ) -> SessionSnapshot:
        """See :meth:`tcpemu.Session.wait_for`."""
        target = wait_target(state)
        ep_name = _names.endpoint_name(_names.endpoint(self._endpoint(endpoint, "client")))
        virtual = (await self.network()).virtual
        limit_ns = round(timeout * 1e9)
        step_ns = parse_duration(step)
        max_ns = max(step_ns, parse_duration(max_step))
        waited = 0
        deadline = time.monotonic() + timeout
        while True:
            snap = await self.snapshot()
            if state_reached(snap, ep_name, target):
                return snap
            if virtual:
                if waited >= limit_ns:
                    break
                n = min(step_ns, limit_ns - waited)
                result = await self.client.advance(self.network_id, n / 1e9)
                waited += n
                step_ns = min(step_ns * 2, max_ns)
                if result.idle:
                    snap = await self.snapshot()
                    if state_reached(snap, ep_name, target):
                        return snap
                    raise FailedPrecondition(
                        f"session {self.id}: {_describe(snap, ep_name)} and nothing is scheduled "
                        f"on network {self.network_id}, so it will not reach {_target_name(state)}"
                    )
            else:
                if time.monotonic() >= deadline:
                    break
                await asyncio.sleep(0.005)
        raise DeadlineExceeded(
            f"session {self.id}: {_describe(snap, ep_name)} after {timeout}s, "
            f"not {_target_name(state)}"
        )

    async def delete(self) -> None:
        await self.client.delete_session(self)


class Interface(InterfaceView):
    """See :class:`tcpemu.Interface`."""

    def __init__(self, client: Client, proto: pb.Interface) -> None:
        self.client = client
        self.proto = proto

    def __repr__(self) -> str:
        return f"aio.Interface(id={self.id}, name={self.name!r}, address={self.address!r})"

    async def refresh(self) -> Interface:
        self.proto = (await self.client.interface(self.id)).proto
        return self

    async def update(self, *args: Any, **kwargs: Any) -> Interface:
        self.proto = (await self.client.update_interface(self, *args, **kwargs)).proto
        return self

    async def connect(self, address: str, port: int, **kwargs: Any) -> Session:
        return await self.client.connect(self, address, port, **kwargs)

    async def listen(self, port: int, **kwargs: Any) -> Listener:
        return await self.client.listen(self, port, **kwargs)

    async def link(self) -> Link:
        return await self.client.link(self.id)

    async def inject_fault(self, **kwargs: Any) -> Fault:
        return await self.client.inject_fault(link=self.id, **kwargs)

    async def clear_faults(self) -> None:
        await self.client.clear_faults(link=self.id)

    async def sessions(self) -> List[Session]:
        return await self.client.sessions(link=self.id)

    async def delete(self) -> None:
        await self.client.delete_interface(self)


class Listener(ListenerView):
    """See :class:`tcpemu.Listener`; a task reads the announcements."""

    def __init__(self, client: Client, proto: pb.Listener, stream: EventStream) -> None:
        self.client = client
        self.proto = proto
        self._stream = stream
        self._queue: asyncio.Queue[Union[int, TcpemuError, None]] = asyncio.Queue()
        self._task = asyncio.ensure_future(self._pump())

    def __repr__(self) -> str:
        return f"aio.Listener(interface_id={self.interface_id}, port={self.port})"

    async def __aenter__(self) -> Listener:
        return self

    async def __aexit__(self, *exc: object) -> None:
        with contextlib.suppress(NotFound):  # the interface is gone, with its listeners
            await self.delete()

    async def _pump(self) -> None:
        try:
            async for ev in self._stream:
                if not isinstance(ev, Gap) and self._announces(ev):
                    self._queue.put_nowait(ev.session_id)
        except TcpemuError as e:
            self._queue.put_nowait(e)
        finally:
            self._queue.put_nowait(None)

    async def accept(self, timeout: Optional[float] = None) -> Session:
        """See :meth:`tcpemu.Listener.accept`."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                item = await asyncio.wait_for(self._queue.get(), left)
            except asyncio.TimeoutError:
                raise DeadlineExceeded(
                    f"no connection to interface {self.interface_id} port {self.port} "
                    f"within {timeout}s"
                ) from None
            if item is None or isinstance(item, TcpemuError):
                self._queue.put_nowait(item)
                if item is not None:
                    raise item
                raise FailedPrecondition(
                    f"the listener on interface {self.interface_id} port {self.port} is closed"
                )
            try:
                session = await self.client.session(item)
            except NotFound:
                continue
            if self._owns(session.proto):
                return session

    async def close(self) -> None:
        """Stops watching for accepted sessions, leaving the daemon's listener."""
        self._stream.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def delete(self) -> None:
        try:
            await self.client.delete_listener(self.interface_id, self.port)
        finally:
            await self.close()


class ProxyEventStream:
    """An async iterator of the events of a proxy's connections; see
    :class:`tcpemu.proxy.ProxyEventStream`."""

    def __init__(self, client: Client, proxy: pb.Proxy, stream: EventStream) -> None:
        self._client = client
        self._members = _Members(proxy)
        self._stream = stream
        self._gen = self._generate()

    def __aiter__(self) -> AsyncIterator[Union[pb.Event, Gap]]:
        return self._gen

    async def __anext__(self) -> Union[pb.Event, Gap]:
        return await self._gen.__anext__()

    async def __aenter__(self) -> ProxyEventStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.cancel()

    @property
    def lost(self) -> int:
        return self._stream.lost

    @property
    def cancelled(self) -> bool:
        return self._stream.cancelled

    def cancel(self) -> None:
        self._stream.cancel()

    async def wait_subscribed(self, timeout: Optional[float] = None) -> bool:
        return await self._stream.wait_subscribed(timeout)

    async def _generate(self) -> AsyncIterator[Union[pb.Event, Gap]]:
        members = self._members
        async for item in self._stream:
            if isinstance(item, Gap):
                yield item
                continue
            ours = members.answer(item)
            if ours is None:
                try:
                    session: Optional[pb.Session] = await self._client._call(
                        "GetSession", pb.GetSessionRequest(session_id=item.session_id)
                    )
                except NotFound:
                    session = None
                ours = members.learn(item.session_id, session)
            if ours:
                yield item


class Proxy(ProxyView):
    """See :class:`tcpemu.proxy.Proxy`; ``async with`` deletes it on leaving."""

    def __init__(self, client: Client, proto: pb.Proxy) -> None:
        self.client = client
        self.proto = proto

    def __repr__(self) -> str:
        return (
            f"aio.Proxy(id={self.id}, name={self.name!r}, "
            f"listen_address={self.listen_address!r}, upstream={self.upstream!r})"
        )

    async def __aenter__(self) -> Proxy:
        return self

    async def __aexit__(self, *exc: object) -> None:
        with contextlib.suppress(NotFound):
            await self.delete()

    async def refresh(self) -> Proxy:
        self.proto = (await self.client.proxy(self.id)).proto
        return self

    async def update(self, **kwargs: Any) -> Proxy:
        self.proto = (await self.client.update_proxy(self.id, **kwargs)).proto
        return self

    async def enable(self) -> Proxy:
        return await self.update(enabled=True)

    async def disable(self) -> Proxy:
        return await self.update(enabled=False)

    async def add_toxic(self, toxic: ToxicArg) -> Toxic:
        """See :meth:`tcpemu.proxy.Proxy.add_toxic`."""
        await self.refresh()
        before = [t.name for t in self.proto.toxics]
        await self.update(toxics=self._with_toxic(toxic))
        return self._added(before)

    async def remove_toxic(self, name: str) -> None:
        await self.refresh()
        await self.update(toxics=self._without_toxic(name))

    async def link(self) -> Link:
        return await self.client.link(self.link_id)

    async def sessions(self) -> List[Session]:
        return [
            s for s in await self.client.sessions(link=self.link_id) if s.proto.proxy_id == self.id
        ]

    def events(
        self,
        kinds: rq.KindsArg = None,
        *,
        endpoint: Union[str, int, None] = None,
        replay: bool = False,
        max_batch: int = 0,
    ) -> ProxyEventStream:
        """See :meth:`tcpemu.proxy.Proxy.events`."""
        stream = self.client.events(
            network=self.network_id,
            kinds=kinds,
            endpoint=endpoint,
            replay=replay,
            max_batch=max_batch,
        )
        return ProxyEventStream(self.client, self.proto, stream)

    async def delete(self) -> None:
        await self.client.delete_proxy(self.id)


class ShardedClient(_Ring[Client]):
    """:class:`tcpemu.ShardedClient` for asyncio: an :class:`aio.Client
    <tcpemu.aio.Client>` per replica, the same hash, the same calls as
    coroutines. The constructor resolves a DNS name (blocking, once);
    :meth:`refresh` resolves it again in a thread."""

    def __init__(
        self,
        targets: Targets = None,
        timeout: Optional[float] = 10.0,
        *,
        options: Sequence[Tuple[str, Any]] = (),
        tls: TlsArg = None,
        token: Optional[str] = None,
    ) -> None:
        self.timeout = timeout
        super().__init__(
            targets, lambda name: Client(name, timeout, options=options, tls=tls, token=token)
        )

    def __repr__(self) -> str:
        return f"aio.ShardedClient(replicas={self.replicas!r}, timeout={self.timeout!r})"

    async def __aenter__(self) -> ShardedClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        for c in self._all_clients():
            await c.close()

    async def refresh(self) -> List[str]:
        """See :meth:`tcpemu.ShardedClient.refresh`."""
        if self.source is None:
            return self.replicas
        return self._apply(await asyncio.to_thread(resolve, self.source))

    async def wait_ready(self, timeout: Optional[float] = None) -> None:
        await asyncio.gather(*(self.for_replica(n).wait_ready(timeout) for n in self.replicas))

    async def create_network(
        self, *, key: str, clock: Union[str, int] = "realtime", seed: int = 0
    ) -> Network:
        return await self.for_key(key).create_network(clock, seed)

    async def create_link(self, *args: Any, key: str, **kwargs: Any) -> Link:
        client = self._owner_of(key, kwargs.get("network"), "network")
        return await client.create_link(*args, **kwargs)

    async def open_session(self, link: Union[int, Link], *, key: str, **kwargs: Any) -> Session:
        return await self._owner_of(key, link, "link").open_session(link, **kwargs)
