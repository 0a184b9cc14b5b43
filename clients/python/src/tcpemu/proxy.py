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

from tcpemu._proxy_view import ProxyView, split_host_port
from tcpemu.client import Proxy, ProxyEventStream

__all__ = ["Proxy", "ProxyEventStream", "ProxyView", "split_host_port"]
