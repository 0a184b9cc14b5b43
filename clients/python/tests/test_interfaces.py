"""Interfaces to real hosts: the kernel's TCP in a network namespace, joined
to the engine by a TAP device. The engine connects to a kernel sink, a
kernel client connects to an engine listener, and a captured session comes
back as a pcap file that tcpdump reads.

These tests need root (network namespaces, TAP devices) and /dev/net/tun;
without them they skip, saying so. Each test gets its own namespace,
``tcpemu-py-<pid>-<n>``, and a subnet 10.201.<n>.0/24 inside it; deleting
the namespace destroys the TAP device with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import Iterator, List

import pytest

import tcpemu
import tcpemu.aio
from tcpemu.cli import main


def _missing_facility() -> str:
    if os.geteuid() != 0:
        return "needs root (network namespaces and TAP devices)"
    if not os.path.exists("/dev/net/tun"):
        return "/dev/net/tun is missing"
    if shutil.which("ip") is None:
        return "iproute2 (ip) is missing"
    return ""


_MISSING = _missing_facility()
if _MISSING:
    print(f"\n*** SKIPPING TAP INTERFACE TESTS: {_MISSING} ***", file=sys.stderr)
pytestmark = pytest.mark.skipif(bool(_MISSING), reason=_MISSING)

# A kernel TCP sink: accepts one connection, reads to end of stream, prints
# the byte count and SHA-256.
SINK = """
import hashlib, socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(1)
print("ready", flush=True)
c, _ = s.accept()
h, n = hashlib.sha256(), 0
while True:
    b = c.recv(1 << 20)
    if not b:
        break
    h.update(b)
    n += len(b)
c.close()
print(n, h.hexdigest(), flush=True)
"""

# A kernel TCP client: sends N random bytes, closes, waits for the peer's
# FIN, prints the byte count and SHA-256.
SOURCE = """
import hashlib, os, socket, sys
data = os.urandom(int(sys.argv[3]))
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=20)
print("ready", flush=True)
c.sendall(data)
c.shutdown(socket.SHUT_WR)
while c.recv(65536):
    pass
c.close()
print(len(data), hashlib.sha256(data).hexdigest(), flush=True)
"""

_count = itertools.count(1)


def sh(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, text=True)


@dataclass
class Host:
    """The kernel's side of an interface, in its own network namespace."""

    ns: str
    address: str  # the kernel's address; the engine's is iface.ip
    iface: tcpemu.Interface

    def python(self, code: str, *args: str) -> subprocess.Popen[str]:
        """Runs a Python program in the namespace; returns once it printed
        its first line ("ready")."""
        p = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, sys.executable, "-c", code, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert p.stdout is not None
        line = p.stdout.readline()
        if line.strip() != "ready":
            p.kill()
            raise AssertionError(f"peer did not start: {line!r} {p.communicate()[1]}")
        return p


def finish(p: subprocess.Popen[str]) -> List[str]:
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    return out.split()


@contextlib.contextmanager
def namespace() -> Iterator[str]:
    ns = f"tcpemu-py-{os.getpid()}-{next(_count)}"
    sh("ip", "netns", "add", ns)
    try:
        yield ns
    finally:
        # Deleting the namespace destroys the TAP device moved into it.
        subprocess.run(["ip", "netns", "del", ns], check=False)


def join(ns: str, name: str, host_cidr: str) -> None:
    """Moves the TAP device into the namespace and gives the kernel its side."""
    sh("ip", "link", "set", "dev", name, "netns", ns)
    sh("ip", "-n", ns, "addr", "add", host_cidr, "dev", name)
    sh("ip", "-n", ns, "link", "set", name, "up")
    sh("ip", "-n", ns, "link", "set", "lo", "up")


@pytest.fixture
def host(client: tcpemu.Client) -> Iterator[Host]:
    with namespace() as ns:
        subnet = f"10.201.{int(ns.rsplit('-', 1)[1]) % 250}"
        iface = client.create_interface(f"{subnet}.2/24")
        try:
            join(ns, iface.name, f"{subnet}.1/24")
            yield Host(ns, f"{subnet}.1", iface)
        finally:
            with contextlib.suppress(tcpemu.NotFound):
                iface.delete()


def test_connect_to_a_kernel_sink(client, host):
    sink = host.python(SINK, host.address, "9000")
    session = host.iface.connect(host.address, 9000, digest=True)
    assert session.remote == tcpemu.Remote(host.iface.id, host.address, 9000)
    assert session.local_endpoint == "client" and not session.accepted
    assert session.local_address == host.iface.ip
    assert session.link_id == host.iface.id
    snap = session.wait_for("ESTABLISHED", timeout=10)
    assert snap.remote == session.remote and snap.local is snap.client

    assert session.write(fill=2_000_000, wait="20s") == 2_000_000
    assert session.close() in ("FIN_WAIT_1", "FIN_WAIT_2")
    n, digest = finish(sink)
    snap = session.snapshot()
    assert int(n) == snap.client.bytes_written == 2_000_000
    assert snap.client.write_sha256 == digest
    assert snap.server.state == "UNSPECIFIED"  # the host's side is not the engine's

    iface = host.iface.refresh()
    assert iface.counters.arp_requests_sent >= 1
    assert iface.egress_counters.bytes_delivered > 2_000_000
    assert [s.id for s in iface.sessions()] == [session.id]


def test_accept_from_a_kernel_client(client, host):
    with host.iface.listen(8080, digest=True) as listener:
        assert (listener.interface_id, listener.port) == (host.iface.id, 8080)
        assert host.iface.refresh().listening_ports == [8080]
        source = host.python(SOURCE, host.iface.ip, "8080", "1000000")
        session = listener.accept(timeout=10)
        assert session.accepted and session.local_endpoint == "server"
        assert session.remote is not None and session.remote.address == host.address
        n, digest = finish(source)
        # The engine reads to the end, then closes (its reader's close_on_eof).
        snap = session.wait_for("destroyed", timeout=10)
        assert snap.local is snap.server
        assert snap.server.bytes_read == int(n) == 1_000_000
        assert snap.server.read_sha256 == digest
        with pytest.raises(tcpemu.DeadlineExceeded, match="port 8080"):
            listener.accept(timeout=0.2)
    assert host.iface.refresh().listening_ports == []
    with pytest.raises(tcpemu.FailedPrecondition, match="closed"):
        listener.accept(timeout=1)


def need(tool: str, what: str) -> None:
    """Skips the test, saying so on the terminal too, when `tool` is missing
    (scripts/setup installs it)."""
    if shutil.which(tool) is None:
        reason = f"{tool} is missing: {what} not checked (scripts/setup installs it)"
        print(f"\n*** SKIPPING: {reason} ***", file=sys.stderr)
        pytest.skip(reason)


def captured_session(host: Host, port: int) -> tcpemu.Session:
    """A session of the engine to a kernel sink, 100000 bytes, captured."""
    sink = host.python(SINK, host.address, str(port))
    session = host.iface.connect(host.address, port, capture=True)
    assert session.capture
    session.write(fill=100_000, wait="10s")
    session.close()
    assert finish(sink)[0] == "100000"
    return session


def test_export_pcap_of_a_captured_session(client, host, tmp_path):
    session = captured_session(host, 9001)
    path = tmp_path / "session.pcap"
    size = session.export_pcap(path)
    data = path.read_bytes()
    assert size == len(data) > 24
    assert data[:4] == b"\x4d\x3c\xb2\xa1"  # pcap, nanosecond timestamps
    buf = io.BytesIO()
    client.export_pcap(session.id, buf)
    assert buf.getvalue()[:24] == data[:24]

    plain = host.iface.connect(host.address, 9, reader="auto")  # refused: RST
    with pytest.raises(tcpemu.FailedPrecondition, match="no capture"):
        plain.export_pcap(io.BytesIO())


def test_tcpdump_reads_the_exported_pcap(client, host, tmp_path):
    need("tcpdump", "the exported pcap file")
    path = tmp_path / "session.pcap"
    captured_session(host, 9003).export_pcap(path)
    proc = subprocess.run(
        ["tcpdump", "-n", "-r", str(path)], capture_output=True, text=True, check=True
    )
    lines = proc.stdout.splitlines()
    assert len(lines) > 10
    assert f"{host.iface.ip}." in lines[0] and f"> {host.address}.9003: Flags [S]" in lines[0]


def test_engine_answers_ping(client, host):
    need("ping", "the engine's answers to ARP and ICMP echo")
    sh("ip", "netns", "exec", host.ns, "ping", "-c", "2", "-i", "0.2", "-W", "2", host.iface.ip)
    counters = host.iface.refresh().counters
    assert counters.icmp_echo_answered == 2
    assert counters.arp_requests_answered >= 1


def test_interface_handle(client, host):
    iface = host.iface
    assert iface.address.endswith(".2/24") and iface.mtu == 1500 and iface.created_device
    assert iface.id in [x.id for x in client.interfaces()]
    assert client.interfaces(iface.network_id)[0].network_id == iface.network_id

    iface.update(egress={"delay": "30ms"})
    assert iface.egress.delay.ToMilliseconds() == 30
    assert iface.ingress.delay.ToMilliseconds() == 0
    assert iface.egress.mtu == 1500
    link = iface.link()
    assert link.forward == iface.egress and link.reverse == iface.ingress
    iface.update(ingress=tcpemu.PathSpec(delay="10ms"))
    assert iface.egress.delay.ToMilliseconds() == 30  # kept
    assert iface.ingress.delay.ToMilliseconds() == 10
    iface.update(replace=True)
    assert iface.egress.delay.ToMilliseconds() == 0 and iface.egress.mtu == 1500

    fault = iface.inject_fault(action="drop", direction="egress", flags_all="SYN")
    assert fault.link_id == iface.id and len(fault.ids) == 1
    session = iface.connect(host.address, 9, config={"syn_retries": 1, "rto_initial": "100ms"})
    snap = session.wait_for("destroyed", timeout=10)
    assert snap.client.error == "timed_out"
    assert iface.refresh().egress_counters.dropped_fault >= 1
    iface.clear_faults()

    with pytest.raises(tcpemu.InvalidArgument, match="address"):
        client.create_interface("10.201.0.2")
    vnet = client.create_network("virtual")
    try:
        with pytest.raises(tcpemu.FailedPrecondition, match="REALTIME"):
            vnet.create_interface("10.201.255.2/24")
    finally:
        vnet.delete()

    iface.delete()
    with pytest.raises(tcpemu.NotFound):
        iface.refresh()


def test_aio_connect_accept_and_pcap(target, tmp_path):
    async def main_() -> None:
        async with tcpemu.aio.Client(target) as client:
            with namespace() as ns:
                n = int(ns.rsplit("-", 1)[1]) % 250
                iface = await client.create_interface(f"10.201.{n}.2/24")
                try:
                    join(ns, iface.name, f"10.201.{n}.1/24")
                    host = Host(ns, f"10.201.{n}.1", iface)
                    assert [x.id for x in await client.interfaces()] == [iface.id]

                    async with await iface.listen(7000, digest=True, capture=True) as listener:
                        source = host.python(SOURCE, iface.ip, "7000", "200000")
                        accepted = await listener.accept(timeout=10)
                        assert accepted.accepted and accepted.capture
                        _, digest = await asyncio.to_thread(finish, source)
                        snap = await accepted.wait_for("destroyed", timeout=10)
                        assert snap.server.read_sha256 == digest

                    sink = host.python(SINK, host.address, "7001")
                    session = await iface.connect(host.address, 7001, digest=True)
                    await session.wait_for("ESTABLISHED", timeout=10)
                    await session.write(b"hello, kernel", push=True)
                    await session.close()
                    count, digest = await asyncio.to_thread(finish, sink)
                    assert count == "13"
                    assert (await session.snapshot()).client.write_sha256 == digest

                    size = await accepted.export_pcap(tmp_path / "accepted.pcap")
                    assert size > 24
                finally:
                    await iface.delete()

    asyncio.run(main_())
    assert (tmp_path / "accepted.pcap").read_bytes()[:4] == b"\x4d\x3c\xb2\xa1"


def test_cli_interface_and_pcap(capsys, target, host, tmp_path):
    def run(*argv: str) -> str:
        rc = main(["--target", target, *argv])
        out, err = capsys.readouterr()
        assert rc == 0, err
        return out

    iface_id = str(host.iface.id)
    out = run("interface", "show", iface_id)
    assert out.startswith(f"interface {iface_id} {host.iface.name} ")
    assert "listening on none" in out
    assert f"interface {iface_id} " in run("interface", "list")
    assert run("interface", "listen", iface_id, "8081", "--digest").strip() == (
        f"interface {iface_id} listening on port 8081"
    )
    assert "listening on 8081" in run("interface", "show", iface_id)
    run("interface", "unlisten", iface_id, "8081")

    # Impairments change live, as with `link update`: settings left out stay.
    out = run(
        "interface", "update", iface_id, "--egress", "delay=20ms,loss=1%", "--ingress", "rate=1Mbit"
    )
    assert out.startswith(f"interface {iface_id} {host.iface.name} ")
    assert "  egress: delay 20ms, rate unlimited, loss 1%, queue 1000p, mtu 1500\n" in out
    assert "  ingress: delay 0, rate 1Mbit, queue 1000p, mtu 1500\n" in out
    shown = json.loads(run("interface", "update", iface_id, "--ingress", "delay=5ms", "--json"))
    assert shown["egress"]["delay"] == "0.020s" and shown["egress"]["loss"]["random"] == 0.01
    assert shown["ingress"]["delay"] == "0.005s" and shown["ingress"]["rate_bps"] == 1_000_000
    iface = host.iface.refresh()
    assert iface.egress.delay.ToMilliseconds() == 20 and iface.ingress.rate_bps == 1_000_000
    out = run("interface", "update", iface_id, "--egress", "delay=1ms", "--replace")
    assert "  egress: delay 1ms, rate unlimited, queue 1000p, mtu 1500\n" in out
    assert "  ingress: delay 0, rate unlimited, queue 1000p, mtu 1500\n" in out
    assert main(["--target", target, "interface", "update", iface_id, "--egress", "speed=1"]) == 2
    assert "--egress: unknown setting; allowed: delay" in capsys.readouterr().err

    sink = host.python(SINK, host.address, "9002")
    out = run(
        "session", "connect", "--interface", iface_id, host.address, "9002", "--capture", "--json"
    )
    session_id = str(json.loads(out)["id"])
    session = tcpemu.Session(host.iface.client, tcpemu.pb.Session(id=int(session_id)))
    session.wait_for("ESTABLISHED", "client", timeout=10)
    run("session", "write", session_id, "--fill", "10000")
    run("session", "close", session_id)
    assert finish(sink)[0] == "10000"
    out = run("session", "show", session_id)
    assert f"connected to {host.address}:9002 through interface {iface_id}" in out
    assert "server:" not in out

    pcap = tmp_path / "cli.pcap"
    run("pcap", session_id, "-o", str(pcap))
    assert pcap.read_bytes()[:4] == b"\x4d\x3c\xb2\xa1"
