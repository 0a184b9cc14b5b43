# Generated from tcpemu/_async/client.py by tools/gen_sync.py (unasync): do not
# edit. Change the asyncio module and run 'python tools/gen_sync.py' in
# clients/python.
""":class:`Client`: a connection to tcpemud and every call of the API.
The asyncio source of the blocking client (tools/gen_sync.py)."""

from __future__ import annotations

from typing import Any, List, Mapping, Optional, Sequence, Tuple, Union

import grpc

import tcpemu._sync_support as _support
from tcpemu import _pcap
from tcpemu import _proxy_requests as prq
from tcpemu import _requests as rq
from tcpemu._sync.handles import Interface, Link, Listener, Network, Proxy, Session
from tcpemu._sync.streams import EventStream
from tcpemu._common import (
    CHANNEL_OPTIONS,
    default_target,
    link_params,
)
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2_grpc as rpc
from tcpemu.errors import (
    Unavailable,
    from_rpc_error,
)
from tcpemu.model import AdvanceResult, Fault
from tcpemu.security import TlsArg
from tcpemu.spec import Jitter, PathArg, ReaderArg, TcpConfigArg, seconds
from tcpemu.toxics import ToxicArg
from tcpemu.units import Duration, Probability, Rate, Size, parse_duration

_id = rq.ident

#: The most items one :meth:`Client.open_sessions` call takes (the daemon's
#: bound; more is :class:`~tcpemu.errors.InvalidArgument`).
MAX_OPEN_SESSIONS_BATCH = 1000


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
        channel: Optional[_support.Channel] = None,
        options: Sequence[Tuple[str, Any]] = (),
        tls: TlsArg = None,
        token: Optional[str] = None,
    ) -> None:
        self.target = target or default_target()
        self.timeout = timeout
        self._own_channel = channel is None
        if channel is not None and (tls or token is not None):
            raise ValueError("tls and token configure the client's own channel: not with channel=")
        self._channel = channel or _support.make_channel(
            self.target, list(CHANNEL_OPTIONS) + list(options), tls, token
        )
        self._stub: Any = rpc.EmulatorStub(self._channel)  # type: ignore[no-untyped-call]

    def __repr__(self) -> str:
        return f"{_support.REPR_PREFIX}Client(target={self.target!r}, timeout={self.timeout!r})"

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
        """Waits until the channel is connected; Unavailable after `timeout`."""
        if not _support.channel_ready(self._channel, timeout):
            raise Unavailable(f"tcpemud at {self.target} is not reachable")

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
        req = pb.GetNetworkRequest(network_id=_id(network))
        return Network(self, self._call("GetNetwork", req))

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
        req = rq.advance(_id(network), until_idle=True, limit=limit)
        resp = self._call("AdvanceTime", req)
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
        forward: Optional[PathArg] = None,
        network: Union[int, Network, None] = None,
    ) -> Link:
        """A link whose two directions share these settings; `reverse` (a
        :class:`PathSpec` or a dict of the same keywords, and ``aqm``,
        ``schedule``, ``trace``, ``queue_sample_interval``) overrides some of
        them for the server-to-client direction, `forward` for the
        client-to-server one."""
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
        fwd, rev = rq.link_specs(params, reverse, forward)
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
        (in each direction), unless ``replace=True`` resets them to defaults.
        The daemon applies the change to the link's current spec (UpdateLink
        with a field mask naming the settings given), so concurrent updates
        of different settings do not undo each other."""
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
        req = rq.update_link(_id(link), params, reverse, replace=replace)
        if req is None:
            return self.link(link)
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

    def open_sessions(
        self,
        items: Sequence[Union[int, Link, Mapping[str, Any]]],
        **common: Any,
    ) -> List[Session]:
        """Opens one session per item in a single call (``OpenSessions``) and
        returns them in the order of `items`. An item is a link (id or
        :class:`Link`), or a mapping of :meth:`open_session`'s arguments with
        its ``"link"``; `common` takes the same keyword arguments and applies
        to every item, an item's own mapping overriding it.

        All or nothing: when any item is refused (a bad argument, an unknown
        link, ``--max_sessions``, a port in use) no session is opened and the
        error names the item ("sessions[3].link_id 9 not found"). At most
        :data:`MAX_OPEN_SESSIONS_BATCH` items per call; split larger sets."""
        if "link" in common:
            raise TypeError("open_sessions: 'link' belongs in the items")
        req = pb.OpenSessionsRequest()
        for i, item in enumerate(items):
            if isinstance(item, Mapping):
                args = {**common, **item}
                if "link" not in args:
                    raise TypeError(f"open_sessions: items[{i}] has no 'link'")
                link = args.pop("link")
            else:
                args, link = dict(common), item
            req.sessions.append(rq.open_session(_id(link), **args))
        resp = self._call("OpenSessions", req)
        return [Session(self, s) for s in resp.sessions]

    def session(self, session: Union[int, Session]) -> Session:
        req = pb.GetSessionRequest(session_id=_id(session))
        return Session(self, self._call("GetSession", req))

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
        return [Interface(self, p) for p in (self._call("ListInterfaces", req)).interfaces]

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
        iid = _id(interface)
        mtu = None
        if rq.interface_needs_mtu(egress, ingress, replace):
            mtu = (self.interface(iid)).mtu
        req = rq.update_interface(iid, egress, ingress, replace=replace, mtu=mtu)
        if req is not None:
            self._call("UpdateLink", req)
        return self.interface(iid)

    def delete_interface(self, interface: Union[int, Interface]) -> None:
        """Aborts the interface's sessions (RST), closes its listeners and
        removes the TAP device if the daemon created it."""
        req = pb.DeleteInterfaceRequest(interface_id=_id(interface))
        self._call("DeleteInterface", req)

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
        req = prq.create_proxy(
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

    def proxy(self, proxy: prq.ProxyRef) -> Proxy:
        """A proxy by name (a str) or id (an int)."""
        return Proxy(self, self._call("GetProxy", prq.get_proxy(proxy)))

    def proxies(self, network: Union[int, Network, None] = None) -> List[Proxy]:
        """The proxies of a network, or of every network."""
        req = pb.ListProxiesRequest(network_id=_id(network))
        return [Proxy(self, p) for p in (self._call("ListProxies", req)).proxies]

    def update_proxy(
        self,
        proxy: prq.ProxyRef,
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
        req = prq.update_proxy(
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

    def delete_proxy(self, proxy: prq.ProxyRef) -> None:
        """Stops listening and closes the proxy's connections; their
        sessions stay until deleted."""
        self._call("DeleteProxy", prq.delete_proxy(proxy))

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
            call,
            stop_session=plan.stop,
            wanted=plan.wanted,
            endpoint=plan.endpoint,
        )
