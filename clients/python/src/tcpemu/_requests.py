"""Request messages built from the client's keyword arguments; shared by the
blocking and the asyncio clients so both validate and convert alike."""

from __future__ import annotations

from typing import Iterable, List, Optional, Protocol, Sequence, Tuple, Union

from tcpemu import _names
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb
from tcpemu.spec import (
    PathArg,
    PathSpec,
    ReaderArg,
    TcpConfig,
    TcpConfigArg,
    duration_proto,
    path_spec,
    reader_proto,
)
from tcpemu.units import Duration, Probability, Size, parse_probability, parse_size

Data = Union[bytes, bytearray, memoryview, str]


class HasId(Protocol):
    @property
    def id(self) -> int: ...


def ident(value: Union[int, HasId, None]) -> int:
    """An id from an int or a resource handle; None is 0."""
    if value is None:
        return 0
    if isinstance(value, bool):
        raise TypeError("expected an id or a resource, got a bool")
    if isinstance(value, int):
        return value
    return int(value.id)


KindsArg = Union[str, int, Iterable[Union[str, int]], None]
FlagsArg = Union[str, int, Iterable[str], None]


def create_network(clock: _names.EnumArg, seed: int) -> pb.CreateNetworkRequest:
    return pb.CreateNetworkRequest(clock=_names.clock(clock), seed=int(seed))  # type: ignore[arg-type]


def advance(
    network_id: int,
    duration: Optional[Duration] = None,
    *,
    until_idle: bool = False,
    limit: Optional[Duration] = None,
) -> pb.AdvanceTimeRequest:
    req = pb.AdvanceTimeRequest(network_id=network_id)
    if until_idle:
        req.until_idle = True
        if limit is not None:
            req.limit.CopyFrom(duration_proto(limit))
    else:
        if duration is None:
            raise ValueError("advance: give a duration, or use advance_until_idle()")
        req.duration.CopyFrom(duration_proto(duration))
    return req


def _apply(spec: Union[PathSpec, pb.PathSpec], base: Optional[pb.PathSpec]) -> pb.PathSpec:
    if isinstance(spec, pb.PathSpec):
        return spec
    return spec.to_proto(base)


def link_specs(
    params: PathSpec,
    reverse: Optional[PathArg],
    forward: Optional[PathArg] = None,
) -> Tuple[pb.PathSpec, pb.PathSpec]:
    """Forward and reverse specs. `params` apply to both directions;
    `forward` and `reverse` hold what differs in the client-to-server and the
    server-to-client direction, applied on top of them."""
    fwd = params.to_proto()
    rev = params.to_proto()
    if forward is not None:
        fwd = _apply(path_spec(forward), fwd)
    if reverse is not None:
        rev = _apply(path_spec(reverse), rev)
    return fwd, rev


def _paths(direction: str, params: PathSpec, spec: Optional[PathArg]) -> List[str]:
    """The update mask's paths for one direction: the fields `params` and
    `spec` set, or the whole direction for a PathSpec message."""
    if spec is not None:
        spec = path_spec(spec)
        if isinstance(spec, pb.PathSpec):
            return [direction]
    fields = params.mask_paths()
    if spec is not None:
        fields += [f for f in spec.mask_paths() if f not in fields]
    return [f"{direction}.{f}" for f in fields]


def update_link(
    link_id: int,
    params: PathSpec,
    reverse: Optional[PathArg] = None,
    forward: Optional[PathArg] = None,
    *,
    replace: bool = False,
) -> Optional[pb.UpdateLinkRequest]:
    """An UpdateLink changing the fields given (`params` in both directions,
    `forward` and `reverse` on top) and naming exactly them in its field mask,
    so the daemon applies them to the link's current spec; every field, reset
    to its default unless given, with ``replace``. None when nothing changes."""
    fwd, rev = link_specs(params, reverse, forward)
    req = pb.UpdateLinkRequest(link_id=link_id, forward=fwd, reverse=rev)
    if replace:
        req.update_mask.paths.append("*")
        return req
    paths = _paths("forward", params, forward) + _paths("reverse", params, reverse)
    if not paths:
        return None
    req.update_mask.paths.extend(paths)
    return req


def open_session(
    link_id: int,
    *,
    network_id: int = 0,
    client: TcpConfigArg = None,
    server: TcpConfigArg = None,
    client_reader: ReaderArg = None,
    server_reader: ReaderArg = None,
    digest: bool = False,
    client_port: int = 0,
    server_port: int = 0,
    server_closed: bool = False,
    capture: bool = False,
) -> pb.OpenSessionRequest:
    req = pb.OpenSessionRequest(
        network_id=network_id,
        link_id=link_id,
        client=TcpConfig.of(client),
        server=TcpConfig.of(server),
        digest=digest,
        client_port=client_port,
        server_port=server_port,
        server_closed=server_closed,
        capture=capture,
    )
    cr = reader_proto(client_reader)
    if cr is not None:
        req.client_reader.CopyFrom(cr)
    sr = reader_proto(server_reader)
    if sr is not None:
        req.server_reader.CopyFrom(sr)
    return req


def connect(
    interface_id: int,
    address: str,
    port: int,
    *,
    config: TcpConfigArg = None,
    reader: ReaderArg = None,
    digest: bool = False,
    capture: bool = False,
    local_port: int = 0,
) -> pb.OpenSessionRequest:
    """An active open from the engine to a real host through an interface:
    only the client endpoint (the engine's) is configured."""
    req = pb.OpenSessionRequest(
        remote=pb.Remote(interface_id=interface_id, address=address, port=int(port)),
        client=TcpConfig.of(config),
        client_port=int(local_port),
        digest=digest,
        capture=capture,
    )
    r = reader_proto(reader)
    if r is not None:
        req.client_reader.CopyFrom(r)
    return req


def listen(
    interface_id: int,
    port: int,
    *,
    config: TcpConfigArg = None,
    reader: ReaderArg = None,
    digest: bool = False,
    backlog: int = 0,
    capture: bool = False,
) -> pb.ListenRequest:
    req = pb.ListenRequest(
        interface_id=interface_id,
        port=int(port),
        config=TcpConfig.of(config),
        digest=digest,
        backlog=int(backlog),
        capture=capture,
    )
    r = reader_proto(reader)
    if r is not None:
        req.reader.CopyFrom(r)
    return req


def _interface_path(
    spec: Optional[PathArg], base: Optional[pb.PathSpec], mtu: Optional[int]
) -> pb.PathSpec:
    out = pb.PathSpec()
    if spec is not None:
        out.CopyFrom(_apply(path_spec(spec), base))
    elif base is not None:
        out.CopyFrom(base)
    if mtu and not out.HasField("mtu"):
        out.mtu = mtu  # the path MTU follows the interface's, as on create
    return out


def interface_specs(
    egress: Optional[PathArg],
    ingress: Optional[PathArg],
    mtu: Optional[int] = None,
) -> Tuple[pb.PathSpec, pb.PathSpec]:
    """Egress and ingress specs of an interface's link; with `mtu`, a path
    left without an MTU takes the interface's."""
    return _interface_path(egress, None, mtu), _interface_path(ingress, None, mtu)


def interface_needs_mtu(
    egress: Optional[PathArg], ingress: Optional[PathArg], replace: bool
) -> bool:
    """Whether update_interface() replaces a whole path, which then takes the
    interface's MTU unless it sets one."""
    return replace or any(isinstance(s, pb.PathSpec) for s in (egress, ingress) if s is not None)


def update_interface(
    interface_id: int,
    egress: Optional[PathArg],
    ingress: Optional[PathArg],
    *,
    replace: bool = False,
    mtu: Optional[int] = None,
) -> Optional[pb.UpdateLinkRequest]:
    """An UpdateLink on an interface's link (same id) changing the fields
    given, named in its field mask; with ``replace`` (or a PathSpec message)
    the whole path, whose MTU is then `mtu` unless it sets one. None when
    nothing changes."""
    fwd, rev = interface_specs(egress, ingress, mtu)
    req = pb.UpdateLinkRequest(link_id=interface_id, forward=fwd, reverse=rev)
    if replace:
        req.update_mask.paths.append("*")
        return req
    paths: List[str] = []
    for direction, spec in (("forward", egress), ("reverse", ingress)):
        if spec is not None:
            paths += _paths(direction, PathSpec(), spec)
    if not paths:
        return None
    req.update_mask.paths.extend(paths)
    return req


def create_interface(
    address: str,
    *,
    network_id: int = 0,
    name: str = "",
    mac: str = "",
    mtu: Optional[Size] = None,
    gateway: str = "",
    egress: Optional[PathArg] = None,
    ingress: Optional[PathArg] = None,
) -> pb.CreateInterfaceRequest:
    fwd, rev = interface_specs(egress, ingress)
    return pb.CreateInterfaceRequest(
        network_id=network_id,
        name=name,
        address=address,
        mac=mac,
        mtu=0 if mtu is None else parse_size(mtu),
        gateway=gateway,
        egress=fwd,
        ingress=rev,
    )


def write(
    session_id: int,
    endpoint: _names.EnumArg,
    data: Optional[Data],
    fill: Optional[int],
    push: bool,
    wait: Optional[Duration],
) -> pb.WriteRequest:
    req = pb.WriteRequest(session_id=session_id, endpoint=_names.endpoint(endpoint), push=push)  # type: ignore[arg-type]
    if (data is None) == (fill is None):
        raise ValueError("write: give data or fill=N, not both")
    if fill is not None:
        req.fill_bytes = int(fill)
    else:
        req.data = data.encode() if isinstance(data, str) else bytes(data)  # type: ignore[arg-type]
    if wait is not None:
        req.wait.CopyFrom(duration_proto(wait))
    return req


def read(
    session_id: int, endpoint: _names.EnumArg, max_bytes: int, wait: Optional[Duration]
) -> pb.ReadRequest:
    req = pb.ReadRequest(
        session_id=session_id,
        endpoint=_names.endpoint(endpoint),  # type: ignore[arg-type]
        max_bytes=max_bytes,
    )
    if wait is not None:
        req.wait.CopyFrom(duration_proto(wait))
    return req


def close(session_id: int, endpoint: _names.EnumArg, rst: bool) -> pb.CloseRequest:
    return pb.CloseRequest(
        session_id=session_id,
        endpoint=_names.endpoint(endpoint),  # type: ignore[arg-type]
        mode=pb.CloseRequest.MODE_RST if rst else pb.CloseRequest.MODE_FIN,
    )


def set_reader(session_id: int, endpoint: _names.EnumArg, reader: ReaderArg) -> pb.SetReaderRequest:
    r = reader_proto(reader)
    if r is None:
        raise ValueError("set_reader: give 'auto', 'manual' or a rate in bytes/s")
    return pb.SetReaderRequest(session_id=session_id, endpoint=_names.endpoint(endpoint), reader=r)  # type: ignore[arg-type]


def inject_fault(
    *,
    link_id: Optional[int] = None,
    session_id: Optional[int] = None,
    action: _names.EnumArg = "drop",
    direction: Optional[_names.EnumArg] = None,
    count: int = 0,
    payload_only: bool = False,
    flags_all: FlagsArg = None,
    flags_none: FlagsArg = None,
    seq: Optional[Tuple[int, int]] = None,
    nth: int = 0,
    delay: Optional[Duration] = None,
    probability: Optional[Probability] = None,
    duration: Optional[Duration] = None,
) -> pb.InjectFaultRequest:
    req = pb.InjectFaultRequest(
        direction=_names.direction(direction),  # type: ignore[arg-type]
        action=_names.action(action),  # type: ignore[arg-type]
        count=count,
    )
    if link_id is not None:
        req.link_id = link_id
    elif session_id is not None:
        req.session_id = session_id
    req.match.flags_all = _names.flags(flags_all)
    req.match.flags_none = _names.flags(flags_none)
    req.match.payload_only = payload_only
    req.match.nth = nth
    if seq is not None:
        lo, hi = seq
        req.match.seq_lo = lo
        req.match.seq_hi = hi
    if delay is not None:
        req.delay.CopyFrom(duration_proto(delay))
    if probability is not None:
        req.probability = parse_probability(probability)
    if duration is not None:
        req.duration.CopyFrom(duration_proto(duration))
    return req


def kinds_list(kinds: KindsArg) -> list[int]:
    if kinds is None:
        return []
    if isinstance(kinds, (str, int)):
        kinds = [kinds]
    return [_names.kind(k) for k in kinds]


def watch(
    *,
    network_id: int = 0,
    session_ids: Sequence[int] = (),
    kinds: Sequence[int] = (),
    endpoint: Optional[_names.EnumArg] = None,
    replay: bool = False,
    max_batch: int = 0,
) -> pb.WatchEventsRequest:
    return pb.WatchEventsRequest(
        network_id=network_id,
        session_ids=list(session_ids),
        kinds=list(kinds),  # type: ignore[arg-type]
        endpoint=_names.endpoint_or_none(endpoint),  # type: ignore[arg-type]
        replay=replay,
        max_batch=max_batch,
    )


class WatchPlan:
    """A WatchEvents request and the filtering the client does itself: with
    ``until_destroyed`` the stream must also see SESSION_DESTROYED (which one
    endpoint emits), so the kinds and endpoint the caller asked for are
    applied client-side."""

    def __init__(
        self,
        *,
        network: Union[int, HasId, None],
        sessions: Sequence[Union[int, HasId]],
        kinds: KindsArg,
        endpoint: Optional[_names.EnumArg],
        replay: bool,
        max_batch: int,
        until_destroyed: Union[int, HasId, None],
    ) -> None:
        kind_list = kinds_list(kinds)
        self.stop: Optional[int] = None if until_destroyed is None else ident(until_destroyed)
        self.wanted: Optional[set[int]] = None
        if (
            self.stop is not None
            and kind_list
            and pb.EVENT_KIND_SESSION_DESTROYED not in kind_list
        ):
            self.wanted = set(kind_list)
            kind_list.append(pb.EVENT_KIND_SESSION_DESTROYED)
        self.endpoint: Optional[int] = None
        if self.stop is not None and endpoint is not None:
            self.endpoint, endpoint = _names.endpoint(endpoint), None
        self.request = watch(
            network_id=ident(network),
            session_ids=[ident(s) for s in sessions],
            kinds=kind_list,
            endpoint=endpoint,
            replay=replay,
            max_batch=max_batch,
        )
