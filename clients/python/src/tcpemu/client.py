"""The blocking client: :class:`Client` and the resource handles it returns
(:class:`Network`, :class:`Link`, :class:`Session`, :class:`EventStream`,
:class:`Interface`, :class:`Listener`; :class:`~tcpemu.proxy.Proxy` is also in
tcpemu.proxy).

The code is tcpemu._sync, which tools/gen_sync.py generates from the asyncio
client (tcpemu._async): change that, not this, and regenerate.
"""

from __future__ import annotations

from tcpemu._common import CHANNEL_OPTIONS, DEFAULT_TARGET, default_target
from tcpemu._sync.client import Client
from tcpemu._sync.handles import Interface, Link, Listener, Network, Proxy, Session
from tcpemu._sync.sharded import ShardedClient
from tcpemu._sync.streams import EventStream, ProxyEventStream

__all__ = [
    "CHANNEL_OPTIONS",
    "DEFAULT_TARGET",
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
    "default_target",
]
