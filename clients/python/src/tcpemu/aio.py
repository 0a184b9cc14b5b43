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
import time
from typing import Any, AsyncIterator, List, Optional, Sequence, Set, Tuple, Union

import grpc
import grpc.aio

from tcpemu import _names
from tcpemu import _requests as rq
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2_grpc as rpc
from tcpemu._views import LinkView, NetworkView, SessionView
from tcpemu.client import (
    CHANNEL_OPTIONS,
    _describe,
    _target_name,
    default_target,
    link_params,
    state_reached,
    wait_target,
)
from tcpemu.errors import DeadlineExceeded, FailedPrecondition, Unavailable, from_rpc_error
from tcpemu.model import AdvanceResult, Fault, Gap, ReadResult, SessionSnapshot
from tcpemu.spec import Jitter, PathArg, ReaderArg, TcpConfigArg, seconds
from tcpemu.units import Duration, Probability, Rate, Size, parse_duration

__all__ = ["Client", "EventStream", "Link", "Network", "Session"]

_id = rq.ident


class Client:
    """:class:`tcpemu.Client` for asyncio: the same methods, as coroutines."""

    def __init__(
        self,
        target: Optional[str] = None,
        timeout: Optional[float] = 10.0,
        *,
        channel: Optional[grpc.aio.Channel] = None,
        options: Sequence[Tuple[str, Any]] = (),
    ) -> None:
        self.target = target or default_target()
        self.timeout = timeout
        self._own_channel = channel is None
        self._channel = channel or grpc.aio.insecure_channel(
            self.target, options=list(CHANNEL_OPTIONS) + list(options)
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
        endpoint: Union[str, int] = "client",
    ) -> int:
        req = rq.write(self.id, endpoint, data, fill, push, wait)
        return int((await self.client._call("Write", req, wait=wait)).accepted)

    async def read(
        self,
        max_bytes: int = 65536,
        *,
        wait: Optional[Duration] = None,
        endpoint: Union[str, int] = "server",
    ) -> ReadResult:
        req = rq.read(self.id, endpoint, max_bytes, wait)
        resp = await self.client._call("Read", req, wait=wait)
        return ReadResult(resp.data, resp.eof)

    async def close(self, endpoint: Union[str, int] = "client", *, rst: bool = False) -> str:
        resp = await self.client._call("Close", rq.close(self.id, endpoint, rst))
        return _names.state_name(resp.state)

    async def set_reader(self, reader: ReaderArg, endpoint: Union[str, int] = "server") -> None:
        await self.client._call("SetReader", rq.set_reader(self.id, endpoint, reader))

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
        endpoint: Union[str, int] = "client",
        timeout: float = 10.0,
        *,
        step: Duration = "1ms",
        max_step: Duration = "100ms",
    ) -> SessionSnapshot:
        """See :meth:`tcpemu.Session.wait_for`."""
        target = wait_target(state)
        ep_name = _names.endpoint_name(_names.endpoint(endpoint))
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
