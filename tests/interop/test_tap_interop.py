"""The engine's TCP against the Linux kernel's, over a TAP device.

Each test makes its own network namespace for the kernel's side, an
interface in tcpemud and a kernel peer (tests/interop/peer.py), and checks
what both ends saw: SHA-256 of every byte, the engine's events, and the
capture read back by tshark.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from conftest import PATIENCE, Daemon, Tap, wait_session
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb
from watch import EventCollector

MB = 1 << 20
BIG = 200 * MB
PORT = 9000

STATE = pb.TcpState
SENT, RECEIVED = pb.EVENT_KIND_SEGMENT_SENT, pb.EVENT_KIND_SEGMENT_RECEIVED
STATE_CHANGED = pb.EVENT_KIND_STATE_CHANGED
DESTROYED = pb.EVENT_KIND_SESSION_DESTROYED


def peer_result(p: subprocess.Popen[str], timeout: float = 180) -> dict:
    out, err = p.communicate(timeout=timeout)
    assert p.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def connect(tap: Tap, port: int = PORT, **kw) -> pb.Session:
    return tap.stub.OpenSession(
        pb.OpenSessionRequest(
            remote=pb.Remote(
                interface_id=tap.iface.id, address=tap.kernel_addr, port=port
            ),
            digest=True,
            **kw,
        )
    )


def write_all(tap: Tap, sid: int, n: int, endpoint=pb.ENDPOINT_CLIENT) -> None:
    r = tap.stub.Write(
        pb.WriteRequest(
            session_id=sid, endpoint=endpoint, fill_bytes=n, wait={"seconds": 300}
        )
    )
    assert r.accepted == n


def accepted_session(tap: Tap, timeout: float = PATIENCE) -> pb.Session:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = tap.stub.ListSessions(pb.ListSessionsRequest(link_id=tap.iface.id))
        accepted = [s for s in got.sessions if s.accepted]
        if accepted:
            return accepted[-1]
        time.sleep(0.02)
    raise AssertionError("no session was accepted")


class Watcher:
    """Collects one network's events of some kinds (or some sessions')
    from the moment it is made; with `replay`, the sessions' history first."""

    def __init__(
        self,
        tap: Tap,
        kinds: list[int],
        session_ids: list[int] | None = None,
        replay: bool = False,
    ) -> None:
        self._collector = EventCollector(
            tap.stub,
            pb.WatchEventsRequest(
                network_id=tap.iface.network_id,
                session_ids=session_ids or [],
                kinds=kinds,
                replay=replay,
            ),
        )

    def wait(self, done: Callable[[list[pb.Event]], bool], what: str) -> None:
        self._collector.wait(done, what)

    def stop(self, last: Callable[[pb.Event], bool], what: str) -> list[pb.Event]:
        """Waits for the event `last` accepts, the last one the test needs
        (a session's end), then ends the stream and returns every event up
        to that one. Fails if the stream broke or lost events."""
        i = self._collector.until(last, what)
        return self._collector.stop()[: i + 1]


def destroyed(sid: int) -> Callable[[pb.Event], bool]:
    return lambda e: e.kind == DESTROYED and e.session_id == sid


# ---------------------------------------------------------------- bulk


@pytest.mark.parametrize("mtu", [1500, 9000])
@pytest.mark.parametrize("closer", ["engine", "kernel"])
def test_engine_client_to_kernel_server(tap_factory, mtu: int, closer: str):
    tap = tap_factory(mtu)
    args = ["sink", "--bind", tap.kernel_addr, "--port", str(PORT)]
    if closer == "kernel":
        args += ["--close-after", str(BIG)]
    peer = tap.peer(*args)
    s = connect(tap)
    assert s.remote.address == tap.kernel_addr and not s.accepted
    write_all(tap, s.id, BIG)
    now = tap.stub.GetSession(pb.GetSessionRequest(session_id=s.id))
    # Linux and the engine both use timestamps: 12 bytes of each segment.
    assert now.destroyed or now.client.mss == mtu - 40 - 12
    if closer == "engine":
        tap.stub.Close(pb.CloseRequest(session_id=s.id, endpoint=pb.ENDPOINT_CLIENT))
    got = peer_result(peer)
    assert got["bytes"] == BIG
    if closer == "engine":
        # The engine's FIN went first: it waits in TIME_WAIT.
        final = wait_session(
            tap.stub, s.id, lambda x: x.client.tcb.state == STATE.TCP_STATE_TIME_WAIT
        )
    else:
        # The kernel closed first; the engine closed on end of stream.
        final = wait_session(tap.stub, s.id, lambda x: x.destroyed)
    assert final.client.write_sha256.hex() == got["sha256"]
    assert final.client.bytes_written == BIG
    assert final.client.error == pb.ERROR_CODE_UNSPECIFIED


@pytest.mark.parametrize("mtu", [1500, 9000])
@pytest.mark.parametrize("closer", ["kernel", "engine"])
def test_kernel_client_to_engine_listener(tap_factory, mtu: int, closer: str):
    tap = tap_factory(mtu)
    tap.stub.Listen(pb.ListenRequest(interface_id=tap.iface.id, port=PORT, digest=True))
    args = ["source", "--connect", tap.engine_addr, "--port", str(PORT)]
    args += ["--bytes", str(BIG), "--seed", str(mtu)]
    if closer == "engine":
        args += ["--wait-eof"]
    peer = tap.peer(*args)
    s = accepted_session(tap)
    assert s.remote.address == tap.kernel_addr
    if closer == "engine":
        wait_session(tap.stub, s.id, lambda x: x.server.bytes_read == BIG)
        tap.stub.Close(pb.CloseRequest(session_id=s.id, endpoint=pb.ENDPOINT_SERVER))
    got = peer_result(peer)
    final = wait_session(
        tap.stub,
        s.id,
        lambda x: x.destroyed or x.server.tcb.state == STATE.TCP_STATE_TIME_WAIT,
    )
    assert final.server.bytes_read == BIG
    assert final.server.read_sha256.hex() == got["sha256"]
    assert final.server.error == pb.ERROR_CODE_UNSPECIFIED
    assert final.server.mss == mtu - 40 - 12 or final.destroyed
    if closer == "engine":
        assert final.server.tcb.state == STATE.TCP_STATE_TIME_WAIT
    else:
        assert final.destroyed


# ---------------------------------------------------------------- loss


def lossy(p: float) -> pb.PathSpec:
    return pb.PathSpec(loss=pb.Loss(random=p))


def resends(events: list[pb.Event]) -> list[pb.Event]:
    """The segments occupying sequence space (data, SYN, FIN) sent below the
    highest sequence number sent before them: fast and timeout
    retransmissions, and tail loss probes that resend the last segment."""
    highest: int | None = None
    out = []
    for e in events:
        span = e.segment.len
        span += 1 if e.segment.flags & pb.TCP_FLAG_SYN else 0
        span += 1 if e.segment.flags & pb.TCP_FLAG_FIN else 0
        if e.kind != SENT or span == 0:
            continue
        if highest is not None and e.segment.rel_seq < highest:
            out.append(e)
        end = e.segment.rel_seq + span
        highest = end if highest is None else max(highest, end)
    return out


def tshark_lines(pcap: Path, display_filter: str) -> list[str]:
    out = subprocess.run(
        [
            "tshark",
            "-n",
            "-r",
            str(pcap),
            "-o",
            "tcp.check_checksum:TRUE",
            "-o",
            "ip.check_checksum:TRUE",
            # The payload is a random pattern: read it as data, so that no
            # application dissector guesses a protocol in it.
            "-o",
            "tcp.desegment_tcp_streams:FALSE",
            "-d",
            f"tcp.port=={PORT},data",
            "-Y",
            display_filter,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [line for line in out.splitlines() if line.strip()]


def tshark(pcap: Path, display_filter: str) -> int:
    return len(tshark_lines(pcap, display_filter))


def export_pcap(tap: Tap, sid: int, path: Path) -> Path:
    with path.open("wb") as f:
        for chunk in tap.stub.ExportPcap(pb.ExportPcapRequest(session_id=sid)):
            f.write(chunk.data)
    return path


@pytest.mark.parametrize("loss", [0.01, 0.05])
def test_engine_sends_over_lossy_tap(tap_factory, tmp_path: Path, loss: float):
    tap = tap_factory(1500, egress=lossy(loss), ingress=lossy(loss))
    # The kernel's RTO floor is 200 ms; a lower one keeps the test short
    # without changing what is tested.
    tap.in_ns(
        f"ip route replace {tap.kernel_addr.rsplit('.', 1)[0]}.0/24 "
        f"dev {tap.iface.name} rto_min 20ms"
    )
    size = 16 * MB if loss < 0.05 else 4 * MB
    peer = tap.peer("sink", "--bind", tap.kernel_addr, "--port", str(PORT))
    s = connect(tap, capture=True, client=pb.TcpConfig(rto_min={"nanos": 20_000_000}))
    # The session's history first (its handshake may be over already), then
    # everything live: no data is written before the stream is.
    watch = Watcher(tap, [SENT, RECEIVED, STATE_CHANGED], [s.id], replay=True)
    write_all(tap, s.id, size)
    tap.stub.Close(pb.CloseRequest(session_id=s.id, endpoint=pb.ENDPOINT_CLIENT))
    got = peer_result(peer)
    final = wait_session(
        tap.stub, s.id, lambda x: x.client.tcb.state == STATE.TCP_STATE_TIME_WAIT
    )
    # In TIME_WAIT the engine has nothing left to send but ACKs: every
    # segment that occupies sequence space came before the state change.
    events = watch.stop(
        lambda e: e.kind == STATE_CHANGED and e.new_state == STATE.TCP_STATE_TIME_WAIT,
        f"session {s.id} entering TIME_WAIT",
    )
    events = [e for e in events if e.kind in (SENT, RECEIVED)]
    assert got["bytes"] == size
    assert final.client.write_sha256.hex() == got["sha256"]

    link = tap.stub.GetLink(pb.GetLinkRequest(link_id=tap.iface.id))
    assert link.forward_counters.dropped_loss > 0
    retransmissions = resends(events)
    assert len(retransmissions) > 0
    assert all(
        e.reason in ("retransmit_fast", "retransmit_rto", "tail_loss_probe")
        for e in retransmissions
    )
    # Linux's ACKs carry SACK blocks, the engine's scoreboard takes them,
    # and it resends what was lost rather than everything after a hole: at
    # most about one resend per segment the egress dropped (its drops also
    # count the engine's few pure ACKs), where go-back-N would resend whole
    # windows.
    received = [e for e in events if e.kind == RECEIVED]
    assert any(e.segment.sack_blocks for e in received)
    assert any(e.tcb.sacked_bytes > 0 for e in events)
    assert len(retransmissions) <= 2 * link.forward_counters.dropped_loss + 8

    # The capture: well formed, good checksums, and tshark finds exactly the
    # retransmissions the engine reported.
    if shutil.which("tshark") is None:
        pytest.fail("tshark is missing: run scripts/setup")
    pcap = export_pcap(tap, s.id, tmp_path / "engine.pcap")
    assert tshark(pcap, "") > 0
    assert tshark_lines(pcap, "_ws.malformed || _ws.expert.severity == error") == []
    # The kernel now and then sends a TCP checksum of 0xffff where 0x0000 is
    # computed: the same value in ones' complement, accepted by every
    # receiver, flagged by tshark after RFC 1624. Everything the engine sent
    # must be exact.
    kernel_ffff = f"(ip.src == {tap.kernel_addr} && tcp.checksum == 0xffff)"
    assert (
        tshark(
            pcap,
            f"(tcp.checksum.status == 0 && !{kernel_ffff}) || ip.checksum.status == 0",
        )
        == 0
    )
    # Seen from the sender, every segment below the highest sequence number
    # sent is a resend. tshark labels most "retransmission"; one sent within
    # the handshake RTT of the highest segment (a fast retransmit on a path
    # this short) it labels "out_of_order" instead, so both labels count.
    src = f"ip.src == {tap.engine_addr}"
    flagged = tshark(pcap, f"{src} && tcp.analysis.retransmission")
    early = tshark(
        pcap, f"{src} && tcp.analysis.out_of_order && !tcp.analysis.retransmission"
    )
    assert flagged > 0
    assert flagged + early == len(retransmissions)


@pytest.mark.parametrize("loss", [0.01, 0.05])
def test_kernel_sends_over_lossy_tap(tap_factory, loss: float):
    tap = tap_factory(1500, egress=lossy(loss), ingress=lossy(loss))
    tap.in_ns(
        f"ip route replace {tap.kernel_addr.rsplit('.', 1)[0]}.0/24 "
        f"dev {tap.iface.name} rto_min 20ms"
    )
    size = 16 * MB if loss < 0.05 else 4 * MB
    tap.stub.Listen(pb.ListenRequest(interface_id=tap.iface.id, port=PORT, digest=True))
    watch = Watcher(tap, [SENT, RECEIVED, pb.EVENT_KIND_SESSION_ACCEPTED, DESTROYED])
    peer = tap.peer(
        "source",
        "--connect",
        tap.engine_addr,
        "--port",
        str(PORT),
        "--bytes",
        str(size),
    )
    s = accepted_session(tap)
    got = peer_result(peer)
    final = wait_session(tap.stub, s.id, lambda x: x.destroyed)
    events = watch.stop(destroyed(s.id), f"session {s.id} destroyed")
    events = [e for e in events if e.session_id == s.id and e.kind != DESTROYED]
    assert final.server.read_sha256.hex() == got["sha256"]
    accepted = [e for e in events if e.kind == pb.EVENT_KIND_SESSION_ACCEPTED]
    assert len(accepted) == 1
    assert accepted[0].segment.dst_port == PORT
    assert accepted[0].segment.src_port == final.remote.port

    # The kernel's retransmissions: data segments that arrive below the
    # highest sequence number already seen.
    highest = None
    resent = 0
    for e in events:
        if e.kind != RECEIVED or e.segment.len == 0:
            continue
        end = e.segment.rel_seq + e.segment.len
        if highest is not None and e.segment.rel_seq < highest:
            resent += 1
        highest = end if highest is None else max(highest, end)
    link = tap.stub.GetLink(pb.GetLinkRequest(link_id=tap.iface.id))
    assert link.reverse_counters.dropped_loss > 0
    assert resent > 0
    # Lost ACKs and lost data both make the kernel resend; every segment the
    # ingress dropped must have been sent again.
    assert resent >= link.reverse_counters.dropped_loss // 2
    # The engine's ACKs tell the kernel what it holds beyond a hole (SACK).
    assert any(e.kind == SENT and e.segment.opt_sack_blocks > 0 for e in events)


# ---------------------------------------------------------------- windows


def test_slow_engine_reader_makes_the_kernel_probe_a_zero_window(tap_factory):
    tap = tap_factory(1500)
    tap.stub.Listen(
        pb.ListenRequest(
            interface_id=tap.iface.id,
            port=PORT,
            digest=True,
            reader=pb.Reader(mode=pb.Reader.MODE_MANUAL),
            config=pb.TcpConfig(recv_buffer=64 * 1024),
        )
    )
    watch = Watcher(tap, [SENT, RECEIVED, DESTROYED])
    size = 8 * MB
    peer = tap.peer(
        "source",
        "--connect",
        tap.engine_addr,
        "--port",
        str(PORT),
        "--bytes",
        str(size),
    )
    s = accepted_session(tap)
    wait_session(tap.stub, s.id, lambda x: x.server.readable == 64 * 1024, PATIENCE)

    def probes(events: list[pb.Event]) -> list[pb.Event]:
        # Segments that arrived while the engine's receive window was zero.
        return [
            e
            for e in events
            if e.session_id == s.id
            and e.kind == RECEIVED
            and e.tcb.rcv_wnd == 0
            and e.segment.len <= 1
        ]

    # Linux probes with a backed-off RTO: 0.2, 0.6, 1.4 s ...
    watch.wait(lambda got: len(probes(got)) >= 2, "two zero-window probes")
    stalled = tap.stub.GetSession(pb.GetSessionRequest(session_id=s.id))
    assert stalled.server.bytes_read == 0
    assert stalled.server.tcb.rcv_wnd == 0
    tap.stub.SetReader(
        pb.SetReaderRequest(
            session_id=s.id,
            endpoint=pb.ENDPOINT_SERVER,
            reader=pb.Reader(mode=pb.Reader.MODE_AUTO),
        )
    )
    got = peer_result(peer)
    final = wait_session(tap.stub, s.id, lambda x: x.destroyed)
    events = watch.stop(destroyed(s.id), f"session {s.id} destroyed")
    events = [e for e in events if e.session_id == s.id]
    assert final.server.bytes_read == size
    assert final.server.read_sha256.hex() == got["sha256"]
    # The engine advertised a zero window, and the kernel probed it.
    assert any(e.kind == SENT and e.segment.window == 0 for e in events)
    assert len(probes(events)) >= 2


# ---------------------------------------------------------------- errors


def test_kernel_reset_surfaces_as_connection_reset(tap_factory):
    tap = tap_factory(1500)
    peer = tap.peer(
        "unread", "--bind", tap.kernel_addr, "--port", str(PORT), "--hold", "1"
    )
    s = connect(tap)
    tap.stub.Write(
        pb.WriteRequest(session_id=s.id, endpoint=pb.ENDPOINT_CLIENT, fill_bytes=MB)
    )
    peer_result(peer)
    final = wait_session(tap.stub, s.id, lambda x: x.destroyed, PATIENCE)
    assert final.client.error == pb.ERROR_CODE_RESET


def test_closed_kernel_port_refuses(tap_factory):
    tap = tap_factory(1500)
    s = connect(tap, port=9)
    final = wait_session(tap.stub, s.id, lambda x: x.destroyed, PATIENCE)
    assert final.client.error == pb.ERROR_CODE_REFUSED
    assert final.client.tcb.state == STATE.TCP_STATE_CLOSED


def test_interface_answers_ping_and_counts(tap_factory):
    tap = tap_factory(1500)
    # ping fails if a reply takes longer than -W: a generous one.
    tap.in_ns(f"ping -c 3 -i 0.2 -W {PATIENCE:.0f} {tap.engine_addr}")
    got = tap.stub.GetInterface(pb.GetInterfaceRequest(interface_id=tap.iface.id))
    assert got.counters.icmp_echo_answered == 3
    assert got.counters.arp_requests_answered >= 1
    assert got.created_device


def test_bad_interface_requests_name_the_field(daemon: Daemon):
    stub = daemon.stub
    cases = [
        (pb.CreateInterfaceRequest(), "address"),
        (pb.CreateInterfaceRequest(address="10.1.2.3"), "address"),
        (pb.CreateInterfaceRequest(address="10.1.2.3/24", mtu=100), "mtu"),
        (pb.CreateInterfaceRequest(address="10.1.2.3/24", mac="zz"), "mac"),
        (pb.CreateInterfaceRequest(address="10.1.2.3/24", name="x" * 16), "name"),
    ]
    for req, field in cases:
        with pytest.raises(grpc.RpcError) as err:
            stub.CreateInterface(req)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field in err.value.details()
    with pytest.raises(grpc.RpcError) as err:
        stub.OpenSession(
            pb.OpenSessionRequest(
                remote=pb.Remote(interface_id=999999, address="1.2.3.4", port=1)
            )
        )
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert "remote.interface_id" in err.value.details()


# ---------------------------------------------------------------- options


def tcp_fields(pcap: Path, *fields: str) -> list[dict[str, str]]:
    args = ["tshark", "-n", "-r", str(pcap), "-T", "fields", "-E", "occurrence=f"]
    for f in ("ip.src", "tcp.flags.syn", "tcp.flags.ack", *fields):
        args += ["-e", f]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    names = ["src", "syn", "ack", *fields]
    return [
        dict(zip(names, line.split("\t"), strict=True)) for line in out.splitlines()
    ]


OPTIONS = (
    "tcp.options.mss_val",
    "tcp.options.wscale.shift",
    "tcp.options.sack_perm",
    "tcp.options.timestamp.tsval",
    "tcp.options.sack_le",
)


def test_linux_syn_options_are_answered(tap_factory, tmp_path: Path):
    """Linux offers MSS, SACK-permitted, timestamps and window scaling; the
    engine answers all four, and Linux then sends timestamps on every
    segment. Both ways of opening."""
    tap = tap_factory(1500)
    tap.stub.Listen(
        pb.ListenRequest(interface_id=tap.iface.id, port=PORT, capture=True)
    )
    peer = tap.peer(
        "source", "--connect", tap.engine_addr, "--port", str(PORT), "--bytes", str(MB)
    )
    accepted = accepted_session(tap)
    peer_result(peer)
    wait_session(tap.stub, accepted.id, lambda x: x.destroyed)
    rows = tcp_fields(export_pcap(tap, accepted.id, tmp_path / "in.pcap"), *OPTIONS)
    syn, synack = rows[0], rows[1]
    assert (syn["src"], syn["syn"], syn["ack"]) == (tap.kernel_addr, "1", "0")
    assert syn["tcp.options.mss_val"] == "1460"
    assert syn["tcp.options.wscale.shift"] != ""
    assert syn["tcp.options.sack_perm"] != ""
    assert syn["tcp.options.timestamp.tsval"] != ""
    assert (synack["src"], synack["syn"], synack["ack"]) == (tap.engine_addr, "1", "1")
    assert synack["tcp.options.mss_val"] == "1460"
    assert synack["tcp.options.wscale.shift"] != ""
    assert synack["tcp.options.sack_perm"] != ""
    assert synack["tcp.options.timestamp.tsval"] != ""
    later = [r for r in rows[2:] if r["src"] == tap.kernel_addr]
    assert later
    assert all(r["tcp.options.timestamp.tsval"] != "" for r in later)
    mine = [r for r in rows[2:] if r["src"] == tap.engine_addr]
    assert mine and all(r["tcp.options.timestamp.tsval"] != "" for r in mine)

    # Active open: the engine's SYN offers MSS, window scaling, SACK and
    # timestamps, and the kernel's SYN-ACK answers with exactly those.
    peer = tap.peer("sink", "--bind", tap.kernel_addr, "--port", str(PORT + 1))
    s = connect(tap, port=PORT + 1, capture=True)
    write_all(tap, s.id, MB)
    tap.stub.Close(pb.CloseRequest(session_id=s.id, endpoint=pb.ENDPOINT_CLIENT))
    peer_result(peer)
    rows = tcp_fields(export_pcap(tap, s.id, tmp_path / "out.pcap"), *OPTIONS)
    syn, synack = rows[0], rows[1]
    assert (syn["src"], syn["syn"], syn["ack"]) == (tap.engine_addr, "1", "0")
    assert syn["tcp.options.mss_val"] == "1460"
    assert syn["tcp.options.wscale.shift"] != ""
    assert syn["tcp.options.timestamp.tsval"] != ""
    assert syn["tcp.options.sack_perm"] != ""
    assert (synack["src"], synack["syn"], synack["ack"]) == (tap.kernel_addr, "1", "1")
    assert synack["tcp.options.mss_val"] == "1460"
    assert synack["tcp.options.wscale.shift"] != ""
    assert synack["tcp.options.sack_perm"] != ""
    assert synack["tcp.options.timestamp.tsval"] != ""


def test_the_hosts_endpoint_is_not_the_engines(tap_factory):
    tap = tap_factory(1500)
    peer = tap.peer("sink", "--bind", tap.kernel_addr, "--port", str(PORT))
    s = connect(tap)
    try:
        for call in (
            lambda: tap.stub.Write(
                pb.WriteRequest(session_id=s.id, endpoint=pb.ENDPOINT_SERVER, data=b"x")
            ),
            lambda: tap.stub.Read(
                pb.ReadRequest(
                    session_id=s.id, endpoint=pb.ENDPOINT_SERVER, max_bytes=10
                )
            ),
            lambda: tap.stub.Close(
                pb.CloseRequest(session_id=s.id, endpoint=pb.ENDPOINT_SERVER)
            ),
        ):
            with pytest.raises(grpc.RpcError) as err:
                call()
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "endpoint" in err.value.details()
            assert "CLIENT" in err.value.details()
    finally:
        tap.stub.Close(pb.CloseRequest(session_id=s.id, endpoint=pb.ENDPOINT_CLIENT))
        peer_result(peer)


def test_a_vanished_device_is_closed_and_the_daemon_goes_on(tap_factory):
    tap = tap_factory(1500)
    tap.in_ns(f"ping -c 1 -W {PATIENCE:.0f} {tap.engine_addr}")
    # Deleting the namespace deletes the TAP device under the daemon.
    subprocess.run(["ip", "netns", "del", tap.ns], check=True)
    time.sleep(0.3)
    s = connect(tap)  # its SYN has nowhere to go
    deadline = time.monotonic() + PATIENCE
    while True:
        got = tap.stub.GetInterface(pb.GetInterfaceRequest(interface_id=tap.iface.id))
        if got.counters.dropped_device > 0 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert got.counters.dropped_device > 0
    tap.stub.DeleteSession(pb.DeleteSessionRequest(session_id=s.id))
    tap.stub.DeleteInterface(pb.DeleteInterfaceRequest(interface_id=tap.iface.id))
    # The daemon still serves, and a new interface works.
    fresh = tap_factory(1500)
    fresh.in_ns(f"ping -c 1 -W {PATIENCE:.0f} {fresh.engine_addr}")
