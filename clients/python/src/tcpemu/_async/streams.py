"""Event streams: :class:`EventStream` (WatchEvents) and
:class:`ProxyEventStream` (a proxy's share of its network's events)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, AsyncIterator, Optional, Set, Union

import grpc

import tcpemu._async_support as _support
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb
from tcpemu._proxy_view import _Members
from tcpemu.errors import (
    NotFound,
    from_rpc_error,
)
from tcpemu.model import Gap

if TYPE_CHECKING:
    from tcpemu._async.client import Client


class EventStream:
    """An iterator (in tcpemu.aio, an async iterator) of tcpemu.v1.Event
    messages, with a :class:`Gap` wherever
    the daemon dropped events because the stream was read too slowly (``lost``
    holds the total). Ends when cancelled (:meth:`cancel`, or leaving a
    ``with`` block) or, for a session's stream, after the session is destroyed.
    """

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
        """Ends the stream; iteration stops after what was already received."""
        self._cancelled = True
        self._call.cancel()

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    async def wait_subscribed(self, timeout: Optional[float] = None) -> bool:
        """Waits until the daemon has answered the stream, so that events from
        now on reach it; True if it did within `timeout`. The daemon sends the
        stream's headers as soon as it has subscribed it, before any event."""
        return await _support.initial_metadata(self._call, timeout)

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
                if stop is None and wanted is None and only is None:
                    # Nothing to check per event: the common case of a
                    # network-wide stream stays a bare loop.
                    for ev in batch.events:
                        yield ev
                    continue
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
        except _support.CANCELLED:
            if not self._cancelled:
                raise
        except grpc.RpcError as e:
            if self._cancelled and e.code() == grpc.StatusCode.CANCELLED:
                return
            raise from_rpc_error(e) from None


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
        """Events of the network lost because the stream was read too slowly."""
        return self._stream.lost

    @property
    def cancelled(self) -> bool:
        return self._stream.cancelled

    def cancel(self) -> None:
        self._stream.cancel()

    async def wait_subscribed(self, timeout: Optional[float] = None) -> bool:
        """See :meth:`tcpemu.EventStream.wait_subscribed`."""
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
