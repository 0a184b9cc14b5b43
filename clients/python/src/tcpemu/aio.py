"""The asyncio client: the calls of :mod:`tcpemu.client` as coroutines, on
grpc.aio.

    async with tcpemu.aio.Client() as client:
        net = await client.create_network(clock="virtual", seed=1)
        link = await net.create_link(delay="10ms")
        session = await client.open_session(link)
        await session.write(fill=100_000)
        await net.advance_until_idle()

The code is in tcpemu._async, from which tools/gen_sync.py makes the blocking
client (tcpemu._sync, exported by tcpemu.client): the two differ only where
tcpemu._async_support and tcpemu._sync_support do (tasks or threads).
"""

from __future__ import annotations

from tcpemu._async.client import Client
from tcpemu._async.handles import Interface, Link, Listener, Network, Proxy, Session
from tcpemu._async.sharded import ShardedClient
from tcpemu._async.streams import EventStream, ProxyEventStream

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
