"""Request messages of the proxy calls (CreateProxy, GetProxy, UpdateProxy,
DeleteProxy) built from the client's keyword arguments; shared by the
blocking and the asyncio clients."""

from __future__ import annotations

from typing import Iterable, List, Optional, Tuple, Union

from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb
from tcpemu._requests import HasId, ident, link_specs
from tcpemu.spec import PathArg, PathSpec, TcpConfig, TcpConfigArg
from tcpemu.toxics import ToxicArg, toxic_list
from tcpemu.units import Size, parse_size

ProxyRef = Union[int, str, HasId]


def proxy_ref(value: ProxyRef) -> Tuple[int, str]:
    """(proxy_id, name) naming a proxy: an int is its id, a str its name,
    a handle its id."""
    if isinstance(value, str):
        if not value:
            raise ValueError("proxy: give a name or an id")
        return 0, value
    return ident(value), ""


def get_proxy(value: ProxyRef) -> pb.GetProxyRequest:
    pid, name = proxy_ref(value)
    return pb.GetProxyRequest(name=name) if name else pb.GetProxyRequest(proxy_id=pid)


def delete_proxy(value: ProxyRef) -> pb.DeleteProxyRequest:
    pid, name = proxy_ref(value)
    return pb.DeleteProxyRequest(name=name) if name else pb.DeleteProxyRequest(proxy_id=pid)


def create_proxy(
    name: str,
    listen: str,
    upstream: str,
    *,
    network_id: int = 0,
    link_id: int = 0,
    params: Optional[PathSpec] = None,
    forward: Optional[PathArg] = None,
    reverse: Optional[PathArg] = None,
    downstream_tcp: TcpConfigArg = None,
    upstream_tcp: TcpConfigArg = None,
    relay_buffer: Optional[Size] = None,
    enabled: bool = True,
    toxics: Optional[Iterable[ToxicArg]] = None,
) -> pb.CreateProxyRequest:
    if not upstream:
        raise ValueError("create_proxy: give upstream='host:port', the address to relay to")
    params = params or PathSpec()
    req = pb.CreateProxyRequest(
        network_id=network_id,
        name=name,
        listen=listen,
        upstream=upstream,
        link_id=link_id,
        downstream_tcp=TcpConfig.of(downstream_tcp),
        upstream_tcp=TcpConfig.of(upstream_tcp),
        relay_buffer=0 if relay_buffer is None else parse_size(relay_buffer),
        enabled=bool(enabled),
        toxics=toxic_list(toxics),
    )
    if link_id:
        if not params.is_empty() or forward is not None or reverse is not None:
            raise ValueError("create_proxy: give link= or path settings (delay=, ...), not both")
    else:
        # params in both directions, then forward and reverse on top.
        fwd, rev = link_specs(params, reverse, forward)
        req.forward.CopyFrom(fwd)
        req.reverse.CopyFrom(rev)
    return req


def update_proxy(
    value: ProxyRef,
    *,
    listen: Optional[str] = None,
    upstream: Optional[str] = None,
    enabled: Optional[bool] = None,
    toxics: Optional[Iterable[ToxicArg]] = None,
    downstream_tcp: TcpConfigArg = None,
    upstream_tcp: TcpConfigArg = None,
    relay_buffer: Optional[Size] = None,
) -> pb.UpdateProxyRequest:
    """An UpdateProxy whose field mask names exactly the settings given."""
    pid, name = proxy_ref(value)
    proxy = pb.Proxy(id=pid, name=name)
    paths: List[str] = []
    if listen is not None:
        proxy.listen = listen
        paths.append("listen")
    if upstream is not None:
        proxy.upstream = upstream
        paths.append("upstream")
    if enabled is not None:
        proxy.enabled = bool(enabled)
        paths.append("enabled")
    if toxics is not None:
        proxy.toxics.extend(toxic_list(toxics))
        paths.append("toxics")
    if downstream_tcp is not None:
        proxy.downstream_tcp.CopyFrom(TcpConfig.of(downstream_tcp))
        paths.append("downstream_tcp")
    if upstream_tcp is not None:
        proxy.upstream_tcp.CopyFrom(TcpConfig.of(upstream_tcp))
        paths.append("upstream_tcp")
    if relay_buffer is not None:
        proxy.relay_buffer = parse_size(relay_buffer)
        paths.append("relay_buffer")
    if not paths:
        raise ValueError(
            "update_proxy: nothing to change; give listen, upstream, enabled, toxics, "
            "downstream_tcp, upstream_tcp or relay_buffer"
        )
    req = pb.UpdateProxyRequest(proxy=proxy)
    req.update_mask.paths.extend(paths)
    return req
