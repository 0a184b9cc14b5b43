"""The TAP device's offloads (docs/tap.md): tcpemud opens it with a
virtio-net header, so the kernel hands over TCP segments of up to 64 KiB with
their checksums left to complete; the engine cuts them to its MSS before its
TCP sees them. The other way the device coalesces the engine's MSS-sized
segments of a flow into TSO frames of up to 64 KiB, which the kernel takes
as the segments they stand for.

The evidence is counted on both sides of the device: the kernel counts one
packet per super-segment (sent or received), the engine's interface one
frame per MSS-sized segment. Without the cut or the coalescing the two would
match (and the interface would drop every super-segment as too big).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import Tap, wait_session
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb
from test_tap_interop import (
    PORT,
    accepted_session,
    connect,
    export_pcap,
    peer_result,
    tcp_fields,
    write_all,
)

MB = 1 << 20


def kernel_packets(tap: Tap, direction: str) -> int:
    got = json.loads(tap.in_ns(f"ip -s -j link show dev {tap.iface.name}"))
    return int(got[0]["stats64"][direction]["packets"])


def kernel_tx_packets(tap: Tap) -> int:
    return kernel_packets(tap, "tx")


def kernel_tcp_counter(tap: Tap, name: str) -> int:
    """One of the namespace's IP or TCP MIB counters (nstat's names)."""
    out = tap.in_ns(f"nstat -az {name}")
    for line in out.splitlines():
        fields = line.split()
        if fields and fields[0] == name:
            return int(fields[1])
    raise AssertionError(f"nstat has no {name}: {out!r}")


@pytest.mark.parametrize("mtu", [1500, 9000])
def test_kernel_super_segments_are_cut_and_delivered_intact(
    tap_factory, tmp_path: Path, mtu: int
):
    tap = tap_factory(mtu)
    tap.stub.Listen(
        pb.ListenRequest(
            interface_id=tap.iface.id, port=PORT, digest=True, capture=True
        )
    )
    n = 40 * MB
    before = kernel_tx_packets(tap)
    rx_before = tap.stub.GetInterface(
        pb.GetInterfaceRequest(interface_id=tap.iface.id)
    ).counters.frames_received
    peer = tap.peer(
        "source", "--connect", tap.engine_addr, "--port", str(PORT),
        "--bytes", str(n), "--seed", "16",
    )  # fmt: skip
    s = accepted_session(tap)
    got = peer_result(peer)
    final = wait_session(tap.stub, s.id, lambda x: x.destroyed)
    assert final.server.bytes_read == n
    assert final.server.read_sha256.hex() == got["sha256"]
    assert final.server.error == pb.ERROR_CODE_UNSPECIFIED

    sent = kernel_tx_packets(tap) - before
    counters = tap.stub.GetInterface(
        pb.GetInterfaceRequest(interface_id=tap.iface.id)
    ).counters
    received = counters.frames_received - rx_before
    assert counters.dropped_too_big == 0
    assert counters.dropped_malformed == 0
    mss = mtu - 40 - 12
    # Every data byte arrived in segments of at most one MSS, so the engine
    # received at least n / mss frames; the kernel sent far fewer packets,
    # each carrying several segments (at least 2: Linux's tcp_min_tso_segs).
    assert received >= n // mss
    assert received > 1.5 * sent, (received, sent)

    if shutil.which("tshark") is None:
        pytest.skip("tshark is not installed; the capture is not read")
    pcap = export_pcap(tap, s.id, tmp_path / "cut.pcap")
    lengths = [
        int(row["tcp.len"])
        for row in tcp_fields(pcap, "tcp.len")
        if row["src"] == tap.kernel_addr and row["tcp.len"]
    ]
    assert lengths, "the capture holds no data segment from the kernel"
    assert max(lengths) == mss
    assert all(0 <= x <= mss for x in lengths)


@pytest.mark.parametrize("mtu", [1500, 9000])
def test_engine_segments_are_coalesced_and_delivered_intact(
    tap_factory, tmp_path: Path, mtu: int
):
    tap = tap_factory(mtu)
    n = 40 * MB
    peer = tap.peer("sink", "--bind", tap.kernel_addr, "--port", str(PORT))
    s = connect(tap, capture=True)
    rx_before = kernel_packets(tap, "rx")
    tx_before = tap.stub.GetInterface(
        pb.GetInterfaceRequest(interface_id=tap.iface.id)
    ).counters.frames_sent
    write_all(tap, s.id, n)
    tap.stub.Close(pb.CloseRequest(session_id=s.id, endpoint=pb.ENDPOINT_CLIENT))
    got = peer_result(peer)
    assert got["bytes"] == n
    final = wait_session(
        tap.stub, s.id, lambda x: x.destroyed or x.client.bytes_written == n
    )
    assert final.client.write_sha256.hex() == got["sha256"]
    assert final.client.error == pb.ERROR_CODE_UNSPECIFIED

    counters = tap.stub.GetInterface(
        pb.GetInterfaceRequest(interface_id=tap.iface.id)
    ).counters
    sent = counters.frames_sent - tx_before
    received = kernel_packets(tap, "rx") - rx_before
    assert counters.dropped_device == 0
    mss = mtu - 40 - 12
    # The engine's interface sent one frame per segment (at least n / mss);
    # the kernel received far fewer packets: TSO frames of several segments.
    assert sent >= n // mss
    assert sent > 1.5 * received, (sent, received)

    if shutil.which("tshark") is None:
        pytest.skip("tshark is not installed; the capture is not read")
    # The engine's own capture still shows one MSS per segment.
    pcap = export_pcap(tap, s.id, tmp_path / "coalesced.pcap")
    lengths = [
        int(row["tcp.len"])
        for row in tcp_fields(pcap, "tcp.len")
        if row["src"] == tap.engine_addr and row["tcp.len"]
    ]
    assert lengths, "the capture holds no data segment from the engine"
    assert max(lengths) == mss


def test_corrupted_segments_are_not_coalesced_past_the_kernels_check(
    tap_factory,
):
    """A TSO frame's checksum is left for the kernel to complete, which it
    then trusts; so a segment the egress link corrupted must reach the
    kernel alone, with its bad checksum, to be dropped there and resent."""
    tap = tap_factory(1500, egress=pb.PathSpec(corrupt=0.01))
    n = 8 * MB
    bad_before = kernel_tcp_counter(tap, "TcpInCsumErrors") + kernel_tcp_counter(
        tap, "IpInHdrErrors"
    )
    peer = tap.peer("sink", "--bind", tap.kernel_addr, "--port", str(PORT))
    s = connect(tap)
    write_all(tap, s.id, n)
    tap.stub.Close(pb.CloseRequest(session_id=s.id, endpoint=pb.ENDPOINT_CLIENT))
    got = peer_result(peer)
    assert got["bytes"] == n
    final = wait_session(
        tap.stub, s.id, lambda x: x.destroyed or x.client.bytes_written == n
    )
    assert final.client.write_sha256.hex() == got["sha256"]
    link = tap.stub.GetLink(pb.GetLinkRequest(link_id=tap.iface.id))
    corrupted = link.forward_counters.corrupted
    assert corrupted > 0
    # Most flipped bits land in a TCP segment (header or payload), which the
    # kernel refuses by its checksum; a few in the IPv4 header, refused
    # there. Every corrupted segment was seen and refused (a handful may
    # have been dropped by the device on the way, under load).
    refused = (
        kernel_tcp_counter(tap, "TcpInCsumErrors")
        + kernel_tcp_counter(tap, "IpInHdrErrors")
        - bad_before
    )
    assert 0.9 * corrupted <= refused <= corrupted, (refused, corrupted)
