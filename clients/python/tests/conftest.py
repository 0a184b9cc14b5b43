"""Fixtures: a live tcpemud started for the test session, and clients of it.

The daemon binary is $TCPEMUD, else ../../build/server/tcpemud relative to
clients/python. Without it the daemon tests are skipped, with the reason.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import re
import signal
import subprocess
import sys
import threading
import time
from typing import Iterator, List, Optional

import pytest

import tcpemu

PACKAGE_ROOT = pathlib.Path(__file__).resolve().parent.parent
REPO_ROOT = PACKAGE_ROOT.parent.parent
DEFAULT_TCPEMUD = PACKAGE_ROOT / ".." / ".." / "build" / "server" / "tcpemud"


def tcpemud_path() -> pathlib.Path:
    return pathlib.Path(os.environ.get("TCPEMUD") or DEFAULT_TCPEMUD).resolve()


class Daemon:
    """A tcpemud process on a port the kernel picked."""

    def __init__(self, *flags: str) -> None:
        path = tcpemud_path()
        if not os.access(path, os.X_OK):
            reason = (
                f"tcpemud not found at {path}: build it (ninja -C build tcpemud) "
                "or point $TCPEMUD at the binary"
            )
            print(f"\nSKIPPING daemon tests: {reason}", file=sys.stderr)
            pytest.skip(reason)
        args = [str(path), "--listen", "127.0.0.1:0", "--metrics_listen", "", *flags]
        self.proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
        self.log: List[str] = []
        port: Optional[int] = None
        deadline = time.monotonic() + 30
        assert self.proc.stderr is not None
        while port is None:
            line = self.proc.stderr.readline()
            if not line:
                raise RuntimeError(f"tcpemud exited at start-up: {''.join(self.log)}")
            self.log.append(line)
            m = re.search(r"serving gRPC on port (\d+)", line)
            if m:
                port = int(m.group(1))
            if time.monotonic() > deadline:
                raise RuntimeError("tcpemud did not report its port within 30s")
        self.target = f"127.0.0.1:{port}"
        self._drain = threading.Thread(target=self._read_log, daemon=True)
        self._drain.start()

    def _read_log(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log.append(line)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return -9


@pytest.fixture(scope="session")
def daemon() -> Iterator[Daemon]:
    d = Daemon("--shards", "2")
    yield d
    rc = d.stop()
    assert rc == 0, f"tcpemud exited {rc} on SIGTERM:\n{''.join(d.log)}"


@pytest.fixture(scope="session")
def target(daemon: Daemon) -> str:
    return daemon.target


@pytest.fixture(scope="session")
def replicas() -> Iterator[List[Daemon]]:
    """Two more daemons, independent replicas for ShardedClient tests (and
    the docs' sharding example); tests keep to networks of their own on
    them."""
    started: List[Daemon] = []
    try:
        for _ in range(2):
            started.append(Daemon("--shards", "1"))
        yield started
    finally:
        codes = [(d, d.stop()) for d in started]
    for d, rc in codes:
        assert rc == 0, f"tcpemud exited {rc} on SIGTERM:\n{''.join(d.log)}"


@pytest.fixture
def client(target: str) -> Iterator[tcpemu.Client]:
    with tcpemu.Client(target, timeout=20) as c:
        yield c


@pytest.fixture
def vnet(client: tcpemu.Client) -> Iterator[tcpemu.Network]:
    """A fresh VIRTUAL network, deleted after the test."""
    net = client.create_network("virtual", seed=42)
    yield net
    with contextlib.suppress(tcpemu.NotFound):
        net.delete()


@pytest.fixture
def rnet(client: tcpemu.Client) -> Iterator[tcpemu.Network]:
    """A fresh REALTIME network, deleted after the test."""
    net = client.create_network("realtime", seed=3)
    yield net
    with contextlib.suppress(tcpemu.NotFound):
        net.delete()


def transfer(session: tcpemu.Session, net: tcpemu.Network, nbytes: int, step: str = "10ms") -> None:
    """Writes nbytes of generated data on a virtual network, advancing time
    until the server has read them all."""
    left = nbytes
    for _ in range(100_000):
        if left:
            left -= session.write(fill=left)
        net.advance(step)
        if session.snapshot().server.bytes_read >= nbytes:
            return
    raise AssertionError("transfer did not finish")
