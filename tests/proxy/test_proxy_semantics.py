"""Connection semantics of a proxy between two kernel sockets of the test:
the relay both ways with the link's delay, the handshake before the
upstream is dialled, IPv6 and host names, a refused upstream, half-close
and RST in both directions, bulk both ways at once, flow control against a
slow upstream reader with the daemon's memory bounded, and what disabling
and deleting a proxy do to its connections and its listening port."""

from __future__ import annotations

import errno
import hashlib
import random
import socket
import struct
import threading
import time
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2
from harness import (
    Upstream,
    address,
    connect,
    expect_reset,
    get_proxy,
    ms,
    only_session,
    proxy_when,
    recv_exactly,
    recv_to_eof,
    session_of,
    session_when,
    wait_for,
)

from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb

from conftest import PATIENCE, Daemon, ProxyFactory, free_port

DELAY_MS = 20


def delayed(make_proxy: ProxyFactory, upstream: Upstream, **fields: Any) -> pb.Proxy:
    """A proxy to `upstream` whose link delays each direction by DELAY_MS."""
    return make_proxy(
        upstream.address,
        forward=pb.PathSpec(delay=ms(DELAY_MS)),
        reverse=pb.PathSpec(delay=ms(DELAY_MS)),
        **fields,
    )


def linger0(sock: socket.socket) -> None:
    """close() will send an RST instead of a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def expect_closed(sock: socket.socket, what: str) -> None:
    """The socket's next read must see the end of the connection: EOF or a
    reset, not data and not silence."""
    try:
        data = sock.recv(1 << 16)
    except ConnectionResetError:
        return
    except socket.timeout as e:
        raise AssertionError(f"{what}: still open after {PATIENCE:g} s") from e
    assert data == b"", f"{what}: read {data!r} instead of the end of the connection"


def established(
    daemon: Daemon, proxy: pb.Proxy, upstream: Upstream
) -> tuple[socket.socket, socket.socket, pb.Session]:
    """A connection through the proxy that carried a byte each way."""
    app = connect(proxy)
    up = upstream.accept()
    app.sendall(b"?")
    assert recv_exactly(up, 1) == b"?"
    up.sendall(b"!")
    assert recv_exactly(app, 1) == b"!"
    return app, up, session_of(daemon.stub, proxy, app)


def test_relays_both_ways_across_the_link(
    daemon: Daemon, make_proxy: ProxyFactory, upstream: Upstream
) -> None:
    proxy = delayed(make_proxy, upstream)
    app = connect(proxy)
    up = upstream.accept()
    request = random.randbytes(100_000)
    reply = random.randbytes(300_000)
    start = time.monotonic()
    app.sendall(request)
    assert recv_exactly(up, len(request)) == request
    up.sendall(reply)
    assert recv_exactly(app, len(reply)) == reply
    # The request crossed the forward path and the reply the reverse one.
    assert time.monotonic() - start >= 2 * DELAY_MS / 1000

    session = only_session(daemon.stub, proxy)
    assert session.link_id == proxy.link_id
    assert session.downstream_peer == f"127.0.0.1:{app.getsockname()[1]}"
    assert session.upstream_peer == upstream.address
    assert session.client.bytes_written == len(request)
    assert session.server.bytes_written == len(reply)
    app.close()
    up.close()
    counters = proxy_when(
        daemon.stub, proxy.id, lambda p: p.counters.connections_active == 0, "the connection to end"
    ).counters
    assert counters.connections_accepted == 1
    assert counters.bytes_upstream == len(request)
    assert counters.bytes_downstream == len(reply)


# A network left idle for a while must not open a new connection's session at
# the time it was last advanced: the handshake's first segment would leave
# "in the past" and its delay (or the SYN's retransmission timeout) would be
# caught up at once.
IDLE_S = 1.0


def test_the_upstream_connect_waits_for_the_emulated_handshake(
    daemon: Daemon, make_proxy: ProxyFactory, upstream: Upstream
) -> None:
    proxy = delayed(make_proxy, upstream)
    time.sleep(IDLE_S)  # the network has nothing to do for a while
    start = time.monotonic()
    app = connect(proxy)
    up = upstream.accept()
    elapsed = time.monotonic() - start
    app.close()
    up.close()
    # SYN, SYN-ACK and ACK cross the link before the upstream is dialled.
    assert elapsed >= 3 * DELAY_MS / 1000, f"upstream dialled after {elapsed * 1000:.1f} ms"


def test_a_lost_syn_delays_the_upstream_by_the_retransmission_timeout(
    daemon: Daemon, make_proxy: ProxyFactory, upstream: Upstream
) -> None:
    rto_ms = 700
    proxy = make_proxy(upstream.address, downstream_tcp=pb.TcpConfig(rto_initial=ms(rto_ms)))
    daemon.stub.InjectFault(
        pb.InjectFaultRequest(
            link_id=proxy.link_id,
            direction=pb.DIRECTION_FORWARD,
            match=pb.FaultMatch(flags_all=pb.TCP_FLAG_SYN),
            action=pb.FAULT_ACTION_DROP,
            count=1,
        )
    )
    time.sleep(IDLE_S)
    start = time.monotonic()
    app = connect(proxy)
    app.sendall(b"first")
    up = upstream.accept()
    assert recv_exactly(up, 5) == b"first"
    elapsed = time.monotonic() - start
    link = daemon.stub.GetLink(pb.GetLinkRequest(link_id=proxy.link_id))
    assert link.forward_counters.dropped_fault == 1
    app.close()
    up.close()
    # The application's first byte waited for the SYN to be sent again.
    assert elapsed >= rto_ms / 1000, f"first byte after {elapsed * 1000:.1f} ms"


@pytest.mark.parametrize(
    ("listen", "upstream_host", "bind"),
    [
        ("[::1]:0", "[::1]", "::1"),
        ("localhost:0", "localhost", "127.0.0.1"),
    ],
    ids=["ipv6", "host-names"],
)
def test_listen_and_upstream_addresses(
    daemon: Daemon, make_proxy: ProxyFactory, listen: str, upstream_host: str, bind: str
) -> None:
    server = socket.create_server(
        (bind, 0), family=socket.AF_INET6 if ":" in bind else socket.AF_INET
    )
    server.settimeout(PATIENCE)
    try:
        port = server.getsockname()[1]
        proxy = make_proxy(f"{upstream_host}:{port}", listen=listen)
        assert proxy.listen == listen
        host, _ = address(proxy)
        assert host == bind, proxy.listen_address
        app = socket.create_connection(address(proxy), timeout=PATIENCE)
        up, _ = server.accept()
        up.settimeout(PATIENCE)
        app.sendall(b"over " + bind.encode())
        assert recv_exactly(up, 5 + len(bind)) == b"over " + bind.encode()
        up.sendall(b"back")
        assert recv_exactly(app, 4) == b"back"
        session = session_of(daemon.stub, proxy, app)
        assert session.upstream_peer in (f"{bind}:{port}", f"[{bind}]:{port}")
        app.close()
        up.close()
    finally:
        server.close()


def test_full_duplex_bulk_both_ways_at_once(
    daemon: Daemon, make_proxy: ProxyFactory, upstream: Upstream
) -> None:
    size = 32 << 20
    proxy = delayed(make_proxy, upstream)
    app = connect(proxy)
    up = upstream.accept()
    outbound, inbound = random.randbytes(size), random.randbytes(size)
    got: dict[str, bytes] = {}
    errors: list[BaseException] = []

    def run(what: str, fn: Callable[[], object]) -> threading.Thread:
        def body() -> None:
            try:
                result = fn()
                if isinstance(result, bytes):
                    got[what] = result
            except BaseException as e:
                errors.append(e)

        t = threading.Thread(target=body, daemon=True)
        t.start()
        return t

    threads = [
        run("app sends", lambda: app.sendall(outbound)),
        run("up sends", lambda: up.sendall(inbound)),
        run("up", lambda: recv_exactly(up, size)),
        run("app", lambda: recv_exactly(app, size)),
    ]
    for t in threads:
        t.join(4 * PATIENCE)
    assert not any(t.is_alive() for t in threads), "the transfers did not finish"
    assert not errors, errors
    assert got["up"] == outbound
    assert got["app"] == inbound
    app.close()
    up.close()


def test_refused_upstream_resets_the_application(daemon: Daemon, make_proxy: ProxyFactory) -> None:
    # Nothing listens on the upstream port.
    proxy = make_proxy(
        f"127.0.0.1:{free_port()}",
        forward=pb.PathSpec(delay=ms(DELAY_MS)),
        reverse=pb.PathSpec(delay=ms(DELAY_MS)),
    )
    app = connect(proxy)
    app.sendall(b"hello")
    expect_reset(app, "the application's socket of a refused upstream")
    app.close()
    p = proxy_when(
        daemon.stub,
        proxy.id,
        lambda p: p.counters.upstream_failures >= 1,
        "upstream_failures to count the refused connect",
    )
    assert p.counters.upstream_failures == 1
    assert p.counters.bytes_upstream == 0
    # A second connection fails the same way and counts again.
    app = connect(proxy)
    expect_reset(app, "a second connection to a refused upstream")
    app.close()
    wait_for(
        lambda: get_proxy(daemon.stub, proxy.id).counters.upstream_failures == 2,
        "upstream_failures to count the second refused connect",
    )


def test_half_close_from_the_application(
    daemon: Daemon, make_proxy: ProxyFactory, upstream: Upstream
) -> None:
    proxy = delayed(make_proxy, upstream)
    app = connect(proxy)
    up = upstream.accept()
    request = random.randbytes(50_000)
    app.sendall(request)
    app.shutdown(socket.SHUT_WR)
    # The upstream reads the whole request and then the end of file ...
    assert recv_to_eof(up) == request
    # ... and still answers, at length, over its open half.
    reply = random.randbytes(2_000_000)
    up.sendall(reply)
    up.close()
    assert recv_to_eof(app) == reply
    app.close()


def test_half_close_from_the_upstream(
    daemon: Daemon, make_proxy: ProxyFactory, upstream: Upstream
) -> None:
    proxy = delayed(make_proxy, upstream)
    app = connect(proxy)
    up = upstream.accept()
    greeting = random.randbytes(50_000)
    up.sendall(greeting)
    up.shutdown(socket.SHUT_WR)
    assert recv_to_eof(app) == greeting
    # The application still sends after the upstream's end of file.
    late = random.randbytes(2_000_000)
    app.sendall(late)
    app.close()
    assert recv_to_eof(up) == late
    up.close()


def test_reset_from_the_application(
    daemon: Daemon, make_proxy: ProxyFactory, upstream: Upstream
) -> None:
    proxy = delayed(make_proxy, upstream)
    app, up, session = established(daemon, proxy, upstream)
    linger0(app)
    app.close()
    expect_reset(up, "the upstream's socket after the application's RST")
    up.close()
    # The RST crossed the emulated link: the upstream-facing endpoint was reset.
    s = session_when(
        daemon.stub,
        session.id,
        lambda s: s.server.error != 0,
        "the upstream-facing endpoint's error",
    )
    assert s.server.error == pb.ERROR_CODE_RESET


def test_reset_from_the_upstream(
    daemon: Daemon, make_proxy: ProxyFactory, upstream: Upstream
) -> None:
    proxy = delayed(make_proxy, upstream)
    app, up, session = established(daemon, proxy, upstream)
    linger0(up)
    up.close()
    expect_reset(app, "the application's socket after the upstream's RST")
    app.close()
    s = session_when(
        daemon.stub,
        session.id,
        lambda s: s.client.error != 0,
        "the application-facing endpoint's error",
    )
    assert s.client.error == pb.ERROR_CODE_RESET


class Pusher(threading.Thread):
    """Sends `total` seeded random bytes in 1 MiB chunks on a blocking
    socket, counting what the kernel has accepted, then shuts down."""

    def __init__(self, sock: socket.socket, total: int, seed: int) -> None:
        super().__init__(daemon=True)
        self.sock = sock
        self.total = total
        self.rng = random.Random(seed)
        self.sent = 0
        self.digest = hashlib.sha256()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while self.sent < self.total:
                chunk = memoryview(self.rng.randbytes(min(1 << 20, self.total - self.sent)))
                self.digest.update(chunk)
                while chunk:
                    n = self.sock.send(chunk)
                    chunk = chunk[n:]
                    self.sent += n
            self.sock.shutdown(socket.SHUT_WR)
        except BaseException as e:
            self.error = e


class RssSampler(threading.Thread):
    """Samples the daemon's RSS every 20 ms until stopped."""

    def __init__(self, daemon: Daemon) -> None:
        super().__init__(daemon=True)
        self.tcpemud = daemon
        self.first = daemon.rss_bytes()
        self.peak = self.first
        self.done = threading.Event()
        self.start()

    def run(self) -> None:
        while not self.done.wait(0.02):
            self.peak = max(self.peak, self.tcpemud.rss_bytes())

    def stop(self) -> tuple[int, int]:
        """The RSS when it started, and the highest since."""
        self.done.set()
        self.join(PATIENCE)
        return self.first, max(self.peak, self.tcpemud.rss_bytes())


def test_slow_upstream_reader_bounds_memory_and_blocks_the_sender(
    daemon: Daemon, make_proxy: ProxyFactory, upstream: Upstream
) -> None:
    total = 200 << 20
    proxy = make_proxy(upstream.address)
    app = connect(proxy)
    # The application pushes for as long as it takes.
    app.settimeout(None)
    up = upstream.accept()
    session = only_session(daemon.stub, proxy)
    rss = RssSampler(daemon)
    pusher = Pusher(app, total, seed=14)
    pusher.start()

    # The upstream reads nothing. TCP holds the sender back: the
    # upstream-facing endpoint's receive window closes, the application-facing
    # endpoint can send nothing and its send buffer fills ...
    session_when(
        daemon.stub,
        session.id,
        lambda s: (
            s.server.tcb.rcv_wnd == 0
            and s.client.tcb.snd_wnd == 0
            and s.client.send_buffer_free == 0
        ),
        "the windows to close",
    )
    # ... then the kernel's socket buffers, and the application's send blocks.
    deadline = time.monotonic() + 4 * PATIENCE
    last, since = -1, time.monotonic()
    while time.monotonic() - since < 3.0:
        assert time.monotonic() < deadline, "the sender never stopped"
        assert pusher.error is None, f"sending failed: {pusher.error!r}"
        if pusher.sent != last:
            last, since = pusher.sent, time.monotonic()
        time.sleep(0.05)
    stalled_at = pusher.sent
    assert pusher.is_alive() and stalled_at < total // 4, (
        f"the sender was not held back: {stalled_at} of {total} bytes accepted"
    )
    time.sleep(2.0)
    assert pusher.sent == stalled_at, "the sender went on while nothing was read"

    # Now the upstream drains everything, and every byte arrives intact.
    got = hashlib.sha256()
    count = 0
    up.settimeout(4 * PATIENCE)
    while True:
        chunk = up.recv(1 << 20)
        if not chunk:
            break
        got.update(chunk)
        count += len(chunk)
    pusher.join(PATIENCE)
    assert pusher.error is None, f"sending failed: {pusher.error!r}"
    assert count == total
    assert got.hexdigest() == pusher.digest.hexdigest()
    before, peak = rss.stop()
    growth = peak - before
    print(
        f"\nslow reader: {stalled_at / 2**20:.1f} MiB accepted before the sender blocked; "
        f"daemon RSS {before / 2**20:.1f} MiB -> peak {peak / 2**20:.1f} MiB"
    )
    assert growth < 64 << 20, f"the daemon's RSS grew by {growth / 2**20:.1f} MiB"
    app.close()
    up.close()


def update(daemon: Daemon, proxy: pb.Proxy, paths: list[str], **fields: Any) -> pb.Proxy:
    updated: pb.Proxy = daemon.stub.UpdateProxy(
        pb.UpdateProxyRequest(
            proxy=pb.Proxy(id=proxy.id, **fields),
            update_mask=field_mask_pb2.FieldMask(paths=paths),
        )
    )
    return updated


def test_disabling_closes_connections_and_stops_listening(
    daemon: Daemon, make_proxy: ProxyFactory, upstream: Upstream
) -> None:
    proxy = delayed(make_proxy, upstream)
    conns = [established(daemon, proxy, upstream)[:2] for _ in range(3)]
    assert get_proxy(daemon.stub, proxy.id).counters.connections_active == 3
    disabled = update(daemon, proxy, ["enabled"], enabled=False)
    assert not disabled.enabled
    assert disabled.listen_address == ""
    for app, up in conns:
        expect_closed(app, "the application's socket of a disabled proxy")
        expect_closed(up, "the upstream's socket of a disabled proxy")
        app.close()
        up.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(address(proxy), timeout=PATIENCE).close()
    wait_for(
        lambda: get_proxy(daemon.stub, proxy.id).counters.connections_active == 0,
        "connections_active to drop to 0",
    )
    # Enabled again, it listens and relays again.
    enabled = update(daemon, proxy, ["enabled"], enabled=True)
    assert enabled.enabled
    app, up, _ = established(daemon, enabled, upstream)
    app.close()
    up.close()


def test_deleting_closes_connections_and_frees_the_port(
    daemon: Daemon, make_proxy: ProxyFactory, upstream: Upstream
) -> None:
    port = free_port()
    proxy = make_proxy(
        upstream.address,
        listen=f"127.0.0.1:{port}",
        reverse=pb.PathSpec(delay=ms(DELAY_MS)),
    )
    assert address(proxy) == ("127.0.0.1", port)
    app, up, _ = established(daemon, proxy, upstream)

    def bind_listener() -> None:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))
            s.listen()

    with pytest.raises(OSError) as held:
        bind_listener()
    assert held.value.errno == errno.EADDRINUSE

    daemon.stub.DeleteProxy(pb.DeleteProxyRequest(proxy_id=proxy.id))
    expect_closed(app, "the application's socket of a deleted proxy")
    expect_closed(up, "the upstream's socket of a deleted proxy")
    app.close()
    up.close()
    with pytest.raises(grpc.RpcError) as gone:
        get_proxy(daemon.stub, proxy.id)
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND
    # Nothing listens on the port any more: anyone may take it, a new proxy too.
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=PATIENCE).close()
    bind_listener()
    again = make_proxy(upstream.address, listen=f"127.0.0.1:{port}")
    assert address(again) == ("127.0.0.1", port)
    app, up, _ = established(daemon, again, upstream)
    app.close()
    up.close()
