"""ECN (RFC 3168) between the engine's TCP and the Linux kernel's, over a TAP
device, with net.ipv4.tcp_ecn=1 in the test's own network namespace.

Both ways of opening negotiate ECN: the SYN carries ECE and CWR, the SYN-ACK
ECE alone, the data of both senders leaves ECT(0) and nothing else does; the
kernel's `ss -tin` says `ecn`, and the engine's TCB says ecn_ok. Without
`ecn` on the engine's side the kernel's request is refused and nothing is
ECN-capable. Checked in the daemon's capture (ExportPcap) read by tshark.

Not here yet: CE marks set by the link's queue management (AqmSpec with
ecn) making the kernel reduce its window; that needs the AQM reachable
through PathSpec.
"""

from __future__ import annotations

from pathlib import Path

from conftest import Tap, wait_session
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb
from test_tap_interop import (
    MB,
    PORT,
    accepted_session,
    connect,
    export_pcap,
    peer_result,
    tcp_fields,
    write_all,
)

ECN_FIELDS = ("tcp.flags.ece", "tcp.flags.cwr", "ip.dsfield.ecn", "tcp.len")
NOT_ECT, ECT0 = "0", "2"


def kernel_ecn(tap: Tap, on: bool) -> None:
    tap.in_ns(f"sysctl -qw net.ipv4.tcp_ecn={1 if on else 0}")
    assert tap.in_ns("sysctl -n net.ipv4.tcp_ecn").strip() == ("1" if on else "0")


def kernel_socket_info(tap: Tap) -> str:
    """The kernel's `ss -tin` for its connection with the engine."""
    out = tap.in_ns("ss -tina")
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if tap.engine_addr in line and "LISTEN" not in line and i + 1 < len(lines):
            return line + "\n" + lines[i + 1]
    raise AssertionError(f"no kernel socket with the engine in:\n{out}")


def ss_flags(info: str) -> set[str]:
    return set(info.split())


def check_capture(rows: list[dict[str, str]], opener: str, answerer: str, ecn: bool):
    syn, synack = rows[0], rows[1]
    assert (syn["src"], syn["syn"], syn["ack"]) == (opener, "1", "0")
    assert (synack["src"], synack["syn"], synack["ack"]) == (answerer, "1", "1")
    # The ECN-setup SYN (RFC 3168 6.1.1): ECE and CWR; the SYN-ACK: ECE alone
    # when ECN is accepted, neither when not.
    assert (syn["tcp.flags.ece"], syn["tcp.flags.cwr"]) == ("1", "1"), syn
    want_synack = ("1", "0") if ecn else ("0", "0")
    assert (synack["tcp.flags.ece"], synack["tcp.flags.cwr"]) == want_synack, synack
    # SYN and SYN-ACK are never ECN-capable (RFC 3168 6.1.1).
    assert syn["ip.dsfield.ecn"] == NOT_ECT and synack["ip.dsfield.ecn"] == NOT_ECT
    data = [r for r in rows[2:] if r["tcp.len"] not in ("", "0")]
    bare = [r for r in rows[2:] if r["tcp.len"] in ("", "0")]
    assert data and bare
    # Without marks on the path no one echoes or signals a reduction.
    assert all(
        r["tcp.flags.ece"] == "0" and r["tcp.flags.cwr"] == "0" for r in rows[2:]
    )
    # Data of both senders ECT(0) when negotiated (no retransmission on this
    # clean path), pure ACKs and FINs never.
    want = ECT0 if ecn else NOT_ECT
    bad = [r for r in data if r["ip.dsfield.ecn"] != want]
    assert not bad, bad[:5]
    assert all(r["ip.dsfield.ecn"] == NOT_ECT for r in bare), bare[:5]
    return data


def test_engine_client_negotiates_ecn_with_kernel_server(tap_factory, tmp_path: Path):
    tap = tap_factory(1500)
    kernel_ecn(tap, True)
    peer = tap.peer("sink", "--bind", tap.kernel_addr, "--port", str(PORT))
    s = connect(tap, client=pb.TcpConfig(ecn=True), capture=True)
    write_all(tap, s.id, 4 * MB)
    now = wait_session(
        tap.stub, s.id, lambda x: x.client.tcb.snd_una == x.client.tcb.snd_nxt
    )
    assert now.client.tcb.ecn_ok
    info = kernel_socket_info(tap)
    assert "ecn" in ss_flags(info), info
    assert "ecnseen" in ss_flags(info), info  # it received ECT(0) data
    tap.stub.Close(pb.CloseRequest(session_id=s.id, endpoint=pb.ENDPOINT_CLIENT))
    got = peer_result(peer)
    assert got["bytes"] == 4 * MB
    final = tap.stub.GetSession(pb.GetSessionRequest(session_id=s.id))
    assert final.client.counters.ce_received == 0
    assert final.client.counters.ecn_reductions == 0
    rows = tcp_fields(export_pcap(tap, s.id, tmp_path / "out.pcap"), *ECN_FIELDS)
    data = check_capture(rows, tap.engine_addr, tap.kernel_addr, ecn=True)
    assert any(r["src"] == tap.engine_addr for r in data)


def test_kernel_client_negotiates_ecn_with_engine_listener(tap_factory, tmp_path: Path):
    tap = tap_factory(1500)
    kernel_ecn(tap, True)
    tap.stub.Listen(
        pb.ListenRequest(
            interface_id=tap.iface.id,
            port=PORT,
            capture=True,
            config=pb.TcpConfig(ecn=True),
        )
    )
    peer = tap.peer(
        "source",
        "--connect",
        tap.engine_addr,
        "--port",
        str(PORT),
        "--bytes",
        str(4 * MB),
        "--wait-eof",
    )
    s = accepted_session(tap)
    now = wait_session(tap.stub, s.id, lambda x: x.server.bytes_read == 4 * MB)
    assert now.server.tcb.ecn_ok
    info = kernel_socket_info(tap)
    assert "ecn" in ss_flags(info), info
    # The engine answers with a little data so that both directions carry
    # ECN-capable data.
    write_all(tap, s.id, 10_000, endpoint=pb.ENDPOINT_SERVER)
    tap.stub.Close(pb.CloseRequest(session_id=s.id, endpoint=pb.ENDPOINT_SERVER))
    peer_result(peer)
    wait_session(
        tap.stub,
        s.id,
        lambda x: x.destroyed or x.server.tcb.state == pb.TcpState.TCP_STATE_TIME_WAIT,
    )
    rows = tcp_fields(export_pcap(tap, s.id, tmp_path / "in.pcap"), *ECN_FIELDS)
    data = check_capture(rows, tap.kernel_addr, tap.engine_addr, ecn=True)
    assert {r["src"] for r in data} == {tap.kernel_addr, tap.engine_addr}


def test_engine_without_ecn_refuses_kernel_request(tap_factory, tmp_path: Path):
    tap = tap_factory(1500)
    kernel_ecn(tap, True)
    tap.stub.Listen(
        pb.ListenRequest(interface_id=tap.iface.id, port=PORT, capture=True)
    )
    peer = tap.peer(
        "source",
        "--connect",
        tap.engine_addr,
        "--port",
        str(PORT),
        "--bytes",
        str(MB),
        "--wait-eof",
    )
    s = accepted_session(tap)
    now = wait_session(tap.stub, s.id, lambda x: x.server.bytes_read == MB)
    assert not now.server.tcb.ecn_ok
    info = kernel_socket_info(tap)
    assert "ecn" not in ss_flags(info), info
    tap.stub.Close(pb.CloseRequest(session_id=s.id, endpoint=pb.ENDPOINT_SERVER))
    peer_result(peer)
    wait_session(
        tap.stub,
        s.id,
        lambda x: x.destroyed or x.server.tcb.state == pb.TcpState.TCP_STATE_TIME_WAIT,
    )
    rows = tcp_fields(export_pcap(tap, s.id, tmp_path / "off.pcap"), *ECN_FIELDS)
    check_capture(rows, tap.kernel_addr, tap.engine_addr, ecn=False)
