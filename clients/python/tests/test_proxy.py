"""Proxies: requests built from the client's arguments, and real TCP
connections relayed by tcpemud to an echo server across emulated links.

Latencies are checked as lower bounds only (the emulated delays), and every
wait has a generous deadline, so that a busy machine keeps the verdict."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import socket
import socketserver
import threading
import time
import uuid
from typing import Iterator, List, Tuple

import grpc
import pytest

import tcpemu
import tcpemu.aio
from tcpemu import _proxy_requests as rq
from tcpemu import toxics
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb

# ------------------------------------------------------------------ requests


def test_toxic_helpers_build_the_messages():
    t = toxics.latency("50ms", jitter="5ms").to_proto()
    assert t.WhichOneof("kind") == "latency"
    assert t.latency.latency.ToNanoseconds() == 50_000_000
    assert t.latency.jitter.ToNanoseconds() == 5_000_000
    assert t.stream == pb.TOXIC_STREAM_DOWNSTREAM
    assert not t.HasField("toxicity") and t.name == ""

    b = toxics.bandwidth("1Mbit", stream="upstream", toxicity="50%", name="slow").to_proto()
    assert (b.bandwidth.rate_bps, b.stream, b.toxicity, b.name) == (
        1_000_000,
        pb.TOXIC_STREAM_UPSTREAM,
        0.5,
        "slow",
    )
    assert toxics.limit_data("1KiB").to_proto().limit_data.bytes == 1024
    assert toxics.slow_close("2s").to_proto().slow_close.delay.seconds == 2
    assert toxics.reset_peer("100ms").to_proto().reset_peer.timeout.ToMilliseconds() == 100
    s = toxics.slicer(100, 10, "1ms").to_proto().slicer
    assert (s.average_size, s.size_variation, s.delay.ToMicroseconds()) == (100, 10, 1000)
    # Every attribute zero: the kind is still set (a black hole that never closes).
    assert toxics.timeout().to_proto().WhichOneof("kind") == "timeout"


def test_toxic_round_trips_in_numbers():
    original = toxics.latency("50ms", jitter="5ms", stream="upstream", toxicity=0.25, name="x")
    back = tcpemu.Toxic.from_proto(original.to_proto())
    assert back.type == "latency" and back.name == "x" and back.stream == "upstream"
    assert back.attributes == {"latency": 0.05, "jitter": 0.005}
    assert back.toxicity == 0.25
    assert back.to_proto() == original.to_proto()
    assert back.describe() == "x: latency upstream, latency 50ms, jitter 5ms, toxicity 0.25"
    assert toxics.make("limit-data", {"bytes": "10kB"}).attributes == {"bytes": "10kB"}


def test_toxic_values_are_checked_before_any_call():
    with pytest.raises(ValueError, match="toxic type 'jitter' is not valid; allowed: latency"):
        toxics.make("jitter", {})
    with pytest.raises(ValueError, match="unknown attribute 'delay'; allowed: latency, jitter"):
        toxics.make("latency", {"delay": "1ms"})
    # toxiproxy's bare milliseconds are refused rather than read as seconds.
    with pytest.raises(ValueError, match=r"^latency: '50' is not a valid duration"):
        toxics.make("latency", {"latency": "50"})
    with pytest.raises(ValueError, match="stream: 'sideways' is not valid"):
        toxics.latency("1ms", stream="sideways")
    with pytest.raises(ValueError, match="'lots' is not a valid probability"):
        toxics.latency("1ms", toxicity="lots")
    with pytest.raises(TypeError, match=r"expected a tcpemu\.toxics\.Toxic"):
        rq.update_proxy("p", toxics=[{"type": "latency"}])  # type: ignore[list-item]


def test_update_request_names_exactly_the_fields_given():
    req = rq.update_proxy("redis", enabled=False)
    assert (req.proxy.name, req.proxy.id, req.proxy.enabled) == ("redis", 0, False)
    assert list(req.update_mask.paths) == ["enabled"]
    req = rq.update_proxy(7, toxics=[], upstream="127.0.0.1:6380", relay_buffer="1MiB")
    assert req.proxy.id == 7 and req.proxy.name == ""
    assert sorted(req.update_mask.paths) == ["relay_buffer", "toxics", "upstream"]
    assert req.proxy.relay_buffer == 1 << 20 and len(req.proxy.toxics) == 0
    req = rq.update_proxy("p", downstream_tcp=tcpemu.TcpConfig(nodelay=True))
    assert list(req.update_mask.paths) == ["downstream_tcp"] and req.proxy.downstream_tcp.nodelay
    with pytest.raises(ValueError, match="update_proxy: nothing to change"):
        rq.update_proxy("p")


def test_create_request_paths_and_link():
    params = tcpemu.PathSpec(delay="50ms", loss="1%")
    req = rq.create_proxy(
        "redis",
        "127.0.0.1:26379",
        "127.0.0.1:6379",
        params=params,
        forward={"rate": "10Mbit"},
        reverse=tcpemu.PathSpec(delay="80ms"),
        toxics=[toxics.latency("5ms")],
    )
    assert req.forward.delay.ToMilliseconds() == 50 and req.forward.rate_bps == 10_000_000
    assert req.reverse.delay.ToMilliseconds() == 80 and req.reverse.rate_bps == 0
    assert req.forward.loss.random == req.reverse.loss.random == 0.01
    assert req.enabled and req.link_id == 0 and len(req.toxics) == 1
    with pytest.raises(ValueError, match="give link= or path settings"):
        rq.create_proxy("p", "127.0.0.1:0", "127.0.0.1:1", link_id=3, params=params)
    with pytest.raises(ValueError, match="give upstream="):
        rq.create_proxy("p", "127.0.0.1:0", "")
    assert rq.get_proxy("12") == pb.GetProxyRequest(name="12")  # a str is a name
    assert rq.delete_proxy(12) == pb.DeleteProxyRequest(proxy_id=12)


def test_permission_denied_is_a_type_of_its_own():
    err = tcpemu.errors.from_rpc_error(_RpcError(grpc.StatusCode.PERMISSION_DENIED, "no"))
    assert isinstance(err, tcpemu.PermissionDenied) and isinstance(err, PermissionError)
    assert err.message == "no"


class _RpcError(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


# ------------------------------------------------------------------ end to end


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        sock: socket.socket = self.request
        with contextlib.suppress(OSError):
            while data := sock.recv(65536):
                sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@pytest.fixture(scope="module")
def echo() -> Iterator[str]:
    """A TCP echo server on loopback: its "host:port"."""
    with _Server(("127.0.0.1", 0), _Echo) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"127.0.0.1:{server.server_address[1]}"
        server.shutdown()


class Names:
    """Unique proxy names for one test."""

    def __init__(self) -> None:
        self.made: List[str] = []

    def new(self) -> str:
        name = f"t-{uuid.uuid4().hex[:12]}"
        self.made.append(name)
        return name


@pytest.fixture
def names(client) -> Iterator[Names]:
    """Names for a test's proxies; whatever is left of them is deleted."""
    made = Names()
    yield made
    for name in made.made:
        with contextlib.suppress(tcpemu.NotFound):
            client.delete_proxy(name)


def connect(proxy: tcpemu.Proxy) -> socket.socket:
    sock = socket.create_connection(proxy.address, timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            raise AssertionError(f"connection closed after {len(out)} of {n} bytes")
        out += chunk
    return bytes(out)


def exchange(sock: socket.socket, payload: bytes = b"ping") -> float:
    """One request/response through the echo server: seconds it took."""
    start = time.monotonic()
    sock.sendall(payload)
    assert recv_exactly(sock, len(payload)) == payload
    return time.monotonic() - start


def wait_until(what: str, predicate, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        time.sleep(0.02)


def test_bytes_round_trip_intact(client, rnet, echo, names):
    proxy = rnet.create_proxy(names.new(), upstream=echo, delay="2ms", rate="200Mbit")
    assert proxy.owns_link and proxy.enabled and proxy.network_id == rnet.id
    assert proxy.listen == "127.0.0.1:0" and proxy.address[1] > 0
    data = os.urandom(2_000_000)
    with connect(proxy) as sock:
        sender = threading.Thread(target=sock.sendall, args=(data,))
        sender.start()
        got = recv_exactly(sock, len(data))
        sender.join(60)
        assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
        host, port = sock.getsockname()[:2]
        local = f"{host}:{port}"
    counters = wait_until(
        "the proxy counted the bytes",
        lambda: (c := proxy.refresh().counters).bytes_downstream >= len(data) and c,
    )
    assert counters.bytes_upstream >= len(data)
    assert counters.connections_accepted == 1
    (session,) = proxy.sessions()
    assert session.proto.proxy_id == proxy.id and session.link_id == proxy.link_id
    assert session.proto.downstream_peer == local
    assert session.proto.upstream_peer == echo


def test_request_response_takes_at_least_the_round_trip(client, rnet, echo, names):
    proxy = rnet.create_proxy(names.new(), upstream=echo, delay="50ms")
    with connect(proxy) as sock:
        exchange(sock)  # the emulated handshake and the upstream connect
        for _ in range(3):
            assert exchange(sock) >= 0.100  # 50 ms each way


def test_toxic_add_and_remove_change_the_latency(client, rnet, echo, names):
    proxy = rnet.create_proxy(names.new(), upstream=echo, delay="10ms")
    with connect(proxy) as sock:
        exchange(sock)
        assert exchange(sock) >= 0.020
        added = proxy.add_toxic(toxics.latency("1s"))
        assert added.name == "latency_downstream" and added.attributes["latency"] == 1.0
        assert [t.name for t in proxy.toxics] == ["latency_downstream"]
        # The toxic applies to the connection open when it was added.
        assert exchange(sock) >= 1.020
    proxy.remove_toxic("latency_downstream")
    assert proxy.toxics == [] and proxy.refresh().toxics == []
    with connect(proxy) as sock:
        exchange(sock)
        # Without the toxic, some exchange of a few takes less than it alone.
        assert min(exchange(sock) for _ in range(3)) < 1.0
    with pytest.raises(tcpemu.NotFound, match='toxic "latency_downstream" not found'):
        proxy.remove_toxic("latency_downstream")


def test_toxics_given_at_creation(client, rnet, echo, names):
    proxy = rnet.create_proxy(
        names.new(),
        upstream=echo,
        toxics=[toxics.latency("300ms", stream="upstream", name="slow-requests")],
    )
    assert [(t.name, t.stream) for t in proxy.toxics] == [("slow-requests", "upstream")]
    with connect(proxy) as sock:
        exchange(sock)
        assert exchange(sock) >= 0.300


def test_disable_closes_connections_and_enable_listens_again(client, rnet, echo, names):
    proxy = rnet.create_proxy(names.new(), upstream=echo, delay="1ms")
    address = proxy.address
    with connect(proxy) as sock:
        exchange(sock)
        proxy.disable()
        assert not proxy.enabled
        try:
            closed = sock.recv(1) == b""
        except ConnectionResetError:
            closed = True
        assert closed
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(address, timeout=30).close()
    proxy.enable()
    assert proxy.enabled and proxy.listen_address
    with connect(proxy) as sock:
        assert exchange(sock) >= 0.002


def test_update_changes_upstream_for_new_connections(client, rnet, echo, names):
    other = _Server(("127.0.0.1", 0), _Upper)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    try:
        proxy = rnet.create_proxy(names.new(), upstream=echo)
        with connect(proxy) as sock:
            sock.sendall(b"abc")
            assert recv_exactly(sock, 3) == b"abc"
        proxy.update(upstream=f"127.0.0.1:{other.server_address[1]}")
        assert proxy.upstream == f"127.0.0.1:{other.server_address[1]}"
        with connect(proxy) as sock:
            sock.sendall(b"abc")
            assert recv_exactly(sock, 3) == b"ABC"
    finally:
        other.shutdown()
        other.server_close()


class _Upper(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        with contextlib.suppress(OSError):
            while data := self.request.recv(65536):
                self.request.sendall(data.upper())


def test_get_list_and_context_manager(client, rnet, echo, names):
    name = names.new()
    with rnet.create_proxy(name, upstream=echo) as proxy:
        assert client.proxy(name).id == proxy.id
        assert client.proxy(proxy.id).name == name
        assert name in [p.name for p in client.proxies(rnet)]
        assert name in [p.name for p in client.proxies()]
        assert name in [p.name for p in rnet.proxies()]
        assert proxy.link().id == proxy.link_id
    with pytest.raises(tcpemu.NotFound, match=f'proxy "{name}" not found'):
        client.proxy(name)
    assert name not in [p.name for p in client.proxies()]


def test_proxy_on_an_existing_link(client, rnet, echo, names):
    link = rnet.create_link(delay="20ms")
    proxy = rnet.create_proxy(names.new(), upstream=echo, link=link)
    assert proxy.link_id == link.id and not proxy.owns_link
    with connect(proxy) as sock:
        exchange(sock)
        assert exchange(sock) >= 0.040
    proxy.delete()
    assert client.link(link.id).id == link.id  # not the proxy's to delete


def test_errors(client, rnet, vnet, echo, names):
    with pytest.raises(tcpemu.InvalidArgument, match="name"):
        rnet.create_proxy("not a name!", upstream=echo)
    name = names.new()
    rnet.create_proxy(name, upstream=echo)
    with pytest.raises(tcpemu.AlreadyExists, match=name):
        rnet.create_proxy(name, upstream=echo)
    with pytest.raises(tcpemu.PermissionDenied, match="--proxy_listen_allow"):
        rnet.create_proxy(names.new(), "192.0.2.1:0", echo)
    with pytest.raises(tcpemu.PermissionDenied, match="--proxy_upstream_allow"):
        rnet.create_proxy(names.new(), upstream="192.0.2.1:6379")
    with pytest.raises(tcpemu.FailedPrecondition):
        vnet.create_proxy(names.new(), upstream=echo)
    with pytest.raises(tcpemu.NotFound, match=r'proxy "no-such-proxy" not found'):
        client.proxy("no-such-proxy")
    with pytest.raises(tcpemu.NotFound, match="proxy_id 987654 not found"):
        client.delete_proxy(987654)
    with pytest.raises(tcpemu.InvalidArgument, match="relay_buffer"):
        rnet.create_proxy(names.new(), upstream=echo, relay_buffer=1)
    with pytest.raises(tcpemu.InvalidArgument, match="toxicity"):
        rnet.create_proxy(names.new(), upstream=echo, toxics=[toxics.timeout(toxicity=1.5)])


def test_refused_upstream_resets_the_application(client, rnet, names):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proxy = rnet.create_proxy(names.new(), upstream=f"127.0.0.1:{port}")
    # The reset may come as soon as connect() returns, or before.
    try:
        with connect(proxy) as sock:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                sock.sendall(b"hello")
            assert sock.recv(1) == b""
    except ConnectionResetError:
        pass
    wait_until("the failure was counted", lambda: proxy.refresh().counters.upstream_failures)


def test_events_of_its_connections_only(client, rnet, echo, names):
    proxy = rnet.create_proxy(names.new(), upstream=echo, delay="1ms")
    stream = proxy.events(kinds=["segment_sent", "state_changed"])
    watchdog = threading.Timer(120, stream.cancel)
    watchdog.start()
    try:
        assert stream.wait_subscribed(30)
        # Another session of the same network: none of its events belong here.
        other = rnet.create_link().open_session()
        other.wait_for("ESTABLISHED", timeout=30)
        with connect(proxy) as sock:
            exchange(sock, b"x" * 100)
            seen = []
            for ev in stream:
                assert not isinstance(ev, tcpemu.Gap)
                seen.append(ev)
                if ev.kind == pb.EVENT_KIND_SEGMENT_SENT and ev.segment.len == 100:
                    break
        assert other.id not in {e.session_id for e in seen}
        (session,) = proxy.sessions()
        assert {e.session_id for e in seen} == {session.id}
        assert {e.kind for e in seen} <= {pb.EVENT_KIND_SEGMENT_SENT, pb.EVENT_KIND_STATE_CHANGED}
        assert any(e.segment.flags & 2 for e in seen)  # from its SYN on
    finally:
        watchdog.cancel()
        stream.cancel()


def test_asyncio_twin(target, echo, names):
    async def main() -> Tuple[float, float]:
        async with tcpemu.aio.Client(target, timeout=20) as client:
            net = await client.create_network("realtime")
            try:
                async with await net.create_proxy(
                    names.new(), upstream=echo, delay="20ms"
                ) as proxy:
                    assert (await client.proxy(proxy.name)).id == proxy.id
                    stream = proxy.events(kinds="segment_sent")
                    assert await stream.wait_subscribed(30)
                    reader, writer = await asyncio.open_connection(*proxy.address)
                    start = time.monotonic()
                    writer.write(b"hi")
                    assert await asyncio.wait_for(reader.readexactly(2), 60) == b"hi"
                    first = time.monotonic() - start
                    added = await proxy.add_toxic(toxics.latency("200ms", stream="upstream"))
                    assert added.name == "latency_upstream"
                    start = time.monotonic()
                    writer.write(b"hi")
                    assert await asyncio.wait_for(reader.readexactly(2), 60) == b"hi"
                    second = time.monotonic() - start
                    ev = await asyncio.wait_for(stream.__anext__(), 60)
                    stream.cancel()
                    (session,) = await proxy.sessions()
                    assert ev.session_id == session.id
                    await proxy.remove_toxic("latency_upstream")
                    await proxy.disable()
                    with contextlib.suppress(ConnectionResetError):
                        assert await asyncio.wait_for(reader.read(), 60) == b""
                    writer.close()
                    assert len(await client.proxies(net)) == 1
                assert await client.proxies(net) == []
                return first, second
            finally:
                await net.delete()

    first, second = asyncio.run(main())
    assert first >= 0.040
    assert second >= 0.240
