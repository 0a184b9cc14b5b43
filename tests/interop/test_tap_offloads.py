"""The TAP device's offloads (docs/tap.md): tcpemud opens it with a
virtio-net header, so the kernel hands over TCP segments of up to 64 KiB with
their checksums left to complete; the engine cuts them to its MSS before its
TCP sees them.

The evidence is counted on both sides of the device: the kernel counts one
transmitted packet per super-segment, the engine's interface one received
frame per MSS-sized segment cut from it. Without the cut the two would match
(and the interface would drop every super-segment as too big).
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
    export_pcap,
    peer_result,
    tcp_fields,
)

MB = 1 << 20


def kernel_tx_packets(tap: Tap) -> int:
    got = json.loads(tap.in_ns(f"ip -s -j link show dev {tap.iface.name}"))
    return int(got[0]["stats64"]["tx"]["packets"])


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
