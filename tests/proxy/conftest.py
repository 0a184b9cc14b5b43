"""Fixtures for the proxy tests: a tcpemud per test module, and proxies that
are deleted after each test, whatever happens. Real programs (redis-server,
curl, an HTTP server) and the test's own sockets are the applications and
upstream hosts."""

from __future__ import annotations

import os
import re
import resource
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc
import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
# The generated stubs of this checkout, whatever copy of the client package
# the interpreter has installed.
sys.path.insert(0, str(REPO / "clients/python/src"))

from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb  # noqa: E402
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2_grpc as rpc  # noqa: E402

if TYPE_CHECKING:
    from harness import Upstream

# How long a test waits for something that must happen. Reaching it fails
# the test; it is generous because on a busy machine things take longer, and
# waiting longer must never change a verdict.
PATIENCE = 60.0

# A thousand proxied connections need two thousand descriptors here (the
# applications' and the upstream's sockets) and as many in the daemon,
# which inherits this limit.
_soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
_want = 65536 if _hard == resource.RLIM_INFINITY else min(_hard, 65536)
if _soft != resource.RLIM_INFINITY and _soft < _want:
    resource.setrlimit(resource.RLIMIT_NOFILE, (_want, _hard))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Daemon:
    stub: rpc.EmulatorStub
    proc: subprocess.Popen[bytes]

    def rss_bytes(self) -> int:
        """The daemon's resident set (VmRSS)."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise AssertionError(f"no VmRSS for tcpemud (pid {self.proc.pid})")

    def check_alive(self) -> None:
        assert self.proc.poll() is None, f"tcpemud exited with {self.proc.returncode}"


@pytest.fixture(scope="module")
def daemon_flags() -> list[str]:
    """Flags of the module's tcpemud beyond its addresses; a module may
    override this fixture."""
    return []


@pytest.fixture(scope="module")
def daemon(daemon_flags: list[str]) -> Iterator[Daemon]:
    binary = os.environ.get("TCPEMUD", str(REPO / "build/server/tcpemud"))
    port = free_port()
    proc = subprocess.Popen(
        [binary, f"--listen=127.0.0.1:{port}", "--metrics_listen=", *daemon_flags]
    )
    channel = grpc.insecure_channel(
        f"127.0.0.1:{port}",
        options=[("grpc.max_receive_message_length", 64 << 20)],
    )
    try:
        grpc.channel_ready_future(channel).result(timeout=PATIENCE)
        d = Daemon(rpc.EmulatorStub(channel), proc)
        yield d
        # Every test of the module ran against a daemon that is still up.
        d.check_alive()
    finally:
        channel.close()
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


ProxyFactory = Callable[..., pb.Proxy]


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    """A listening socket on loopback for a proxy's upstream."""
    from harness import Upstream

    u = Upstream()
    yield u
    u.close()


@pytest.fixture
def make_proxy(daemon: Daemon, request: pytest.FixtureRequest) -> Iterator[ProxyFactory]:
    """Creates proxies named after the test, listening on a free loopback
    port; deletes them afterwards (unless the test did)."""
    made: list[int] = []

    def make(upstream: str, **fields: Any) -> pb.Proxy:
        name = re.sub(r"[^A-Za-z0-9._-]", ".", f"{request.node.name[:56]}-{len(made)}")
        fields.setdefault("listen", "127.0.0.1:0")
        proxy: pb.Proxy = daemon.stub.CreateProxy(
            pb.CreateProxyRequest(name=name, upstream=upstream, **fields)
        )
        made.append(proxy.id)
        return proxy

    yield make
    for proxy_id in made:
        try:
            daemon.stub.DeleteProxy(pb.DeleteProxyRequest(proxy_id=proxy_id))
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.NOT_FOUND:
                raise
