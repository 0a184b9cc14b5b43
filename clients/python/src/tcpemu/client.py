"""The blocking client: :class:`Client` and the resource handles it returns
(:class:`Network`, :class:`Link`, :class:`Session`, :class:`EventStream`,
:class:`Interface`, :class:`Listener`; :class:`~tcpemu.proxy.Proxy` lives in
tcpemu.proxy)."""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
from typing import Any, Iterator, List, Optional, Sequence, Set, Tuple, Union

import grpc

from tcpemu import _names, _pcap
from tcpemu import _requests as rq
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2_grpc as rpc
from tcpemu._views import InterfaceView, LinkView, ListenerView, NetworkView, SessionView
from tcpemu.errors import (
    DeadlineExceeded,
    FailedPrecondition,
    NotFound,
    TcpemuError,
    Unavailable,
    from_rpc_error,
)
from tcpemu.model import AdvanceResult, Fault, Gap, ReadResult, SessionSnapshot
from tcpemu.proxy import Proxy
from tcpemu.security import TlsArg, make_channel
from tcpemu.spec import Jitter, PathArg, PathSpec, ReaderArg, TcpConfigArg, seconds
from tcpemu.toxics import ToxicArg
from tcpemu.units import Duration, Probability, Rate, Size, parse_duration

__all__ = [
    "DEFAULT_TARGET",
    "Client",
    "EventStream",
    "Interface",
    "Link",
    "Listener",
    "Network",
    "Proxy",
    "Session",
]

DEFAULT_TARGET = "127.0.0.1:50051"
# Read returns up to 4 MiB and Write takes as much: above gRPC's 4 MiB default.
CHANNEL_OPTIONS: Tuple[Tuple[str, Any], ...] = (
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
)


def default_target() -> str:
    """``$TCPEMU_TARGET``, else 127.0.0.1:50051."""
    return os.environ.get("TCPEMU_TARGET") or DEFAULT_TARGET


_id = rq.ident


def link_params(**params: Any) -> PathSpec:
    return PathSpec(**{k: v for k, v in params.items() if v is not None})


def state_reached(snap: SessionSnapshot, endpoint: str, target: Optional[int]) -> bool:
    """Whether `endpoint` is in state `target` (None: the session is destroyed)."""
    if target is None:
        return snap.destroyed
    ep = snap.client if _names.endpoint(endpoint) == pb.ENDPOINT_CLIENT else snap.server
    return bool(ep.tcb.state == target)


def wait_target(state: Union[str, int]) -> Optional[int]:
    if isinstance(state, str) and state.strip().lower() == "destroyed":
        return None
    return _names.state(state)


class Client:
    """A connection to tcpemud.

    ``timeout`` (seconds, None for none) is the deadline of every call; a call
    that waits on the daemon (``wait=``) gets that long on top. Use it as a
    context manager, or call :meth:`close`.

    ``tls`` (a :class:`~tcpemu.TLS`, or True for the system's CAs) speaks TLS
    to a daemon run with ``--tls_cert``, with a client certificate for one run
    with ``--tls_client_ca``; ``token`` is sent as ``authorization: Bearer``
    on every call, for a daemon run with ``--auth_tokens`` (see
    docs/security.md).
    """

    def __init__(
        self,
        target: Optional[str] = None,
        timeout: Optional[float] = 10.0,
        *,
        channel: Optional[grpc.Channel] = None,
        options: Sequence[Tuple[str, Any]] = (),
        tls: TlsArg = None,
        token: Optional[str] = None,
    ) -> None:
        self.target = target or default_target()
        self.timeout = timeout
        self._own_channel = channel is None
        if channel is not None and (tls or token is not None):
            raise ValueError("tls and token configure the client's own channel: not with channel=")
        self._channel = channel or make_channel(
            self.target, list(CHANNEL_OPTIONS) + list(options), tls, token
        )
        self._stub: Any = rpc.EmulatorStub(self._channel)  # type: ignore[no-untyped-call]

    def __repr__(self) -> str:
        return f"Client(target={self.target!r}, timeout={self.timeout!r})"

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._own_channel:
            self._channel.close()

    @property
    def stub(self) -> Any:
        """The generated EmulatorStub, for calls this wrapper does not cover."""
        return self._stub

    def wait_ready(self, timeout: Optional[float] = None) -> None:
        """Blocks until the channel is connected; Unavailable after `timeout`."""
        try:
            grpc.channel_ready_future(self._channel).result(timeout=timeout)
        except grpc.FutureTimeoutError:
            raise Unavailable(f"tcpemud at {self.target} is not reachable") from None

    def _call(self, method: str, request: Any, wait: Optional[Duration] = None) -> Any:
        timeout = self.timeout
        if timeout is not None and wait is not None:
            timeout += parse_duration(wait) / 1e9
        try:
            return getattr(self._stub, method)(request, timeout=timeout)
        except grpc.RpcError as e:
            raise from_rpc_error(e) from None

    # ------------------------------------------------------------ networks

    def create_network(self, clock: Union[str, int] = "realtime", seed: int = 0) -> Network:
        """A new clock domain: ``clock="virtual"`` moves only through
        :meth:`Network.advance`; seed 0 lets the daemon pick one."""
        return Network(self, self._call("CreateNetwork", rq.create_network(clock, seed)))

    def network(self, network: Union[int, Network] = 0) -> Network:
        """A network by id; 0 is the default REALTIME network."""
        return Network(
            self, self._call("GetNetwork", pb.GetNetworkRequest(network_id=_id(network)))
        )

    def networks(self) -> List[Network]:
        resp = self._call("ListNetworks", pb.ListNetworksRequest())
        return [Network(self, n) for n in resp.networks]

    def delete_network(self, network: Union[int, Network]) -> None:
        self._call("DeleteNetwork", pb.DeleteNetworkRequest(network_id=_id(network)))

    def advance(self, network: Union[int, Network], duration: Duration) -> AdvanceResult:
        """Runs a VIRTUAL network's clock forward by `duration`."""
        resp = self._call("AdvanceTime", rq.advance(_id(network), duration))
        return AdvanceResult(seconds(resp.now), resp.idle)

    def advance_until_idle(
        self, network: Union[int, Network], limit: Optional[Duration] = None
    ) -> AdvanceResult:
        """Runs a VIRTUAL network until nothing is scheduled (at most `limit`
        of virtual time; the daemon's default is 1h)."""
        resp = self._call("AdvanceTime", rq.advance(_id(network), until_idle=True, limit=limit))
        return AdvanceResult(seconds(resp.now), resp.idle)

    # ------------------------------------------------------------ links

    def create_link(
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
        """A link whose two directions share these settings; `reverse` (a
        :class:`PathSpec` or a dict of the same keywords) overrides some of them
        for the server-to-client direction."""
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
        return Link(self, self._call("CreateLink", req))

    def link(self, link: Union[int, Link]) -> Link:
        return Link(self, self._call("GetLink", pb.GetLinkRequest(link_id=_id(link))))

    def links(self, network: Union[int, Network, None] = None) -> List[Link]:
        resp = self._call("ListLinks", pb.ListLinksRequest(network_id=_id(network)))
        return [Link(self, p) for p in resp.links]

    def update_link(
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
        """Changes a live link. Settings left as None keep their current value
        (in each direction), unless ``replace=True`` resets them to defaults."""
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
        current = None if replace else self.link(link).proto
        fwd, rev = rq.link_specs(params, reverse, current)
        req = pb.UpdateLinkRequest(link_id=_id(link), forward=fwd, reverse=rev)
        return Link(self, self._call("UpdateLink", req))

    def delete_link(self, link: Union[int, Link]) -> None:
        self._call("DeleteLink", pb.DeleteLinkRequest(link_id=_id(link)))

    # ------------------------------------------------------------ sessions

    def open_session(
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
        """Opens a TCP connection across `link`: the client endpoint sends its
        SYN at once. Readers: "auto" (the default: the application reads and
        discards everything), "manual" (only :meth:`Session.read` consumes),
        or a rate in bytes/s. ``digest=True`` keeps SHA-256 of the bytes
        written and read; ``capture=True`` keeps its packets for
        :meth:`export_pcap`."""
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
        return Session(self, self._call("OpenSession", req))

    def session(self, session: Union[int, Session]) -> Session:
        return Session(
            self, self._call("GetSession", pb.GetSessionRequest(session_id=_id(session)))
        )

    def sessions(
        self, network: Union[int, Network, None] = None, link: Union[int, Link, None] = None
    ) -> List[Session]:
        """Every session kept by the daemon (live or finished), in id order."""
        out: List[Session] = []
        token = ""
        while True:
            req = pb.ListSessionsRequest(
                network_id=_id(network), link_id=_id(link), page_size=1000, page_token=token
            )
            resp = self._call("ListSessions", req)
            out.extend(Session(self, p) for p in resp.sessions)
            token = resp.next_page_token
            if not token:
                return out

    def delete_session(self, session: Union[int, Session]) -> None:
        self._call("DeleteSession", pb.DeleteSessionRequest(session_id=_id(session)))

    def export_pcap(self, session: Union[int, Session], dest: _pcap.PcapDest) -> int:
        """Writes the packets of a session opened with ``capture=True`` (or of
        any session when tcpemud runs with --pcap_dir) to `dest`, a path or a
        binary file, as a pcap file (LINKTYPE_RAW, nanosecond timestamps);
        returns its size. FailedPrecondition if nothing was captured."""
        req = pb.ExportPcapRequest(session_id=_id(session))
        try:
            chunks = [c.data for c in self._stub.ExportPcap(req, timeout=self.timeout)]
        except grpc.RpcError as e:
            raise from_rpc_error(e) from None
        return _pcap.write(chunks, dest)

    # ------------------------------------------------------------ interfaces

    def create_interface(
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
        """A TAP device joining a REALTIME network (the default network unless
        `network`) to real hosts. `address` is the engine's IPv4 address and
        prefix, ``"10.7.0.2/24"``; `name` the device's (default: the daemon
        picks "tcpemuN"; an existing persistent TAP of that name is attached),
        `mtu` 576 to 9000 (default 1500), `gateway` the next hop for
        addresses outside the prefix. `egress` (engine to host) and `ingress`
        impair the traffic like a link's directions: a :class:`PathSpec` or a
        dict of its keywords. Needs root (or CAP_NET_ADMIN) in the daemon."""
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
        return Interface(self, self._call("CreateInterface", req))

    def interface(self, interface: Union[int, Interface]) -> Interface:
        req = pb.GetInterfaceRequest(interface_id=_id(interface))
        return Interface(self, self._call("GetInterface", req))

    def interfaces(self, network: Union[int, Network, None] = None) -> List[Interface]:
        req = pb.ListInterfacesRequest(network_id=_id(network))
        return [Interface(self, p) for p in self._call("ListInterfaces", req).interfaces]

    def update_interface(
        self,
        interface: Union[int, Interface],
        egress: Optional[PathArg] = None,
        ingress: Optional[PathArg] = None,
        *,
        replace: bool = False,
    ) -> Interface:
        """Changes an interface's impairment, live (UpdateLink on its link).
        Settings left out keep their value, unless ``replace=True`` resets
        them to defaults; the paths' MTU stays the interface's."""
        current = self.interface(interface).proto
        fwd, rev = rq.interface_specs(egress, ingress, None if replace else current, current.mtu)
        req = pb.UpdateLinkRequest(link_id=current.id, forward=fwd, reverse=rev)
        self._call("UpdateLink", req)
        return self.interface(current.id)

    def delete_interface(self, interface: Union[int, Interface]) -> None:
        """Aborts the interface's sessions (RST), closes its listeners and
        removes the TAP device if the daemon created it."""
        self._call("DeleteInterface", pb.DeleteInterfaceRequest(interface_id=_id(interface)))

    def connect(
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
        """Opens a TCP connection from the engine to a real host at
        `address`:`port` through `interface`. The session's only endpoint is
        the engine's client (`config`, `reader`, `local_port`: 0 for the next
        ephemeral port); it sends its SYN at once."""
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
        return Session(self, self._call("OpenSession", req))

    def listen(
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
        """Listens on `port` of `interface`: each connection a host opens
        becomes a session whose server endpoint is the engine's (configured
        by `config`, `reader`, `digest` and `capture`); :meth:`Listener.accept`
        returns them. `backlog` bounds the connections in SYN-RECEIVED at
        once (0: 128)."""
        iface_id = _id(interface)
        network = interface.network_id if isinstance(interface, Interface) else None
        # Subscribe before listening, so that no connection goes unannounced.
        stream = self.events(network=network, kinds="session_accepted")
        try:
            if not stream.wait_subscribed(self.timeout):
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
            return Listener(self, self._call("Listen", req), stream)
        except BaseException:
            stream.cancel()
            raise

    def delete_listener(self, interface: Union[int, Interface], port: int) -> None:
        """Stops listening; sessions already accepted go on."""
        req = pb.DeleteListenerRequest(interface_id=_id(interface), port=int(port))
        self._call("DeleteListener", req)

    # ------------------------------------------------------------ proxies

    def create_proxy(
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
        """A proxy called `name` (``[A-Za-z0-9._-]``, 1 to 64 characters,
        unique in the daemon): the daemon listens on `listen` ("host:port";
        port 0 picks a free one, see :attr:`Proxy.listen_address`) and relays
        every connection it accepts, through an emulated session, to
        `upstream` ("host:port"). Both must be allowed by the daemon's
        --proxy_listen_allow and --proxy_upstream_allow (loopback by
        default): PermissionDenied otherwise.

        The connections cross `link`, an existing link of the (REALTIME)
        network, or a link made for the proxy from the path settings, which
        apply to both directions as in :meth:`create_link`; `forward`
        (application to upstream) and `reverse` (upstream to application),
        a :class:`PathSpec` or a dict of its keywords, override some of them
        in one direction. `downstream_tcp` configures the engine endpoint
        facing the application, `upstream_tcp` the one facing the upstream;
        `relay_buffer` is the bytes held per direction per connection
        (default 64 KiB); `toxics` are ``tcpemu.toxics`` values."""
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
        return Proxy(self, self._call("CreateProxy", req))

    def proxy(self, proxy: rq.ProxyRef) -> Proxy:
        """A proxy by name (a str) or id (an int)."""
        return Proxy(self, self._call("GetProxy", rq.get_proxy(proxy)))

    def proxies(self, network: Union[int, Network, None] = None) -> List[Proxy]:
        """The proxies of a network, or of every network."""
        req = pb.ListProxiesRequest(network_id=_id(network))
        return [Proxy(self, p) for p in self._call("ListProxies", req).proxies]

    def update_proxy(
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
        """Changes the settings given (the others stay): a new `listen`
        address re-binds; ``enabled=False`` stops listening and closes the
        proxy's connections; `toxics` replaces the whole list; TCP settings
        and the relay buffer apply to connections opened afterwards. To
        change the paths, update the proxy's link
        (``client.update_link(proxy.link_id, ...)``)."""
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
        return Proxy(self, self._call("UpdateProxy", req))

    def delete_proxy(self, proxy: rq.ProxyRef) -> None:
        """Stops listening and closes the proxy's connections; their
        sessions stay until deleted."""
        self._call("DeleteProxy", rq.delete_proxy(proxy))

    # ------------------------------------------------------------ faults

    def inject_fault(
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
        """Installs a fault rule on a link, or on one session's segments.

        action: drop, delay (by `delay`), duplicate, corrupt or reorder.
        direction: "forward" (client to server), "reverse" or "both" (None).
        Matching: `payload_only`, `flags_all` / `flags_none` ("SYN,ACK" or
        "SA"), `seq=(lo, hi)` (relative to the sender's ISS for a session
        fault) and `nth` (only the nth match). `count` limits how many
        segments it hits (0: no limit), `probability` how often, `duration`
        how long.
        """
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
        resp = self._call("InjectFault", req)
        return Fault(tuple(resp.ids), resp.link_id)

    def clear_faults(
        self, *, link: Union[int, Link, None] = None, session: Union[int, Session, None] = None
    ) -> None:
        """Removes every fault rule of a link (a session's: of its link)."""
        if (link is None) == (session is None):
            raise ValueError("clear_faults: give link= or session=")
        req = pb.ClearFaultsRequest()
        if link is not None:
            req.link_id = _id(link)
        else:
            req.session_id = _id(session)
        self._call("ClearFaults", req)

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
        """A live stream of events, filtered by network, sessions, kinds
        ("segment_sent", ...) and endpoint (every condition must hold; empty
        matches all). ``replay=True`` first replays what the daemon retained
        of the watched sessions (their most recent events; the daemon keeps
        256 per session by default), so a session opened just before is seen
        from its SYN. With `until_destroyed`, the stream ends after that
        session's SESSION_DESTROYED event.

        A link's drops and mangles carry the session id of the segment they
        act on, so session-filtered streams include them.
        """
        plan = rq.WatchPlan(
            network=network,
            sessions=sessions,
            kinds=kinds,
            endpoint=endpoint,
            replay=replay,
            max_batch=max_batch,
            until_destroyed=until_destroyed,
        )
        try:
            call = self._stub.WatchEvents(plan.request)
        except grpc.RpcError as e:
            raise from_rpc_error(e) from None
        return EventStream(
            call, stop_session=plan.stop, wanted=plan.wanted, endpoint=plan.endpoint
        )


class EventStream:
    """An iterator of tcpemu.v1.Event messages, with a :class:`Gap` wherever
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

    def __iter__(self) -> Iterator[Union[pb.Event, Gap]]:
        return self._gen

    def __next__(self) -> Union[pb.Event, Gap]:
        return next(self._gen)

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cancel()

    def cancel(self) -> None:
        """Ends the stream; iteration stops after what was already received."""
        self._cancelled = True
        self._call.cancel()

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def wait_subscribed(self, timeout: Optional[float] = None) -> bool:
        """Waits until the daemon has answered the stream, so that events from
        now on reach it; True if it did within `timeout`. The daemon sends the
        stream's headers as soon as it has subscribed it, before any event."""
        done = threading.Event()

        def wait() -> None:
            try:
                self._call.initial_metadata()
            finally:
                done.set()

        threading.Thread(target=wait, daemon=True).start()
        return done.wait(timeout)

    def _generate(self) -> Iterator[Union[pb.Event, Gap]]:
        destroyed = pb.EVENT_KIND_SESSION_DESTROYED
        stop = self._stop
        wanted = self._wanted
        only = self._endpoint
        try:
            for batch in self._call:
                if batch.events_lost:
                    self.lost += batch.events_lost
                    yield Gap(batch.events_lost)
                if stop is None:
                    yield from batch.events
                    continue
                for ev in batch.events:
                    keep = (wanted is None or ev.kind in wanted) and (
                        only is None or ev.endpoint == only
                    )
                    if ev.kind == destroyed and ev.session_id == stop:
                        if keep:
                            yield ev
                        self.cancel()
                        return
                    if keep:
                        yield ev
        except grpc.RpcError as e:
            if self._cancelled and e.code() == grpc.StatusCode.CANCELLED:
                return
            raise from_rpc_error(e) from None


class Network(NetworkView):
    """A clock domain (tcpemu.v1.Network). Attributes are as of the last
    fetch; :meth:`refresh` fetches again."""

    def __init__(self, client: Client, proto: pb.Network) -> None:
        self.client = client
        self.proto = proto

    def __repr__(self) -> str:
        return f"Network(id={self.id}, clock={self.clock!r}, seed={self.seed})"

    def refresh(self) -> Network:
        self.proto = self.client.network(self.id).proto
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
        return f"Link(id={self.id}, network_id={self.network_id})"

    def refresh(self) -> Link:
        self.proto = self.client.link(self.id).proto
        return self

    def update(self, *args: Any, **kwargs: Any) -> Link:
        """:meth:`Client.update_link` on this link; refreshes it."""
        self.proto = self.client.update_link(self, *args, **kwargs).proto
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
        return f"Session(id={self.id}, link_id={self.link_id}, network_id={self.network_id})"

    @property
    def network(self) -> Network:
        """The session's network (fetched once)."""
        if self._network is None:
            self._network = self.client.network(self.network_id)
        return self._network

    def snapshot(self) -> SessionSnapshot:
        """Both endpoints' state, TCB and counters now (GetSession)."""
        self.proto = self.client._call("GetSession", pb.GetSessionRequest(session_id=self.id))
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
        return int(self.client._call("Write", req, wait=wait).accepted)

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
        return _names.state_name(self.client._call("Close", req).state)

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
        virtual = self.network.virtual
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
                        f"session {self.id}: {_describe(snap, ep_name)} and nothing is scheduled "
                        f"on network {self.network_id}, so it will not reach {_target_name(state)}"
                    )
            else:
                if time.monotonic() >= deadline:
                    break
                time.sleep(0.005)
        raise DeadlineExceeded(
            f"session {self.id}: {_describe(snap, ep_name)} after {timeout}s, "
            f"not {_target_name(state)}"
        )

    def delete(self) -> None:
        """Forgets the session (its final state and history); aborts it if live."""
        self.client.delete_session(self)


def _describe(snap: SessionSnapshot, endpoint: str) -> str:
    ep = snap.endpoint(endpoint)
    return f"{endpoint} is {ep.state}" + (" (destroyed)" if snap.destroyed else "")


def _target_name(state: Union[str, int]) -> str:
    target = wait_target(state)
    return "destroyed" if target is None else _names.state_name(target)


class Interface(InterfaceView):
    """A TAP device joining a REALTIME network to real hosts
    (tcpemu.v1.Interface). Its id is also a link id: ``egress`` (engine to
    host) is the link's forward direction, ``ingress`` its reverse.
    Attributes are as of the last fetch; :meth:`refresh` fetches again."""

    def __init__(self, client: Client, proto: pb.Interface) -> None:
        self.client = client
        self.proto = proto

    def __repr__(self) -> str:
        return f"Interface(id={self.id}, name={self.name!r}, address={self.address!r})"

    def refresh(self) -> Interface:
        self.proto = self.client.interface(self.id).proto
        return self

    def update(self, *args: Any, **kwargs: Any) -> Interface:
        """:meth:`Client.update_interface` on this interface; refreshes it."""
        self.proto = self.client.update_interface(self, *args, **kwargs).proto
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
        self._queue: queue.Queue[Union[int, TcpemuError, None]] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def __repr__(self) -> str:
        return f"Listener(interface_id={self.interface_id}, port={self.port})"

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
                item = self._queue.get(timeout=left)
            except queue.Empty:
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

    def delete(self) -> None:
        """Stops listening (sessions already accepted go on) and watching."""
        try:
            self.client.delete_listener(self.interface_id, self.port)
        finally:
            self.close()
