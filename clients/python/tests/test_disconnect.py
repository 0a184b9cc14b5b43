"""A client killed (SIGKILL) in the middle of a WatchEvents stream or of a
Write that waits for buffer space: the daemon frees the stream (its
subscriber slot and the handler), and goes on serving."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from typing import Callable, Iterator

import pytest

import tcpemu

from conftest import Daemon

MAX_SUBSCRIBERS = 2


@pytest.fixture(scope="module")
def small() -> Iterator[Daemon]:
    """A daemon with room for two subscribers and a /metrics endpoint."""
    d = Daemon(
        "--shards",
        "2",
        "--max_subscribers",
        str(MAX_SUBSCRIBERS),
        "--metrics_listen",
        "127.0.0.1:0",
    )
    yield d
    rc = d.stop()
    assert rc == 0, f"tcpemud exited {rc} on SIGTERM:\n{''.join(d.log)}"


def metrics_url(d: Daemon) -> str:
    for line in d.log:
        m = re.search(r"metrics on port (\d+)", line)
        if m:
            return f"http://127.0.0.1:{m.group(1)}/metrics"
    raise AssertionError(f"no metrics port in the daemon's log: {d.log}")


def metric(d: Daemon, name: str, labels: str = "") -> float:
    """Sum of the samples of `name` whose labels contain `labels`."""
    with urllib.request.urlopen(metrics_url(d), timeout=10) as resp:
        text = resp.read().decode()
    total = 0.0
    for line in text.splitlines():
        if (line.startswith(name + "{") or line.startswith(name + " ")) and labels in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def wait_until(pred: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def child(code: str) -> subprocess.Popen[str]:
    """A Python process running `code` that prints "ready" when it is in the
    middle of its call."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_ready(proc: subprocess.Popen[str]) -> None:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "ready":
        proc.kill()
        _, err = proc.communicate()
        raise AssertionError(f"child did not get ready: {line!r} {err}")


def kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL


def finish_a_session(target: str) -> None:
    """Another session completes with its bytes intact."""
    with tcpemu.Client(target, timeout=30) as c:
        net = c.create_network("virtual", seed=9)
        try:
            link = net.create_link(delay="5ms", loss=0.01)
            quick = tcpemu.TcpConfig(msl="10ms")
            s = link.open_session(client=quick, server=quick, digest=True)
            left = 200_000
            for _ in range(10_000):
                if left:
                    left -= s.write(fill=left)
                else:
                    break
                net.advance("10ms")
            s.close()
            snap = s.wait_for("destroyed", timeout=60)
            assert snap.server.bytes_read == 200_000
            assert s.proto.client.write_sha256 == s.proto.server.read_sha256
        finally:
            net.delete()


def test_killed_subscriber_frees_its_slot(small: Daemon) -> None:
    before = metric(small, "tcpemu_event_subscribers")
    with tcpemu.Client(small.target, timeout=20) as c:
        held = c.events()
        assert held.wait_subscribed(10)
        assert wait_until(lambda: metric(small, "tcpemu_event_subscribers") == before + 1)

        proc = child(
            f"""
            import time, tcpemu
            c = tcpemu.Client({small.target!r})
            stream = c.events()
            assert stream.wait_subscribed(10)
            print("ready", flush=True)
            for _ in stream:
                pass
            time.sleep(600)
            """
        )
        try:
            wait_ready(proc)
            assert metric(small, "tcpemu_event_subscribers") == before + MAX_SUBSCRIBERS
            # Full: a third stream is refused, and counted.
            refused = metric(small, "tcpemu_limit_rejections_total", 'limit="subscribers"')
            with pytest.raises(tcpemu.ResourceExhausted, match="--max_subscribers is 2"):
                for _ in c.events():
                    pass
            assert (
                metric(small, "tcpemu_limit_rejections_total", 'limit="subscribers"') == refused + 1
            )
            # Events flow to the child's stream while it dies.
            net = c.create_network("virtual", seed=1)
            link = net.create_link(delay="1ms")
            quick = tcpemu.TcpConfig(msl="10ms")
            s = link.open_session(client=quick, server=quick)
            s.write(fill=100_000)
            net.advance("1s")
        finally:
            kill(proc)

        assert wait_until(lambda: metric(small, "tcpemu_event_subscribers") == before + 1), (
            "the killed client's stream still holds its subscriber slot"
        )
        # The freed slot takes a new subscriber.
        again = c.events(network=net)
        assert again.wait_subscribed(10)
        assert wait_until(lambda: metric(small, "tcpemu_event_subscribers") == before + 2)
        s.close()
        s.wait_for("destroyed", timeout=30)
        kinds = set()
        for ev in again:
            if isinstance(ev, tcpemu.pb.Event):
                kinds.add(ev.kind)
            if tcpemu.pb.EVENT_KIND_SESSION_DESTROYED in kinds:
                break
        again.cancel()
        held.cancel()
        net.delete()
    assert wait_until(lambda: metric(small, "tcpemu_event_subscribers") == before)
    finish_a_session(small.target)


def test_killed_writer_frees_its_handler(small: Daemon) -> None:
    with tcpemu.Client(small.target, timeout=20) as c:
        # REALTIME, and the server never reads: the write waits for room.
        link = c.create_link(delay="1ms")
        s = link.open_session(
            client=tcpemu.TcpConfig(send_buffer=65536, msl="10ms"),
            server=tcpemu.TcpConfig(recv_buffer=65536, msl="10ms"),
            server_reader="manual",
        )
        s.wait_for("ESTABLISHED")
        writes = metric(small, "grpc_server_handled_total", 'grpc_method="Write"')
        proc = child(
            f"""
            import tcpemu
            c = tcpemu.Client({small.target!r}, timeout=None)
            s = c.session({s.id})
            print("ready", flush=True)
            s.write(fill=100_000_000, wait="600s")
            """
        )
        try:
            wait_ready(proc)
            # The write is in progress once the send buffer is full.
            assert wait_until(lambda: s.snapshot().client.send_buffer_free == 0)
            time.sleep(0.3)
            assert metric(small, "grpc_server_handled_total", 'grpc_method="Write"') == writes
        finally:
            kill(proc)
        # The handler ends (it notices the cancelled call) rather than
        # waiting its 600 s.
        assert wait_until(
            lambda: metric(small, "grpc_server_handled_total", 'grpc_method="Write"') == writes + 1
        ), "the killed client's Write is still being handled"
        snap = s.snapshot()
        assert snap.client.state == "ESTABLISHED"
        # The session still works: the server reads what was accepted.
        s.set_reader("auto")
        assert wait_until(
            lambda: s.snapshot().server.bytes_read == s.snapshot().client.bytes_written
        )
        s.close()
        s.wait_for("destroyed", timeout=120)
        s.delete()
        link.delete()
    finish_a_session(small.target)
