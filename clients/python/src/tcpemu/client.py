"""The blocking client: :class:`Client` and the resource handles it returns
(:class:`Network`, :class:`Link`, :class:`Session`, :class:`EventStream`)."""

from __future__ import annotations

import os
import threading
import time
from typing import Any, Iterator, List, Optional, Sequence, Set, Tuple, Union

import grpc

from tcpemu import _names
from tcpemu import _requests as rq
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2_grpc as rpc
from tcpemu._views import LinkView, NetworkView, SessionView
from tcpemu.errors import DeadlineExceeded, FailedPrecondition, Unavailable, from_rpc_error
from tcpemu.model import AdvanceResult, Fault, Gap, ReadResult, SessionSnapshot
from tcpemu.spec import Jitter, PathArg, PathSpec, ReaderArg, TcpConfigArg, seconds
from tcpemu.units import Duration, Probability, Rate, Size, parse_duration

__all__ = ["DEFAULT_TARGET", "Client", "EventStream", "Link", "Network", "Session"]

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
    """

    def __init__(
        self,
        target: Optional[str] = None,
        timeout: Optional[float] = 10.0,
        *,
        channel: Optional[grpc.Channel] = None,
        options: Sequence[Tuple[str, Any]] = (),
    ) -> None:
        self.target = target or default_target()
        self.timeout = timeout
        self._own_channel = channel is None
        self._channel = channel or grpc.insecure_channel(
            self.target, options=list(CHANNEL_OPTIONS) + list(options)
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
    ) -> Session:
        """Opens a TCP connection across `link`: the client endpoint sends its
        SYN at once. Readers: "auto" (the default: the application reads and
        discards everything), "manual" (only :meth:`Session.read` consumes),
        or a rate in bytes/s. ``digest=True`` keeps SHA-256 of the bytes
        written and read."""
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
        now on reach it; True if it did within `timeout`. The daemon answers
        with its first batch, so this needs an event to watch: with
        ``replay=True`` a session's retained history is one."""
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
    """One TCP connection with both endpoints in the daemon. ``proto`` is the
    tcpemu.v1.Session last fetched; :meth:`snapshot` fetches a new one."""

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
        endpoint: Union[str, int] = "client",
    ) -> int:
        """Hands bytes to an endpoint's send buffer: `data`, or `fill` bytes
        of a seeded pattern. Returns how many were accepted; with `wait`, waits
        up to that long for room until everything is accepted."""
        req = rq.write(self.id, endpoint, data, fill, push, wait)
        return int(self.client._call("Write", req, wait=wait).accepted)

    def read(
        self,
        max_bytes: int = 65536,
        *,
        wait: Optional[Duration] = None,
        endpoint: Union[str, int] = "server",
    ) -> ReadResult:
        """Reads up to `max_bytes` an endpoint received (its reader must be
        "manual"); with `wait`, waits up to that long for at least one byte."""
        resp = self.client._call("Read", rq.read(self.id, endpoint, max_bytes, wait), wait=wait)
        return ReadResult(resp.data, resp.eof)

    def close(self, endpoint: Union[str, int] = "client", *, rst: bool = False) -> str:
        """Closes one endpoint with a FIN (or an RST); returns its new state."""
        resp = self.client._call("Close", rq.close(self.id, endpoint, rst))
        return _names.state_name(resp.state)

    def set_reader(self, reader: ReaderArg, endpoint: Union[str, int] = "server") -> None:
        """Changes how an endpoint's application reads: "auto", "manual" or bytes/s."""
        self.client._call("SetReader", rq.set_reader(self.id, endpoint, reader))

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
        endpoint: Union[str, int] = "client",
        timeout: float = 10.0,
        *,
        step: Duration = "1ms",
        max_step: Duration = "100ms",
    ) -> SessionSnapshot:
        """Waits until `endpoint` is in `state` ("ESTABLISHED", "TIME_WAIT",
        ..., or "destroyed" for the whole session) and returns the snapshot.

        On a REALTIME network it polls for up to `timeout` seconds. On a
        VIRTUAL network it advances the clock itself, by `step` at first and
        doubling up to `max_step`, for up to `timeout` seconds of virtual
        time; FailedPrecondition if the network goes idle first.
        """
        target = wait_target(state)
        ep_name = _names.endpoint_name(_names.endpoint(endpoint))
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
