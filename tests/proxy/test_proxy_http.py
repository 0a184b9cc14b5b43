"""An HTTP server (Python's http.server) and curl move 50 MB through a proxy
whose link loses 2 % of the packets each way: the file arrives with the
same SHA-256, and the session's events show the retransmissions that
repaired it."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import EventCollector, address, get_proxy, ms, only_session, session_when, wait_for

from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb

from conftest import PATIENCE, Daemon, ProxyFactory, free_port

SIZE = 50 << 20
LOSS = 0.02
DELAY_MS = 2


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, str]]:
    """An HTTP server of a directory holding blob.bin, SIZE random bytes;
    yields its port and the file's SHA-256."""
    root = tmp_path_factory.mktemp("http")
    digest = hashlib.sha256()
    with open(root / "blob.bin", "wb") as f:
        for _ in range(SIZE >> 20):
            chunk = os.urandom(1 << 20)
            digest.update(chunk)
            f.write(chunk)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "-d", str(root), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def ready() -> bool:
            assert server.poll() is None, f"http.server exited with {server.returncode}"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                    return bool(r.status == 200)
            except OSError:
                return False

        wait_for(ready, "the HTTP server to answer")
        yield port, digest.hexdigest()
    finally:
        server.terminate()
        server.wait(timeout=PATIENCE)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def test_curl_downloads_50_mb_at_2_percent_loss(
    daemon: Daemon,
    make_proxy: ProxyFactory,
    served: tuple[int, str],
    tmp_path: Path,
) -> None:
    curl = shutil.which("curl")
    assert curl is not None, "curl is missing (scripts/setup installs it)"
    http_port, want = served
    # A short lossy path: 2 ms each way, and 2 % of the packets lost.
    lossy = pb.PathSpec(delay=ms(DELAY_MS), loss=pb.Loss(random=LOSS))
    # Buffers large enough for the window to stay open while losses are
    # repaired (the default 256 KiB would crawl).
    big = pb.TcpConfig(send_buffer=4 << 20, recv_buffer=4 << 20)
    proxy = make_proxy(
        f"127.0.0.1:{http_port}",
        forward=lossy,
        reverse=lossy,
        downstream_tcp=big,
        upstream_tcp=big,
        relay_buffer=1 << 20,
    )
    host, port = address(proxy)
    out = tmp_path / "blob.bin"
    # Every segment the proxy's network sends from now on (the proxy's is its
    # only connection); the session's own are picked out below.
    events = EventCollector(
        daemon.stub,
        pb.WatchEventsRequest(
            network_id=proxy.network_id, kinds=[pb.EVENT_KIND_SEGMENT_SENT], replay=True
        ),
    )
    start = time.monotonic()
    client = subprocess.Popen(
        [
            curl,
            "-sS",
            "--fail",
            "--max-time",
            str(int(10 * PATIENCE)),
            "-o",
            str(out),
            f"http://{host}:{port}/blob.bin",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # The connection's session, found by its proxy.
        session = only_session(daemon.stub, proxy)
        _, err = client.communicate(timeout=10 * PATIENCE)
    finally:
        if client.poll() is None:
            client.kill()
            client.communicate()
    elapsed = time.monotonic() - start
    assert client.returncode == 0, f"curl failed ({client.returncode}): {err}"
    assert out.stat().st_size == SIZE
    assert sha256_file(out) == want

    # Everything curl received was relayed by the proxy's session.
    final = session_when(
        daemon.stub,
        session.id,
        lambda s: s.server.bytes_written >= SIZE,
        "the session to count the whole body",
    )
    assert final.proxy_id == proxy.id
    assert final.upstream_peer == f"127.0.0.1:{http_port}"
    link = daemon.stub.GetLink(pb.GetLinkRequest(link_id=proxy.link_id))
    lost = link.reverse_counters.dropped_loss + link.forward_counters.dropped_loss
    assert link.reverse_counters.dropped_loss > 0
    assert final.server.counters.bytes_retransmitted > 0

    # The retransmissions are in the session's events: the upstream-facing
    # endpoint resent the body's lost segments.
    def has_retransmit(evs: list[pb.Event]) -> bool:
        return any(
            e.session_id == session.id
            and e.endpoint == pb.ENDPOINT_SERVER
            and e.reason.startswith("retransmit")
            and e.segment.len > 0
            for e in evs
        )

    events.wait(has_retransmit, "a retransmission by the upstream-facing endpoint")
    got = events.stop()
    assert got and all(e.session_id == session.id for e in got)
    resent = [e for e in got if e.reason.startswith("retransmit")]
    reasons = sorted({e.reason for e in resent})
    print(
        f"\nhttp: {SIZE >> 20} MB in {elapsed:.1f} s through {LOSS:.0%} loss each way; "
        f"{lost} packets lost, {final.server.counters.bytes_retransmitted} bytes "
        f"retransmitted; {len(got)} SEGMENT_SENT events, {len(resent)} retransmissions "
        f"({', '.join(reasons)}), {events.lost} events lost by the watcher"
    )
    p = get_proxy(daemon.stub, proxy.id)
    assert p.counters.bytes_downstream >= SIZE
