"""toxiproxy's toxics on a proxy, each measured between two kernel sockets:
latency, timeout (black hole), reset_peer, limit_data, slow_close,
bandwidth, slicer and toxicity. Times are lower bounds only."""

from __future__ import annotations

import contextlib
import random
import socket
import time

import grpc
import pytest
from google.protobuf import field_mask_pb2
from harness import (
    EventCollector,
    Upstream,
    connect,
    expect_reset,
    get_proxy,
    ms,
    recv_exactly,
    recv_to_eof,
    session_of,
)

from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb

from conftest import PATIENCE, Daemon, ProxyFactory

DOWN = pb.TOXIC_STREAM_DOWNSTREAM
UP = pb.TOXIC_STREAM_UPSTREAM


def set_toxics(daemon: Daemon, proxy: pb.Proxy, toxics: list[pb.Toxic]) -> pb.Proxy:
    updated: pb.Proxy = daemon.stub.UpdateProxy(
        pb.UpdateProxyRequest(
            proxy=pb.Proxy(id=proxy.id, toxics=toxics),
            update_mask=field_mask_pb2.FieldMask(paths=["toxics"]),
        )
    )
    return updated


def round_trip(app: socket.socket, up: socket.socket) -> float:
    """Seconds from the application's request to its reply."""
    start = time.monotonic()
    app.sendall(b"ping")
    assert recv_exactly(up, 4) == b"ping"
    up.sendall(b"pong")
    assert recv_exactly(app, 4) == b"pong"
    return time.monotonic() - start


def read_until_closed(sock: socket.socket) -> tuple[bytes, str]:
    """Everything the socket receives until its end: ("eof" or "reset")."""
    got = bytearray()
    while True:
        try:
            chunk = sock.recv(1 << 16)
        except ConnectionResetError:
            return bytes(got), "reset"
        except socket.timeout as e:
            raise AssertionError(
                f"still open after {PATIENCE:g} s, {len(got)} bytes received"
            ) from e
        if not chunk:
            return bytes(got), "eof"
        got += chunk


@pytest.mark.parametrize("stream", [DOWN, UP], ids=["downstream", "upstream"])
def test_latency_adds_its_delay_to_a_request_and_response(
    daemon: Daemon, make_proxy: ProxyFactory, upstream: Upstream, stream: pb.ToxicStream
) -> None:
    latency_ms = 300
    proxy = make_proxy(upstream.address)
    app = connect(proxy)
    up = upstream.accept()
    before = round_trip(app, up)
    updated = set_toxics(
        daemon, proxy, [pb.Toxic(stream=stream, latency=pb.LatencyToxic(latency=ms(latency_ms)))]
    )
    name = "latency_" + ("downstream" if stream == DOWN else "upstream")
    assert [t.name for t in updated.toxics] == [name]
    # The open connection is slowed, and so is a new one.
    with_toxic = [round_trip(app, up) for _ in range(3)]
    app2 = connect(proxy)
    up2 = upstream.accept()
    with_toxic += [round_trip(app2, up2) for _ in range(3)]
    print(
        f"\nlatency {latency_ms} ms ({name}): round trip {before * 1000:.1f} ms -> "
        f"{', '.join(f'{t * 1000:.0f}' for t in with_toxic)} ms"
    )
    assert min(with_toxic) >= latency_ms / 1000
    for s in (app, up, app2, up2):
        s.close()


def test_latency_with_jitter_on_both_streams(
    daemon: Daemon, make_proxy: ProxyFactory, upstream: Upstream
) -> None:
    proxy = make_proxy(
        upstream.address,
        toxics=[
            pb.Toxic(stream=UP, latency=pb.LatencyToxic(latency=ms(150), jitter=ms(50))),
            pb.Toxic(stream=DOWN, latency=pb.LatencyToxic(latency=ms(200), jitter=ms(50))),
        ],
    )
    app = connect(proxy)
    up = upstream.accept()
    times = [round_trip(app, up) for _ in range(5)]
    # Each way at least its latency less its jitter.
    assert min(times) >= (150 - 50 + 200 - 50) / 1000, times
    app.close()
    up.close()


def test_timeout_holds_the_stream_and_closes_after_its_timeout(
    daemon: Daemon, make_proxy: ProxyFactory, upstream: Upstream
) -> None:
    timeout_ms = 5000
    proxy = make_proxy(
        upstream.address,
        toxics=[pb.Toxic(stream=DOWN, timeout=pb.TimeoutToxic(timeout=ms(timeout_ms)))],
    )
    start = time.monotonic()
    app = connect(proxy)
    up = upstream.accept()
    # The other stream still flows ...
    app.sendall(b"request")
    assert recv_exactly(up, 7) == b"request"
    # ... but nothing of this one reaches the application, and then the
    # connection is closed.
    up.sendall(random.randbytes(10_000))
    got, end = read_until_closed(app)
    elapsed = time.monotonic() - start
    print(f"\ntimeout {timeout_ms} ms: closed ({end}) after {elapsed * 1000:.0f} ms")
    assert got == b"", f"{len(got)} bytes went through the black hole"
    assert elapsed >= timeout_ms / 1000
    read_until_closed(up)
    app.close()
    up.close()


def test_reset_peer_resets_the_application_after_its_timeout(
    daemon: Daemon, make_proxy: ProxyFactory, upstream: Upstream
) -> None:
    timeout_ms = 1500
    proxy = make_proxy(
        upstream.address,
        toxics=[pb.Toxic(reset_peer=pb.ResetPeerToxic(timeout=ms(timeout_ms)))],
    )
    start = time.monotonic()
    app = connect(proxy)
    up = upstream.accept()
    # Data flows until the timeout.
    round_trip(app, up)
    expect_reset(app, "the application's socket under reset_peer")
    elapsed = time.monotonic() - start
    print(f"\nreset_peer {timeout_ms} ms: reset after {elapsed * 1000:.0f} ms")
    assert elapsed >= timeout_ms / 1000
    expect_reset(up, "the upstream's socket under reset_peer")
    app.close()
    up.close()


@pytest.mark.parametrize("stream", [DOWN, UP], ids=["downstream", "upstream"])
def test_limit_data_closes_after_n_bytes(
    daemon: Daemon, make_proxy: ProxyFactory, upstream: Upstream, stream: pb.ToxicStream
) -> None:
    limit = 10_000
    proxy = make_proxy(
        upstream.address,
        toxics=[pb.Toxic(stream=stream, limit_data=pb.LimitDataToxic(bytes=limit))],
    )
    app = connect(proxy)
    up = upstream.accept()
    sender, receiver = (up, app) if stream == DOWN else (app, up)
    data = random.randbytes(10 * limit)
    # The connection may be closed before all of it is sent.
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        sender.sendall(data)
    got, end = read_until_closed(receiver)
    print(f"\nlimit_data {limit}: {len(got)} bytes, then {end}")
    assert len(got) == limit
    assert got == data[:limit]
    app.close()
    up.close()


def test_limit_data_with_toxicity_zero_applies_to_no_connection(
    daemon: Daemon, make_proxy: ProxyFactory, upstream: Upstream
) -> None:
    proxy = make_proxy(
        upstream.address,
        toxics=[pb.Toxic(toxicity=0.0, limit_data=pb.LimitDataToxic(bytes=1000))],
    )
    for _ in range(3):
        app = connect(proxy)
        up = upstream.accept()
        data = random.randbytes(100_000)
        up.sendall(data)
        up.close()
        assert recv_to_eof(app) == data
        app.close()


def test_slow_close_delays_the_end_of_file(
    daemon: Daemon, make_proxy: ProxyFactory, upstream: Upstream
) -> None:
    delay_ms = 1500
    proxy = make_proxy(
        upstream.address,
        toxics=[pb.Toxic(slow_close=pb.SlowCloseToxic(delay=ms(delay_ms)))],
    )
    app = connect(proxy)
    up = upstream.accept()
    data = random.randbytes(100_000)
    up.sendall(data)
    closed_at = time.monotonic()
    up.close()
    # The data comes at once; its end of file only after the delay.
    assert recv_exactly(app, len(data)) == data
    assert app.recv(1) == b""
    waited = time.monotonic() - closed_at
    print(f"\nslow_close {delay_ms} ms: end of file {waited * 1000:.0f} ms after the close")
    assert waited >= delay_ms / 1000
    app.close()


def test_bandwidth_slows_a_bulk_transfer_to_its_rate(
    daemon: Daemon, make_proxy: ProxyFactory, upstream: Upstream
) -> None:
    rate_bps = 4_000_000
    size = 2_000_000
    proxy = make_proxy(
        upstream.address,
        toxics=[pb.Toxic(bandwidth=pb.BandwidthToxic(rate_bps=rate_bps))],
    )
    # The toxic is the rate of the proxy's link towards the application.
    link = daemon.stub.GetLink(pb.GetLinkRequest(link_id=proxy.link_id))
    assert link.reverse.rate_bps == rate_bps
    assert link.forward.rate_bps == 0
    app = connect(proxy)
    up = upstream.accept()
    data = random.randbytes(size)
    start = time.monotonic()
    up.sendall(data)
    up.close()
    assert recv_to_eof(app) == data
    elapsed = time.monotonic() - start
    ideal = size * 8 / rate_bps
    print(
        f"\nbandwidth {rate_bps / 1e6:g} Mbit/s: {size} bytes in {elapsed:.2f} s "
        f"({size * 8 / elapsed / 1e6:.2f} Mbit/s; payload alone needs {ideal:.2f} s)"
    )
    assert elapsed >= ideal
    app.close()
    # Removed, the link's own rate (unlimited) comes back.
    set_toxics(daemon, proxy, [])
    link = daemon.stub.GetLink(pb.GetLinkRequest(link_id=proxy.link_id))
    assert link.reverse.rate_bps == 0


def test_slicer_sends_small_segments(
    daemon: Daemon, make_proxy: ProxyFactory, upstream: Upstream
) -> None:
    size = 100
    proxy = make_proxy(
        upstream.address,
        toxics=[pb.Toxic(slicer=pb.SlicerToxic(average_size=size))],
    )
    app = connect(proxy)
    up = upstream.accept()
    session = session_of(daemon.stub, proxy, app)
    # The MSS it announces is average_size; with timestamps on, each
    # segment carries 12 bytes fewer (as Linux's tcpi_snd_mss does).
    assert 0 < session.server.mss <= size
    events = EventCollector(
        daemon.stub,
        pb.WatchEventsRequest(
            network_id=session.network_id,
            session_ids=[session.id],
            kinds=[pb.EVENT_KIND_SEGMENT_SENT],
            endpoint=pb.ENDPOINT_SERVER,
            replay=True,
        ),
    )
    data = random.randbytes(20_000)
    up.sendall(data)
    up.close()
    assert recv_to_eof(app) == data
    events.wait(
        lambda evs: sum(e.segment.len for e in evs) >= len(data),
        "the segments of the whole payload",
    )
    lens = [e.segment.len for e in events.stop() if e.segment.len > 0]
    print(f"\nslicer {size}: {len(lens)} data segments, at most {max(lens)} bytes")
    assert max(lens) <= size
    assert len(lens) >= len(data) // size
    app.close()
    # Toxics can also be read back from the proxy.
    assert get_proxy(daemon.stub, proxy.id).toxics[0].slicer.average_size == size


def test_a_bad_toxic_is_refused_and_not_kept(
    daemon: Daemon, make_proxy: ProxyFactory, upstream: Upstream
) -> None:
    proxy = make_proxy(upstream.address)
    with pytest.raises(grpc.RpcError) as bad:
        set_toxics(daemon, proxy, [pb.Toxic(toxicity=1.5, latency=pb.LatencyToxic())])
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "toxicity" in (bad.value.details() or "")
    assert not get_proxy(daemon.stub, proxy.id).toxics
