"""Fixtures for the TAP interop tests: a tcpemud, and per test a network
namespace holding the kernel's side of a TAP interface that the daemon
created. Everything created is deleted afterwards, whatever happens."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

HERE = Path(__file__).resolve().parent
PEER = HERE / "peer.py"
REPO = HERE.parent.parent
# The generated stubs of this checkout, whatever copy of the client package
# the interpreter has installed.
sys.path.insert(0, str(REPO / "clients/python/src"))

from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2_grpc as rpc

# How long a test waits for something that must happen. Reaching it fails
# the test; it is generous because on a busy machine things take longer, and
# waiting longer must never change a verdict.
PATIENCE = 60.0


def _missing_facility() -> str | None:
    if os.geteuid() != 0:
        return "needs root (network namespaces and TAP devices)"
    if not os.path.exists("/dev/net/tun"):
        return "/dev/net/tun is missing"
    if shutil.which("ip") is None:
        return "iproute2 (ip) is missing"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    reason = _missing_facility()
    if reason is None:
        return
    print(f"\n*** TAP INTEROP TESTS SKIPPED: {reason} ***\n", file=sys.stderr)
    for item in items:
        item.add_marker(pytest.mark.skip(reason=reason))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Daemon:
    stub: rpc.EmulatorStub
    pcap_dir: Path


@pytest.fixture(scope="session")
def daemon() -> Iterator[Daemon]:
    binary = os.environ.get("TCPEMUD", str(REPO / "build/server/tcpemud"))
    port = _free_port()
    pcap_dir = Path(tempfile.mkdtemp(prefix="tcpemu-interop-pcap-"))
    proc = subprocess.Popen(
        [
            binary,
            f"--listen=127.0.0.1:{port}",
            "--metrics_listen=",
            "--shards=1",
            "--capture_bytes=268435456",
        ],
    )
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    grpc.channel_ready_future(channel).result(timeout=PATIENCE)
    try:
        yield Daemon(rpc.EmulatorStub(channel), pcap_dir)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        shutil.rmtree(pcap_dir, ignore_errors=True)


def sh(cmd: str) -> None:
    subprocess.run(cmd, shell=True, check=True)


@dataclass
class Tap:
    stub: rpc.EmulatorStub
    ns: str
    iface: pb.Interface
    engine_addr: str
    kernel_addr: str

    def peer(self, *args: str) -> subprocess.Popen[str]:
        """Starts peer.py in the namespace; returns once it is ready."""
        p = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, sys.executable, str(PEER), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert p.stderr is not None
        line = p.stderr.readline()
        assert line.strip() == "ready", f"peer did not start: {line!r}"
        return p

    def in_ns(self, cmd: str) -> str:
        return subprocess.run(
            f"ip netns exec {self.ns} {cmd}",
            shell=True,
            check=True,
            capture_output=True,
            text=True,
        ).stdout


_counter = 0


def make_tap(
    stub: rpc.EmulatorStub,
    mtu: int,
    egress: pb.PathSpec | None = None,
    ingress: pb.PathSpec | None = None,
) -> Iterator[Tap]:
    global _counter
    _counter += 1
    tag = f"{os.getpid() % 10000}-{_counter}"
    ns = f"tcpemu-it-{tag}"
    subnet = f"10.{180 + _counter % 20}.{os.getpid() % 250}"
    sh(f"ip netns add {ns}")
    iface = None
    try:
        iface = stub.CreateInterface(
            pb.CreateInterfaceRequest(
                address=f"{subnet}.2/24",
                mtu=mtu,
                egress=egress or pb.PathSpec(),
                ingress=ingress or pb.PathSpec(),
            )
        )
        name = iface.name
        sh(
            f"ip link set dev {name} netns {ns} && "
            f"ip -n {ns} addr add {subnet}.1/24 dev {name} && "
            f"ip -n {ns} link set {name} mtu {mtu} up && "
            f"ip -n {ns} link set lo up"
        )
        yield Tap(stub, ns, iface, f"{subnet}.2", f"{subnet}.1")
    finally:
        if iface is not None:
            try:
                stub.DeleteInterface(pb.DeleteInterfaceRequest(interface_id=iface.id))
            except grpc.RpcError as e:
                # The test may have deleted it itself; anything else is a
                # failure of the daemon.
                if e.code() != grpc.StatusCode.NOT_FOUND:
                    raise
        subprocess.run(["ip", "netns", "del", ns], check=False)


@pytest.fixture
def tap_factory(daemon: Daemon) -> Iterator:
    made: list[Iterator[Tap]] = []

    def make(mtu: int = 1500, **kw: pb.PathSpec) -> Tap:
        gen = make_tap(daemon.stub, mtu, **kw)
        made.append(gen)
        return next(gen)

    yield make
    for gen in made:
        for _ in gen:
            pass


def wait_session(
    stub: rpc.EmulatorStub, session_id: int, done, timeout: float = 120
) -> pb.Session:
    deadline = time.monotonic() + timeout
    while True:
        s = stub.GetSession(pb.GetSessionRequest(session_id=session_id))
        if done(s):
            return s
        if time.monotonic() > deadline:
            raise AssertionError(f"session {session_id} did not finish: {s}")
        time.sleep(0.05)


@pytest.fixture
def bench(tap_factory):
    """The adversarial tests' bench (adversarial.py) on a fresh TAP device."""
    from adversarial import Bench
    from raw import RawHost

    tap = tap_factory(1500)
    raw = RawHost(tap.ns, tap.iface.name)
    b = Bench(tap, raw)
    try:
        yield b
    finally:
        for p in b.procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
        raw.close()
