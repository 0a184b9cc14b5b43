"""ECN (RFC 3168) between the engine's TCP and the Linux kernel's, over a TAP
device, with net.ipv4.tcp_ecn=1 in the test's own network namespace.

Both ways of opening negotiate ECN: the SYN carries ECE and CWR, the SYN-ACK
ECE alone, the data of both senders leaves ECT(0) and nothing else does; the
kernel's TCP_INFO says ECN is in use on its socket (and that it saw ECT
arrive), and the engine's TCB says ecn_ok. Without
`ecn` on the engine's side the kernel's request is refused and nothing is
ECN-capable. Checked in the daemon's capture (ExportPcap) read by tshark.

And CE marks set by the engine's link, a CoDel queue with ecn on the
kernel's way in, make the kernel reduce: its data carries CWR, its
ssthresh falls from its initial infinity, nothing is dropped and it
retransmits nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import PATIENCE, Tap, wait_session
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb
from test_tap_interop import (
    MB,
    PORT,
    accepted_session,
    connect,
    export_pcap,
    tcp_fields,
    write_all,
)

ECN_FIELDS = ("tcp.flags.ece", "tcp.flags.cwr", "ip.dsfield.ecn", "tcp.len", "tcp.seq")
NOT_ECT, ECT0 = "0", "2"


def kernel_ecn(tap: Tap, on: bool) -> None:
    tap.in_ns(f"sysctl -qw net.ipv4.tcp_ecn={1 if on else 0}")
    assert tap.in_ns("sysctl -n net.ipv4.tcp_ecn").strip() == ("1" if on else "0")


# The kernel's end: one connection, `n` bytes one way, then what the
# kernel's TCP_INFO says of the socket's options (tcpi_options: 1 timestamps,
# 2 SACK, 4 window scaling, 8 ECN in use, 16 ECT or CE seen on arrival).
# (The ss of iproute2 6.1 prints no options with this kernel's tcp_info.)
KERNEL_PEER = r"""
import json, socket, sys
mode, addr, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
if mode == "server":
    l = socket.socket()
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind((addr, port))
    l.listen(1)
    print("ready", file=sys.stderr, flush=True)
    s, _ = l.accept()
    got = 0
    while got < n:
        b = s.recv(1 << 16)
        if not b:
            break
        got += len(b)
else:
    print("ready", file=sys.stderr, flush=True)
    s = socket.create_connection((addr, port))
    s.sendall(b"\x5a" * n)
    got = n
info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
# struct tcp_info: tcpi_options at byte 5, tcpi_snd_ssthresh at 76,
# tcpi_total_retrans at 100.
report = {
    "bytes": got,
    "options": info[5],
    "ssthresh": int.from_bytes(info[76:80], sys.byteorder),
    "total_retrans": int.from_bytes(info[100:104], sys.byteorder),
}
print(json.dumps(report), flush=True)
while s.recv(1 << 16):
    pass
s.close()
"""
TCPI_OPT_ECN, TCPI_OPT_ECN_SEEN = 8, 16


def kernel_peer(tap: Tap, mode: str, addr: str, n: int) -> subprocess.Popen[str]:
    p = subprocess.Popen(
        ["ip", "netns", "exec", tap.ns, sys.executable, "-c", KERNEL_PEER]
        + [mode, addr, str(PORT), str(n)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert p.stderr is not None and p.stdout is not None
    line = p.stderr.readline()
    assert line.strip() == "ready", f"kernel peer did not start: {line!r}"
    return p


def kernel_report(p: subprocess.Popen[str]) -> dict:
    """The kernel peer's line, printed once its `n` bytes went through."""
    assert p.stdout is not None
    line = p.stdout.readline()
    assert line, p.stderr.read() if p.stderr else "kernel peer failed"
    return json.loads(line)


def kernel_done(p: subprocess.Popen[str]) -> None:
    _, err = p.communicate(timeout=PATIENCE)
    assert p.returncode == 0, err


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
    # New data of both senders ECT(0) when negotiated; retransmissions (a
    # segment below the highest sequence its sender sent before: rare on
    # this clean path, a tail loss probe) and pure ACKs and FINs never (RFC
    # 3168 6.1.5).
    want = ECT0 if ecn else NOT_ECT
    highest: dict[str, int] = {}
    fresh, resent = [], []
    for r in data:
        seq, end = int(r["tcp.seq"]), int(r["tcp.seq"]) + int(r["tcp.len"])
        (fresh if seq >= highest.get(r["src"], 0) else resent).append(r)
        highest[r["src"]] = max(highest.get(r["src"], 0), end)
    bad = [r for r in fresh if r["ip.dsfield.ecn"] != want]
    assert not bad, bad[:5]
    assert all(r["ip.dsfield.ecn"] == NOT_ECT for r in resent), resent[:5]
    assert all(r["ip.dsfield.ecn"] == NOT_ECT for r in bare), bare[:5]
    return data


def test_engine_client_negotiates_ecn_with_kernel_server(tap_factory, tmp_path: Path):
    tap = tap_factory(1500)
    kernel_ecn(tap, True)
    peer = kernel_peer(tap, "server", tap.kernel_addr, 4 * MB)
    s = connect(tap, client=pb.TcpConfig(ecn=True), capture=True)
    write_all(tap, s.id, 4 * MB)
    got = kernel_report(peer)
    assert got["bytes"] == 4 * MB
    # The kernel uses ECN on the socket, and has seen ECT(0) arrive.
    assert got["options"] & TCPI_OPT_ECN, got
    assert got["options"] & TCPI_OPT_ECN_SEEN, got
    now = tap.stub.GetSession(pb.GetSessionRequest(session_id=s.id))
    assert now.client.tcb.ecn_ok
    tap.stub.Close(pb.CloseRequest(session_id=s.id, endpoint=pb.ENDPOINT_CLIENT))
    kernel_done(peer)
    final = wait_session(
        tap.stub,
        s.id,
        lambda x: x.destroyed or x.client.tcb.state == pb.TcpState.TCP_STATE_TIME_WAIT,
    )
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
    peer = kernel_peer(tap, "client", tap.engine_addr, 4 * MB)
    s = accepted_session(tap)
    got = kernel_report(peer)
    assert got["options"] & TCPI_OPT_ECN, got
    now = wait_session(tap.stub, s.id, lambda x: x.server.bytes_read == 4 * MB)
    assert now.server.tcb.ecn_ok
    # The engine answers with some data, so that both directions carry
    # ECN-capable data.
    write_all(tap, s.id, 100_000, endpoint=pb.ENDPOINT_SERVER)
    tap.stub.Close(pb.CloseRequest(session_id=s.id, endpoint=pb.ENDPOINT_SERVER))
    kernel_done(peer)
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
    peer = kernel_peer(tap, "client", tap.engine_addr, MB)
    s = accepted_session(tap)
    got = kernel_report(peer)
    assert not got["options"] & TCPI_OPT_ECN, got
    now = wait_session(tap.stub, s.id, lambda x: x.server.bytes_read == MB)
    assert not now.server.tcb.ecn_ok
    write_all(tap, s.id, 100_000, endpoint=pb.ENDPOINT_SERVER)
    tap.stub.Close(pb.CloseRequest(session_id=s.id, endpoint=pb.ENDPOINT_SERVER))
    kernel_done(peer)
    wait_session(
        tap.stub,
        s.id,
        lambda x: x.destroyed or x.server.tcb.state == pb.TcpState.TCP_STATE_TIME_WAIT,
    )
    rows = tcp_fields(export_pcap(tap, s.id, tmp_path / "off.pcap"), *ECN_FIELDS)
    check_capture(rows, tap.kernel_addr, tap.engine_addr, ecn=False)


def test_ce_marks_from_codel_make_the_kernel_reduce(tap_factory, tmp_path: Path):
    """The kernel sends 8 MB through the interface's ingress path: 40 Mbit/s
    and a deep buffer under CoDel with ecn. The queue marks CE instead of
    dropping, the engine echoes ECE, and the kernel reduces (CWR on its data,
    ssthresh no longer infinite) without a single retransmission."""
    ingress = pb.PathSpec(
        rate_bps=40_000_000,
        queue_limit_packets=2000,
        aqm=pb.Aqm(kind=pb.Aqm.KIND_CODEL, ecn=True),
    )
    ingress.delay.FromMilliseconds(10)
    tap = tap_factory(1500, ingress=ingress)
    kernel_ecn(tap, True)
    tap.stub.Listen(
        pb.ListenRequest(
            interface_id=tap.iface.id,
            port=PORT,
            capture=True,
            config=pb.TcpConfig(ecn=True),
        )
    )
    n = 8 * MB
    peer = kernel_peer(tap, "client", tap.engine_addr, n)
    s = accepted_session(tap)
    got = kernel_report(peer)
    now = wait_session(tap.stub, s.id, lambda x: x.server.bytes_read == n)
    assert now.server.tcb.ecn_ok
    iface = tap.stub.GetInterface(pb.GetInterfaceRequest(interface_id=tap.iface.id))
    link = iface.ingress_counters
    assert link.ce_marked > 0, link
    assert link.dropped_aqm == 0 and link.dropped_queue == 0, link
    engine = now.server.counters
    assert engine.ce_received == link.ce_marked, (engine, link)
    # The kernel reduced: its ssthresh left TCP_INFINITE_SSTHRESH, and it
    # retransmitted nothing.
    assert got["ssthresh"] < 0x7FFFFFFF, got
    assert got["total_retrans"] == 0, got
    tap.stub.Close(pb.CloseRequest(session_id=s.id, endpoint=pb.ENDPOINT_SERVER))
    kernel_done(peer)
    wait_session(
        tap.stub,
        s.id,
        lambda x: x.destroyed or x.server.tcb.state == pb.TcpState.TCP_STATE_TIME_WAIT,
    )
    rows = tcp_fields(export_pcap(tap, s.id, tmp_path / "ce.pcap"), *ECN_FIELDS)
    kernel_data = [
        r for r in rows[2:] if r["src"] == tap.kernel_addr and r["tcp.len"] not in ("", "0")
    ]
    engine_acks = [r for r in rows[2:] if r["src"] == tap.engine_addr]
    # RFC 3168 6.1.2-6.1.3: the engine echoes ECE; the kernel answers with CWR
    # on new data once it has reduced.
    assert any(r["tcp.flags.ece"] == "1" for r in engine_acks)
    assert any(r["tcp.flags.cwr"] == "1" for r in kernel_data)
    # Its data left ECT(0); the capture shows what the engine's TCP received
    # (CE where the queue marked) or sent.
    assert {r["ip.dsfield.ecn"] for r in kernel_data} <= {ECT0, "3"}
