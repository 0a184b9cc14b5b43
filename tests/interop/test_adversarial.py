"""Adversarial TCP over TAP: segments an off-path attacker (or a broken peer)
sends to the engine, crafted with scapy and written to the kernel's side of
the TAP device from inside the test's namespace (tests/interop/raw.py).

Each test checks what the RFCs require of the engine (RFC 9293, RFC 5961,
RFC 7323) through what it reports itself (sessions, counters, events) and
what it sends back on the wire. Blind attacks spoof the four-tuple of a real
connection between the engine and a kernel socket; the tests that need a
peer saying things the kernel never would use a "fake host": another
address in the namespace's subnet whose frames the namespace's kernel drops
without an answer (it does not forward), so only the test speaks for it.
"""

from __future__ import annotations

import json
import random
import select
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from conftest import PATIENCE, Tap, wait_session
from raw import SCRIPT as RAW
from raw import RawHost, daemon_rss_bytes, respoof
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.packet import Packet, Raw
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2_grpc as rpc
from watch import EventCollector

MB = 1 << 20
PORT = 9100
STATE = pb.TcpState
SENT, RECEIVED = pb.EVENT_KIND_SEGMENT_SENT, pb.EVENT_KIND_SEGMENT_RECEIVED
ESTABLISHED = STATE.TCP_STATE_ESTABLISHED
MOD = 1 << 32

# RFC 5961 7: challenge ACKs are rate limited, per connection and second.
CHALLENGE_ACK_LIMIT = 10
# No test listens here: the engine answers a segment to it with RST, and an
# RST to it with nothing. The tests use both as markers (see Bench.answers,
# Events.stop).
CLOSED_PORT = 9


def tcp_config() -> pb.TcpConfig:
    return pb.TcpConfig(challenge_ack_limit=CHALLENGE_ACK_LIMIT)


def add(seq: int, n: int) -> int:
    return (seq + n) % MOD


# ---------------------------------------------------------------- harness


@dataclass
class Bench:
    """A TAP interface with a raw sender/recorder on the kernel's side."""

    tap: Tap
    raw: RawHost
    # Processes to end when the test does, however it ends.
    procs: list[subprocess.Popen[str]] = field(default_factory=list)
    # Frames the engine sent, by destination port, not yet returned.
    received: dict[int, list[TCP]] = field(default_factory=dict)
    # Markers sent so far: answered ones (each counted in the interface's
    # rst_no_connection) and quiet ones.
    markers: int = 0
    quiet_markers: int = 0

    @property
    def stub(self) -> rpc.EmulatorStub:
        return self.tap.stub

    def frame(
        self,
        tcp: TCP,
        payload: bytes = b"",
        src: str | None = None,
        options: bytes | None = None,
    ) -> bytes:
        """An Ethernet frame from the namespace to the engine. `options` are
        raw option bytes (padded to 4) written as they are, however wrong."""
        if options is not None:
            pad = (-len(options)) % 4
            options += b"\x00" * pad
            tcp.dataofs = 5 + len(options) // 4
            payload = options + payload
        pkt: Packet = (
            IP(src=src or self.tap.kernel_addr, dst=self.tap.engine_addr) / tcp
        )
        if payload:
            pkt = pkt / Raw(load=payload)
        return bytes(Ether(src=self.raw.mac, dst=self.tap.iface.mac) / pkt)

    def _collect(self) -> None:
        for _, f in self.raw.take():
            seg = Ether(f)[TCP]
            self.received.setdefault(seg.dport, []).append(seg)

    def frames_to(
        self, port: int, want: Callable[[TCP], bool], timeout: float = PATIENCE
    ) -> list[TCP]:
        """Waits until the engine sent a frame to `port` that satisfies
        `want`; returns the frames recorded for the port up to and including
        the first such one (later ones stay for the next call). The port must
        be watched (RawHost.watch, or its address watched)."""
        deadline = time.monotonic() + timeout
        while True:
            self._collect()
            got = self.received.get(port, [])
            for i, seg in enumerate(got):
                if want(seg):
                    self.received[port] = got[i + 1 :]
                    return got[: i + 1]
            assert time.monotonic() < deadline, (
                f"no such frame to port {port} within {timeout:g} s: "
                f"{[x.summary() for x in got]}"
            )
            time.sleep(0.02)

    def answers(self, port: int, src: str | None = None) -> list[TCP]:
        """Every frame the engine sent to `port` in answer to what was sent
        so far, and nothing else: sends a marker from `src`:`port` (an ACK
        to a closed port, which the engine answers with <SEQ=SEG.ACK>
        <CTL=RST>), waits for its answer and returns the frames recorded for
        the port before it. The engine handles frames in the order they
        arrive and answers each at once, so what it did not send before the
        marker's answer it did not send in answer to anything before the
        marker. Each call adds one to the interface's rst_no_connection."""
        self.markers += 1
        mark = add(0x5E000000, self.markers)
        marker = TCP(sport=port, dport=CLOSED_PORT, flags="A", seq=1, ack=mark)
        self.raw.send(self.frame(marker, src=src))
        got = self.frames_to(
            port,
            lambda x: x.sport == CLOSED_PORT and x.flags == "R" and x.seq == mark,
        )
        return got[:-1]

    def pending(self, port: int) -> list[TCP]:
        """The frames recorded for `port` and not returned yet."""
        self._collect()
        return self.received.pop(port, [])

    def quiet_marker(self) -> tuple[bytes, Callable[[pb.Event], bool]]:
        """A frame the engine takes without answering or counting it (an RST
        to a closed port), and what tells its SEGMENT_RECEIVED event."""
        self.quiet_markers += 1
        sport = 60000 + self.quiet_markers
        f = self.frame(TCP(sport=sport, dport=CLOSED_PORT, flags="R", seq=sport))

        def found(e: pb.Event) -> bool:
            return (
                e.kind == RECEIVED
                and e.session_id == 0
                and e.link_id == self.tap.iface.id
                and e.segment.src_port == sport
                and e.segment.dst_port == CLOSED_PORT
            )

        return f, found

    def device_drops(self) -> int:
        """Frames the TAP device dropped on their way to the engine because
        its queue was full (the engine read too slowly), as the kernel
        counts them."""
        name = self.tap.iface.name
        return int(self.tap.in_ns(f"cat /sys/class/net/{name}/statistics/tx_dropped"))


@pytest.fixture
def bench(tap_factory) -> Iterator[Bench]:
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


class Events:
    """Collects the segment events of the interface's network (of some
    sessions only, if given) from the moment it is made."""

    def __init__(self, b: Bench, session_ids: list[int] | None = None) -> None:
        self._b = b
        self._sessions = set(session_ids or [])
        # Network-wide, so that the quiet marker (no session's) shows too.
        self._collector = EventCollector(
            b.stub,
            pb.WatchEventsRequest(
                network_id=b.tap.iface.network_id, kinds=[SENT, RECEIVED]
            ),
        )

    def stop(self) -> list[pb.Event]:
        """Sends a quiet marker, waits for its event and returns the events
        before it: every segment sent before the marker has been handled,
        and every answer to it reported, so what is not there did not happen.
        Fails if the stream broke or lost events."""
        frame, found = self._b.quiet_marker()
        self._b.raw.send(frame)
        i = self._collector.until(found, "the quiet marker")
        got = self._collector.stop()[:i]
        if not self._sessions:
            return got
        return [e for e in got if e.session_id in self._sessions]


def accepted_session(
    b: Bench, port: int, remote_port: int, timeout: float = PATIENCE
) -> pb.Session:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for s in list_sessions(b):
            if s.accepted and s.server.port == port and s.remote.port == remote_port:
                return s
        time.sleep(0.02)
    raise AssertionError(f"no session accepted on {port} from port {remote_port}")


def list_sessions(b: Bench) -> list[pb.Session]:
    out: list[pb.Session] = []
    token = ""
    while True:
        got = b.stub.ListSessions(
            pb.ListSessionsRequest(
                link_id=b.tap.iface.id, page_size=1000, page_token=token
            )
        )
        out.extend(got.sessions)
        token = got.next_page_token
        if not token:
            return out


def session(b: Bench, sid: int) -> pb.Session:
    return b.stub.GetSession(pb.GetSessionRequest(session_id=sid))


def wait_received(
    b: Bench, sid: int, before: pb.Session, n: int, timeout: float = PATIENCE
) -> pb.Session:
    """Waits until the engine's endpoint has received n more segments."""
    start = before.server.counters.segments_received
    return wait_session(
        b.stub, sid, lambda s: s.server.counters.segments_received >= start + n, timeout
    )


# ---------------------------------------------------------------- a paused kernel transfer


@dataclass
class Transfer:
    """A kernel socket sending `size` bytes to an engine listener, paused
    after `paused_at` bytes, all of which the engine has read."""

    b: Bench
    proc: subprocess.Popen[str]
    sid: int
    kernel_port: int
    size: int
    paused_at: int

    def now(self) -> pb.Session:
        return session(self.b, self.sid)

    def spoof(
        self,
        flags: str,
        seq: int,
        ack: int = 0,
        payload: bytes = b"",
        window: int = 1000,
    ) -> bytes:
        """A segment that claims to come from the kernel's socket."""
        return self.b.frame(
            TCP(
                sport=self.kernel_port,
                dport=PORT,
                flags=flags,
                seq=seq,
                ack=ack,
                window=window,
            ),
            payload,
        )

    def finish(self) -> tuple[dict, pb.Session]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        out, err = self.proc.communicate(timeout=2 * PATIENCE)
        assert self.proc.returncode == 0, err
        got = json.loads(out.strip().splitlines()[-1])
        final = wait_session(
            self.b.stub,
            self.sid,
            lambda s: s.destroyed or s.server.bytes_read >= self.size,
            PATIENCE,
        )
        return got, final


def paused_transfer(b: Bench, size: int = 8 * MB, paused_at: int = 4 * MB) -> Transfer:
    b.stub.Listen(
        pb.ListenRequest(
            interface_id=b.tap.iface.id, port=PORT, digest=True, config=tcp_config()
        )
    )
    proc = subprocess.Popen(
        [
            "ip", "netns", "exec", b.tap.ns, sys.executable, RAW, "source",
            "--connect", b.tap.engine_addr, "--port", str(PORT),
            "--bytes", str(size), "--pause-at", str(paused_at),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    b.procs.append(proc)
    assert proc.stderr is not None and proc.stdout is not None
    assert proc.stderr.readline().strip() == "ready"
    ready, _, _ = select.select([proc.stdout], [], [], PATIENCE)
    assert ready
    line = proc.stdout.readline().strip()
    assert line == "paused", line
    s = wait_session(
        b.stub, accepted(b).id, lambda x: x.server.bytes_read == paused_at, PATIENCE
    )
    # Until the kernel has every byte acknowledged, the engine may still owe
    # it an ACK, which would go out in the middle of a test.
    deadline = time.monotonic() + PATIENCE
    while kernel_send_queue(b, s.remote.port) != 0:
        assert time.monotonic() < deadline, "the kernel's data was not all acknowledged"
        time.sleep(0.02)
    s = session(b, s.id)
    assert s.server.tcb.state == ESTABLISHED
    return Transfer(b, proc, s.id, s.remote.port, size, paused_at)


def kernel_send_queue(b: Bench, port: int) -> int:
    """Bytes the kernel's connection from `port` has sent and not had
    acknowledged (ss's Send-Q)."""
    out = b.tap.in_ns(f"ss -Htn state established sport = :{port}")
    rows = [line.split() for line in out.splitlines() if line.strip()]
    assert len(rows) == 1, out
    return int(rows[0][1])


def accepted(b: Bench, timeout: float = PATIENCE) -> pb.Session:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = [s for s in list_sessions(b) if s.accepted]
        if got:
            return got[-1]
        time.sleep(0.02)
    raise AssertionError("no session was accepted")


def assert_intact(t: Transfer) -> None:
    got, final = t.finish()
    assert got.get("bytes") == t.size, got
    assert final.server.error == pb.ERROR_CODE_UNSPECIFIED
    assert final.server.bytes_read == t.size
    assert final.server.read_sha256.hex() == got["sha256"]


def challenge_acks(events: list[pb.Event], sid: int) -> list[pb.Event]:
    return [
        e
        for e in events
        if e.session_id == sid and e.kind == SENT and e.reason == "challenge_ack"
    ]


def received(events: list[pb.Event], sid: int, seq: int) -> list[pb.Event]:
    return [
        e
        for e in events
        if e.session_id == sid and e.kind == RECEIVED and e.segment.seq == seq
    ]


# ---------------------------------------------------------------- blind RST and SYN


def test_blind_rst_outside_or_inside_the_window_leaves_a_transfer_intact(bench: Bench):
    """RFC 5961 3.2: an RST outside the receive window is dropped without an
    answer; one inside it but not at RCV.NXT is answered with a challenge ACK
    (<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>) and does not reset."""
    t = paused_transfer(bench)
    before = t.now()
    tcb = before.server.tcb
    assert tcb.rcv_wnd > 4096
    events = Events(bench, [t.sid])
    beyond = add(tcb.rcv_nxt, tcb.rcv_wnd + 10_000)
    old = add(tcb.rcv_nxt, -200_000)
    inside = add(tcb.rcv_nxt, tcb.rcv_wnd // 2)
    bench.raw.send(
        t.spoof("R", beyond), t.spoof("RA", beyond, tcb.snd_nxt), t.spoof("R", old)
    )
    mid = wait_received(bench, t.sid, before, 3)
    assert (
        mid.server.counters.challenge_acks_sent
        == before.server.counters.challenge_acks_sent
    )
    assert mid.server.counters.segments_sent == before.server.counters.segments_sent
    bench.raw.send(t.spoof("R", inside), t.spoof("RA", add(inside, 1), tcb.snd_nxt))
    got = events.stop()
    after = t.now()

    assert after.server.tcb.state == ESTABLISHED
    assert after.server.error == pb.ERROR_CODE_UNSPECIFIED
    assert after.server.tcb.rcv_nxt == tcb.rcv_nxt
    # Outside the window: dropped, no answer at all.
    assert [e.reason for e in received(got, t.sid, beyond)] == ["outside_window"] * 2
    assert [e.reason for e in received(got, t.sid, old)] == ["duplicate"]
    # Inside: one challenge ACK each, carrying SND.NXT and RCV.NXT.
    for seq in (inside, add(inside, 1)):
        assert [e.reason for e in received(got, t.sid, seq)] == ["rst_invalid"]
    acks = challenge_acks(got, t.sid)
    assert len(acks) == 2
    for e in acks:
        assert e.segment.ack == tcb.rcv_nxt and e.segment.seq == tcb.snd_nxt
        assert e.segment.flags == pb.TCP_FLAG_ACK
    assert (
        after.server.counters.challenge_acks_sent
        == before.server.counters.challenge_acks_sent + 2
    )
    assert_intact(t)


def test_blind_syn_in_a_synchronized_state_gets_a_challenge_ack(bench: Bench):
    """RFC 5961 4.2: a SYN in a synchronized state, irrespective of its
    sequence number, is answered with a challenge ACK (<SEQ=SND.NXT>
    <ACK=RCV.NXT><CTL=ACK>, counted and rate limited like every challenge
    ACK, as Linux does) and changes nothing."""
    t = paused_transfer(bench)
    before = t.now()
    tcb = before.server.tcb
    events = Events(bench, [t.sid])
    inside = add(tcb.rcv_nxt, 1000)
    outside = add(tcb.rcv_nxt, tcb.rcv_wnd + 100_000)
    at_next = tcb.rcv_nxt
    bench.raw.send(t.spoof("S", inside))
    wait_received(bench, t.sid, before, 1)
    bench.raw.send(t.spoof("S", at_next), t.spoof("S", outside))
    got = events.stop()
    after = t.now()
    assert after.server.tcb.state == ESTABLISHED
    assert after.server.error == pb.ERROR_CODE_UNSPECIFIED
    assert after.server.tcb.rcv_nxt == tcb.rcv_nxt
    acks = [e for e in got if e.kind == SENT and e.session_id == t.sid]
    assert len(acks) == 3, [(e.reason, e.segment) for e in acks]
    for e in acks:
        assert e.segment.ack == tcb.rcv_nxt and e.segment.seq == tcb.snd_nxt
        assert e.segment.flags == pb.TCP_FLAG_ACK
    assert [e.reason for e in acks] == ["challenge_ack"] * 3
    assert (
        after.server.counters.challenge_acks_sent
        == before.server.counters.challenge_acks_sent + 3
    )
    assert_intact(t)


def test_rst_at_rcv_nxt_resets_an_idle_connection(bench: Bench):
    """RFC 5961 3.2 (and RFC 9293): an RST exactly at RCV.NXT resets the
    connection; the engine reports ERROR_CODE_RESET."""
    t = paused_transfer(bench, size=2 * MB, paused_at=1 * MB)
    before = t.now()
    tcb = before.server.tcb
    bench.raw.send(t.spoof("R", tcb.rcv_nxt))
    final = wait_session(bench.stub, t.sid, lambda s: s.destroyed, PATIENCE)
    assert final.server.error == pb.ERROR_CODE_RESET
    assert final.server.tcb.state == STATE.TCP_STATE_CLOSED
    assert (
        final.server.counters.challenge_acks_sent
        == before.server.counters.challenge_acks_sent
    )


def test_blind_rst_in_syn_received(bench: Bench):
    """RFC 5961 3.2 holds in SYN-RECEIVED too: an in-window RST that is not
    at RCV.NXT gets a challenge ACK and the handshake still completes; an
    RST at RCV.NXT ends the half-open connection (RFC 9293 3.10.7.4)."""
    manual_listener(bench)
    peer = FakeHost(bench, fake_addr(bench, 85), 46000)
    bench.raw.send(peer.syn())
    got = bench.frames_to(peer.sport, lambda x: x.flags == "SA")
    synack = next(x for x in got if x.flags == "SA")
    s = accepted_session(bench, PORT, peer.sport)
    assert s.server.tcb.state == STATE.TCP_STATE_SYN_RECEIVED
    bench.raw.send(peer.seg(100, flags="R"))
    got = bench.answers(peer.sport, peer.addr)
    acks = [x for x in got if x.flags == "A"]  # not the SYN-ACK's resends
    assert len(acks) == 1, [x.summary() for x in got]
    assert acks[0].ack == add(peer.isn, 1) and acks[0].seq == add(synack.seq, 1)
    s = session(bench, s.id)
    assert s.server.tcb.state == STATE.TCP_STATE_SYN_RECEIVED
    assert s.server.counters.challenge_acks_sent == 1
    peer.rcv_nxt = add(synack.seq, 1)
    bench.raw.send(peer.seg(0, b"hello"))
    s = wait_session(bench.stub, s.id, lambda x: x.server.readable == 5, PATIENCE)
    assert s.server.tcb.state == ESTABLISHED

    other = FakeHost(bench, fake_addr(bench, 85), 46001)
    bench.raw.send(other.syn())
    assert any(
        x.flags == "SA" for x in bench.frames_to(other.sport, lambda x: x.flags == "SA")
    )
    half = accepted_session(bench, PORT, other.sport)
    bench.raw.send(other.seg(0, flags="R"))
    half = wait_session(bench.stub, half.id, lambda x: x.destroyed, PATIENCE)
    assert half.server.tcb.state in (STATE.TCP_STATE_CLOSED, STATE.TCP_STATE_LISTEN)
    assert session(bench, s.id).server.tcb.state == ESTABLISHED


def allowed(bogus: list[pb.Event]) -> int:
    """Challenge ACKs allowed for these received segments: the limit for each
    second (or part) that they took to arrive, by the engine's clock. A
    burst that arrives within one second gets at most the limit."""
    times = [e.time_ns for e in bogus]
    return CHALLENGE_ACK_LIMIT * ((max(times) - min(times)) // 1_000_000_000 + 1)


def test_challenge_acks_are_rate_limited(bench: Bench):
    """RFC 5961 7: a burst of 2000 in-window RSTs sent within half a second
    gets at least one challenge ACK and at most CHALLENGE_ACK_LIMIT a second;
    so does a burst of 2000 SYNs, half of them outside the window (RFC 5961
    4.2: challenge ACKs too). The transfer goes on intact."""
    t = paused_transfer(bench)
    tcb = t.now().server.tcb
    rng = random.Random(5961)

    def burst(
        frames: list[bytes],
    ) -> tuple[list[pb.Event], pb.Session, pb.Session, int]:
        """The events of the burst, the session before and after, and how
        many of the frames the TAP device dropped."""
        before = t.now()
        drops = bench.device_drops()
        events = Events(bench, [t.sid])
        bench.raw.paced(0.5, frames)
        bench.raw.wait()
        got = events.stop()
        return got, before, t.now(), bench.device_drops() - drops

    def in_window() -> int:
        return add(tcb.rcv_nxt, rng.randrange(1, tcb.rcv_wnd))

    got, before, after, dropped = burst(
        [t.spoof("R", in_window()) for _ in range(2000)]
    )
    invalid = [e for e in got if e.kind == RECEIVED and e.reason == "rst_invalid"]
    # A few may be lost in the TAP device's queue (more when the engine
    # reads slowly, on a busy machine): the kernel counts those.
    assert len(invalid) + dropped >= 1900, (len(invalid), dropped)
    acks = challenge_acks(got, t.sid)
    assert acks, "no challenge ACK at all"
    assert len(acks) <= allowed(invalid), (
        f"{len(acks)} challenge ACKs for {len(invalid)} bogus RSTs that arrived "
        f"within {(invalid[-1].time_ns - invalid[0].time_ns) / 1e9:.2f} s "
        f"(limit {CHALLENGE_ACK_LIMIT} a second)"
    )
    sent = (
        after.server.counters.challenge_acks_sent
        - before.server.counters.challenge_acks_sent
    )
    assert sent == len(acks)
    # Every one not sent is counted.
    suppressed = (
        after.server.counters.challenge_acks_suppressed
        - before.server.counters.challenge_acks_suppressed
    )
    assert sent + suppressed == len(invalid)
    assert (
        after.server.counters.segments_sent - before.server.counters.segments_sent
        == sent
    )

    time.sleep(1.1)  # a new second
    outside = add(tcb.rcv_nxt, tcb.rcv_wnd + 100_000)
    syns = [t.spoof("S", in_window() if i % 2 else outside) for i in range(2000)]
    got, before, after, dropped = burst(syns)
    answers = [e for e in got if e.kind == SENT and e.session_id == t.sid]
    bogus = [
        e for e in got if e.kind == RECEIVED and e.segment.flags == pb.TCP_FLAG_SYN
    ]
    assert len(bogus) + dropped >= 1900, (len(bogus), dropped)
    assert answers, "no challenge ACK at all"
    assert len(answers) <= allowed(bogus), (
        f"{len(answers)} ACKs ({sorted({e.reason for e in answers})}) for "
        f"{len(bogus)} bogus SYNs that arrived within "
        f"{(bogus[-1].time_ns - bogus[0].time_ns) / 1e9:.2f} s "
        f"(limit {CHALLENGE_ACK_LIMIT} a second)"
    )
    counters = [after.server.counters, before.server.counters]
    sent = counters[0].challenge_acks_sent - counters[1].challenge_acks_sent
    suppressed = (
        counters[0].challenge_acks_suppressed - counters[1].challenge_acks_suppressed
    )
    assert sent == len(answers)
    assert sent + suppressed == len(bogus)
    assert after.server.tcb.state == ESTABLISHED
    assert_intact(t)


def test_challenge_ack_limit_is_per_connection(bench: Bench):
    """The limit is kept per connection: 100 bogus RSTs on one connection
    spend its own budget, and another connection still answers at once. (A limit
    shared by all connections is an off-path side channel: CVE-2016-5696.)"""
    manual_listener(bench)
    for attempt in range(5):
        a = FakeHost(bench, fake_addr(bench, 80), 45000 + 2 * attempt)
        b = FakeHost(bench, fake_addr(bench, 81), 45001 + 2 * attempt)
        sa, sb = a.connect(), b.connect()
        events = Events(bench, [sa.id, sb.id])
        # B's bogus RST right behind A's 100, in one write.
        b_rst = b.seg(7, flags="R")
        bench.raw.send(*(a.seg(k, flags="R") for k in range(1, 101)), b_rst)
        got = bench.answers(b.sport, b.addr)
        acks = [x for x in got if x.flags == "A"]
        assert len(acks) == 1, [x.summary() for x in got]
        assert acks[0].ack == add(b.isn, 1) and acks[0].seq == b.rcv_nxt
        evs = events.stop()
        sa, sb = session(bench, sa.id), session(bench, sb.id)
        bogus = [
            e
            for e in evs
            if e.session_id == sa.id
            and e.kind == RECEIVED
            and e.reason == "rst_invalid"
        ]
        assert len(bogus) == 100
        spent = challenge_acks(evs, sa.id)
        assert 1 <= len(spent) <= allowed(bogus)
        assert sa.server.counters.challenge_acks_sent == len(spent)
        assert sb.server.counters.challenge_acks_sent == 1
        assert sb.server.tcb.state == ESTABLISHED and sa.server.tcb.state == ESTABLISHED
        # That shows the limit is not shared only if A had spent a whole
        # second's budget, and B's RST came within that second: a shared
        # limit would have had nothing left for it. A machine slow enough to
        # spread the burst over more than a second shows nothing: again.
        b_event = received(evs, sb.id, add(b.isn, 1 + 7))
        assert len(b_event) == 1
        second = spent[0].time_ns + 1_000_000_000
        if (
            len(spent) >= CHALLENGE_ACK_LIMIT
            and spent[CHALLENGE_ACK_LIMIT - 1].time_ns < second
            and b_event[0].time_ns < second
        ):
            return
    pytest.fail("in 5 attempts, B's RST never came within A's exhausted second")


# ---------------------------------------------------------------- data injection


def test_injected_data_with_an_unacceptable_ack_is_not_accepted(bench: Bench):
    """RFC 5961 5.2: in a synchronized state an ACK is acceptable only if
    SND.UNA - MAX.SND.WND <= SEG.ACK <= SND.NXT; a segment with any other
    ACK is answered with an ACK and dropped, its text too. Here the text
    sits exactly at RCV.NXT, where it would otherwise be delivered."""
    t = paused_transfer(bench)
    before = t.now()
    tcb = before.server.tcb
    events = Events(bench, [t.sid])
    text = b"\xee" * 1000
    ahead = add(tcb.snd_nxt, 100_000)  # acknowledges data never sent
    # Older than SND.UNA - MAX.SND.WND whatever the kernel's window: the
    # largest scaled window is 2^30.
    stale = add(tcb.snd_una, -(1 << 30) - 100_000)
    for ack in (ahead, stale):
        bench.raw.send(t.spoof("PA", tcb.rcv_nxt, ack, text))
        # As of the moment the engine took the segment.
        mid = wait_received(bench, t.sid, before, 1)
        assert mid.server.tcb.rcv_nxt == tcb.rcv_nxt, f"ack {ack}: the text was taken"
        assert mid.server.bytes_read == t.paused_at
        assert mid.server.tcb.state == ESTABLISHED
        # Nor is its window taken.
        assert mid.server.tcb.snd_wnd == tcb.snd_wnd
        before = mid
    got = events.stop()
    arrived = [
        e for e in received(got, t.sid, tcb.rcv_nxt) if e.segment.len == len(text)
    ]
    assert len(arrived) == 2
    answers = [e for e in got if e.kind == SENT and e.session_id == t.sid]
    assert len(answers) >= 2
    assert all(e.segment.ack == tcb.rcv_nxt for e in answers)
    assert_intact(t)


def test_out_of_window_data_is_dropped_with_an_ack(bench: Bench):
    """RFC 9293 3.10.7.4: text wholly outside the receive window (beyond it,
    or already received) is dropped and answered with <ACK=RCV.NXT>."""
    t = paused_transfer(bench)
    before = t.now()
    tcb = before.server.tcb
    events = Events(bench, [t.sid])
    text = b"\xdd" * 1000
    beyond = add(tcb.rcv_nxt, tcb.rcv_wnd + 5000)
    old = add(tcb.rcv_nxt, -100_000)
    bench.raw.send(
        t.spoof("PA", beyond, tcb.snd_nxt, text), t.spoof("PA", old, tcb.snd_nxt, text)
    )
    got = events.stop()
    after = t.now()
    assert [e.reason for e in received(got, t.sid, beyond)] == ["outside_window"]
    assert [e.reason for e in received(got, t.sid, old)] == ["duplicate"]
    answers = [e for e in got if e.kind == SENT and e.session_id == t.sid]
    assert len(answers) == 2
    assert all(e.segment.ack == tcb.rcv_nxt and e.segment.len == 0 for e in answers)
    assert after.server.tcb.rcv_nxt == tcb.rcv_nxt
    assert after.server.bytes_read == t.paused_at
    assert (
        after.server.counters.out_of_order_segments
        == before.server.counters.out_of_order_segments
    )
    assert_intact(t)


# ---------------------------------------------------------------- a fake host


@dataclass
class FakeHost:
    """A TCP peer played by the test from another address of the subnet."""

    b: Bench
    addr: str
    sport: int
    dport: int = PORT
    isn: int = 0x10000000
    rcv_nxt: int = 0
    synack: TCP | None = None

    def __post_init__(self) -> None:
        self.b.raw.watch(self.sport)

    def seg(
        self,
        off: int,
        data: bytes = b"",
        flags: str = "PA",
        window: int = 8192,
        options: bytes | None = None,
        ack: int | None = None,
    ) -> bytes:
        """A segment at `off` bytes into the stream (0 is the first byte)."""
        tcp = TCP(
            sport=self.sport,
            dport=self.dport,
            flags=flags,
            seq=add(self.isn, 1 + off),
            ack=self.rcv_nxt if ack is None else ack,
            window=window,
        )
        return self.b.frame(tcp, data, src=self.addr, options=options)

    def syn(self, options: bytes | None = None, window: int = 8192) -> bytes:
        tcp = TCP(
            sport=self.sport, dport=self.dport, flags="S", seq=self.isn, window=window
        )
        if options is None:
            tcp.options = [("MSS", 1460), ("WScale", 7)]
        return self.b.frame(tcp, src=self.addr, options=options)

    def connect(self, syn: bytes | None = None, window: int = 8192) -> pb.Session:
        self.b.raw.send(syn or self.syn())
        got = self.b.frames_to(self.sport, lambda s: s.flags == "SA")
        synacks = [s for s in got if s.flags == "SA"]
        assert synacks, f"no SYN-ACK: {[s.summary() for s in got]}"
        self.synack = synacks[0]
        assert self.synack.ack == add(self.isn, 1)
        self.rcv_nxt = add(self.synack.seq, 1)
        self.b.raw.send(self.seg(0, flags="A", window=window))
        s = accepted_session(self.b, self.dport, self.sport)
        return wait_session(
            self.b.stub, s.id, lambda x: x.server.tcb.state == ESTABLISHED, PATIENCE
        )


def read_all(b: Bench, sid: int) -> bytes:
    out = b""
    while True:
        r = b.stub.Read(
            pb.ReadRequest(
                session_id=sid, endpoint=pb.ENDPOINT_SERVER, max_bytes=1 << 20
            )
        )
        if not r.data:
            return out
        out += r.data


def manual_listener(b: Bench, port: int = PORT) -> None:
    b.stub.Listen(
        pb.ListenRequest(
            interface_id=b.tap.iface.id,
            port=port,
            reader=pb.Reader(mode=pb.Reader.MODE_MANUAL),
            config=tcp_config(),
        )
    )


def fake_addr(b: Bench, host: int) -> str:
    return b.tap.kernel_addr.rsplit(".", 1)[0] + f".{host}"


def settle(b: Bench, sid: int, n: int, before: pb.Session) -> pb.Session:
    """The session once it has taken n more segments. (A snapshot is taken
    between two of the engine's steps, so it holds all that each segment
    did.)"""
    return wait_received(b, sid, before, n)


# ---------------------------------------------------------------- overlapping text


def test_overlapping_text_keeps_the_first_arrival(bench: Bench):
    """Policy: every byte delivered is the version of the first segment that
    carried it. Bytes already delivered cannot change; bytes queued out of
    order are not overwritten by a later overlapping segment. No byte is
    delivered twice and none is lost."""
    manual_listener(bench)
    peer = FakeHost(bench, fake_addr(bench, 77), 40001)
    s = peer.connect()
    sid = s.id

    def send(off: int, ch: bytes, n: int) -> None:
        nonlocal s
        bench.raw.send(peer.seg(off, ch * n))
        s = settle(bench, sid, 1, s)

    # Overlap with bytes already delivered.
    send(0, b"A", 100)
    send(50, b"B", 100)
    assert read_all(bench, sid) == b"A" * 100 + b"B" * 50
    # Overlaps inside the out-of-order queue (a hole at 150..250).
    send(300, b"C", 100)  # queued
    send(350, b"D", 100)  # overlaps C's tail: C stays, D adds 400..450
    send(250, b"E", 100)  # overlaps C's head: E adds 250..300 only
    send(280, b"X", 150)  # wholly covered by E, C and D: changes nothing
    assert s.server.readable == 0
    send(150, b"F", 100)  # fills the hole
    assert read_all(bench, sid) == b"F" * 100 + b"E" * 50 + b"C" * 100 + b"D" * 50
    assert s.server.tcb.rcv_nxt == add(peer.isn, 1 + 450)
    # A retransmission of everything, with other contents: nothing new.
    send(0, b"Z", 450)
    assert read_all(bench, sid) == b""
    assert s.server.tcb.rcv_nxt == add(peer.isn, 1 + 450)


def test_in_order_text_does_not_overwrite_queued_bytes(bench: Bench):
    """The same policy when the segment that fills a hole also overlaps bytes
    already queued beyond it: the queued (first) version is delivered. Linux
    delivers the newer bytes here (tcp_ofo_queue drops what the in-order
    segment covered); the engine is held to first arrival everywhere."""
    manual_listener(bench)
    peer = FakeHost(bench, fake_addr(bench, 78), 40002)
    s = peer.connect()
    sid = s.id
    bench.raw.send(peer.seg(20, b"G" * 20))  # queued: 20..40
    s = settle(bench, sid, 1, s)
    bench.raw.send(peer.seg(0, b"H" * 60))  # in order: 0..60, covers G
    s = settle(bench, sid, 1, s)
    got = read_all(bench, sid)
    assert len(got) == 60
    assert got == b"H" * 20 + b"G" * 20 + b"H" * 20


# ---------------------------------------------------------------- malformed options


BAD_OPTIONS = {
    # Unknown kind 253 (experimental) with length 0 and 1.
    "length 0": bytes([253, 0, 0, 0]),
    "length 1": bytes([253, 1, 0, 0]),
    # Length 40 with 8 option bytes in the header.
    "overruns the header": bytes([1, 1, 253, 40, 0, 0, 0, 0]),
    "MSS length 3": bytes([2, 3, 5, 0]),
    "MSS length 6": bytes([2, 6, 5, 0xB4, 0, 0, 1, 1]),
    "no length byte": bytes([1, 1, 1, 2]),
}


def malformed_events(events: list[pb.Event], link_id: int) -> list[pb.Event]:
    return [
        e
        for e in events
        if e.kind == RECEIVED and e.reason == "malformed" and e.link_id == link_id
    ]


def test_bad_option_lengths_on_a_syn_drop_it(bench: Bench):
    """RFC 9293 3.1 (MUST-7): an illegal option length must be handled. The
    engine's policy: the segment is dropped as malformed (an event with
    reason "malformed"): no SYN-ACK, no session. A window scale over 14 is
    taken as 14 (RFC 7323 2.3). The listener then still accepts."""
    manual_listener(bench)
    events = Events(bench)
    ports = [41000 + i for i in range(len(BAD_OPTIONS))]
    for port, opts in zip(ports, BAD_OPTIONS.values()):
        peer = FakeHost(bench, fake_addr(bench, 90), port)
        bench.raw.send(peer.syn(options=opts))
    answers = bench.answers(ports[0], fake_addr(bench, 90))
    answers += [x for port in ports for x in bench.pending(port)]
    assert answers == [], [x.summary() for x in answers]
    assert list_sessions(bench) == []
    # Window scale 20: used as 14.
    peer = FakeHost(bench, fake_addr(bench, 91), 41100)
    s = peer.connect(
        syn=peer.syn(options=bytes([2, 4, 5, 0xB4, 1, 3, 3, 20])), window=1
    )
    assert s.server.tcb.snd_wnd == 1 << 14
    got = events.stop()
    assert len(malformed_events(got, bench.tap.iface.id)) == len(BAD_OPTIONS)
    syns = [
        e
        for e in got
        if e.session_id == s.id
        and e.kind == RECEIVED
        and e.segment.flags == pb.TCP_FLAG_SYN
    ]
    assert [e.segment.opt_wscale for e in syns] == [14]
    # Dropped, not answered as if nothing listened: the only RSTs answered
    # the markers.
    iface = bench.stub.GetInterface(
        pb.GetInterfaceRequest(interface_id=bench.tap.iface.id)
    )
    assert iface.counters.rst_no_connection == bench.markers


def test_bad_option_lengths_on_an_established_connection(bench: Bench):
    """The same on a synchronized connection: each data segment with a bad
    option is dropped whole (its text is not delivered); the connection
    stays up and takes the next good segment. A window scale option on a
    non-SYN segment is ignored (RFC 7323 2.2)."""
    manual_listener(bench)
    peer = FakeHost(bench, fake_addr(bench, 92), 42000)
    s = peer.connect(window=4)
    shift = s.server.tcb.snd_wnd // 4
    assert shift == 1 << 7
    events = Events(bench)
    before = session(bench, s.id)
    for opts in BAD_OPTIONS.values():
        bench.raw.send(peer.seg(0, b"bad!", options=opts))
    # Then a good one, at the same place. A window scale option out of
    # place: ignored, the window stays scaled by 7.
    bench.raw.send(peer.seg(0, b"good", options=bytes([1, 3, 3, 2]), window=8))
    got = events.stop()
    after = session(bench, s.id)
    assert len(malformed_events(got, bench.tap.iface.id)) == len(BAD_OPTIONS)
    # The connection took the good segment only.
    taken = [e for e in got if e.session_id == s.id and e.kind == RECEIVED]
    assert [e.segment.len for e in taken] == [4]
    assert (
        after.server.counters.segments_received
        == before.server.counters.segments_received + 1
    )
    assert read_all(bench, s.id) == b"good"
    assert after.server.tcb.state == ESTABLISHED
    assert after.server.tcb.snd_wnd == 8 << 7
    assert after.server.error == pb.ERROR_CODE_UNSPECIFIED


def test_bad_option_lengths_on_a_syn_ack(bench: Bench):
    """The engine's active open: SYN-ACKs with bad option lengths are
    dropped as malformed (the engine stays in SYN-SENT and sends no ACK);
    then a SYN-ACK with window scale 20 completes the handshake and the
    shift is used as 14 (RFC 7323 2.3)."""
    host = fake_addr(bench, 93)
    bench.raw.watch_address(host)
    # Any frame from the host teaches the engine its MAC (RSTs get no answer).
    bench.raw.send(bench.frame(TCP(sport=5555, dport=1, flags="R"), src=host))
    events = Events(bench)
    s = bench.stub.OpenSession(
        pb.OpenSessionRequest(
            remote=pb.Remote(interface_id=bench.tap.iface.id, address=host, port=5555),
            client=tcp_config(),
        )
    )
    got = bench.frames_to(5555, lambda x: x.flags == "S")
    syn = next(x for x in got if x.flags == "S")

    def synack(options: bytes) -> bytes:
        tcp = TCP(
            sport=5555,
            dport=syn.sport,
            flags="SA",
            seq=0x93000000,
            ack=add(syn.seq, 1),
            window=4096,
        )
        return bench.frame(tcp, src=host, options=options)

    bench.raw.send(*(synack(o) for o in BAD_OPTIONS.values()))
    got = bench.answers(5555, host)
    # No ACK (the SYN's resends may come, as "S").
    assert [x for x in got if x.flags == "A"] == [], [x.summary() for x in got]
    mid = session(bench, s.id)
    assert mid.client.tcb.state == STATE.TCP_STATE_SYN_SENT
    bench.raw.send(synack(bytes([2, 4, 5, 0xB4, 1, 3, 3, 20])))
    s = wait_session(
        bench.stub, s.id, lambda x: x.client.tcb.state == ESTABLISHED, PATIENCE
    )
    bench.raw.send(
        bench.frame(
            TCP(
                sport=5555,
                dport=syn.sport,
                flags="A",
                seq=0x93000001,
                ack=add(syn.seq, 1),
                window=1,
            ),
            src=host,
        )
    )
    s = wait_session(
        bench.stub, s.id, lambda x: x.client.tcb.snd_wnd == 1 << 14, PATIENCE
    )
    got_events = events.stop()
    assert len(malformed_events(got_events, bench.tap.iface.id)) == len(BAD_OPTIONS)
    synacks = [
        e
        for e in got_events
        if e.session_id == s.id
        and e.kind == RECEIVED
        and e.segment.flags == pb.TCP_FLAG_SYN | pb.TCP_FLAG_ACK
    ]
    assert [e.segment.opt_wscale for e in synacks] == [14]
    bench.stub.DeleteSession(pb.DeleteSessionRequest(session_id=s.id))


# ---------------------------------------------------------------- SYN flood


def test_syn_flood_leaves_the_backlog_bounded_and_a_real_client_connects(bench: Bench):
    """Thousands of SYNs from spoofed addresses and ports that never complete:
    the listener keeps at most `backlog` connections half open and counts
    what it refuses, memory stays bounded, and a kernel client that connects
    during the flood gets through (RFC 4987: SYN cookies or evicting the
    oldest half-open connection) and sends 1 MB intact."""
    backlog = 32
    bench.stub.Listen(
        pb.ListenRequest(
            interface_id=bench.tap.iface.id,
            port=PORT,
            digest=True,
            backlog=backlog,
            config=tcp_config(),
        )
    )
    rng = random.Random(4987)
    template = bench.frame(
        TCP(dport=PORT, flags="S", window=65535), src=fake_addr(bench, 3)
    )
    flood = [
        respoof(
            template,
            fake_addr(bench, rng.randrange(3, 254)),
            rng.randrange(1024, 65535),
            rng.getrandbits(32),
        )
        for _ in range(12_000)
    ]
    rss_before = daemon_rss_bytes()
    drops_before = bench.device_drops()
    seconds = 6.0
    bench.raw.paced(seconds, flood)

    def half_open() -> int:
        return sum(
            1 for x in list_sessions(bench)
            if x.accepted and not x.destroyed and x.server.tcb.state == STATE.TCP_STATE_SYN_RECEIVED
        )  # fmt: skip

    deadline = time.monotonic() + PATIENCE
    while (most := half_open()) == 0:
        assert time.monotonic() < deadline, "the flood made no half-open connection"
        time.sleep(0.05)
    client = subprocess.Popen(
        [
            "ip", "netns", "exec", bench.tap.ns, sys.executable, RAW, "source",
            "--connect", bench.tap.engine_addr, "--port", str(PORT),
            "--bytes", str(MB), "--seed", "7", "--connect-timeout", str(PATIENCE),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    bench.procs.append(client)
    while client.poll() is None:
        most = max(most, half_open())
        time.sleep(0.2)
    out, _ = client.communicate(timeout=PATIENCE)
    result = json.loads(out.strip().splitlines()[-1])
    flood_ended = bench.raw.wait()
    dropped = bench.device_drops() - drops_before
    most = max(most, half_open())
    rss_after = daemon_rss_bytes()

    assert "error" not in result, f"the real client failed: {result}"
    # The flood is paced by the clock: however busy the machine, it goes on
    # for its seconds, and the client got in before it ended.
    assert result["connected"] < flood_ended, (
        f"the real client connected {result['connected'] - flood_ended:.2f} s "
        "after the flood ended"
    )
    kernel = [
        x
        for x in list_sessions(bench)
        if x.accepted and x.remote.address == bench.tap.kernel_addr
    ]
    assert len(kernel) == 1
    final = wait_session(
        bench.stub, kernel[0].id, lambda x: x.server.bytes_read == MB, PATIENCE
    )
    assert final.server.read_sha256.hex() == result["sha256"]

    assert 0 < most <= backlog
    # Every SYN is accounted for: accepted into the backlog, or over it and
    # counted (dropped, or answered with a SYN cookie), or lost in the TAP
    # device's queue (more when the engine reads slowly, on a busy machine),
    # which the kernel counts. A few are the same address and port twice.
    c = bench.stub.GetInterface(
        pb.GetInterfaceRequest(interface_id=bench.tap.iface.id)
    ).counters
    over = c.syn_dropped_backlog + c.syn_cookies_sent
    taken = sum(
        1
        for x in list_sessions(bench)
        if x.accepted and x.remote.address != bench.tap.kernel_addr
    )
    n = len(flood)
    assert taken <= n
    assert over + taken + dropped >= 0.95 * n, (
        f"{n} SYNs: {taken} accepted, {c.syn_dropped_backlog} dropped "
        f"over the backlog, {c.syn_cookies_sent} SYN cookies sent, "
        f"{dropped} dropped by the TAP device"
    )
    grew = rss_after - rss_before
    assert grew < 64 * MB, f"RSS grew {grew >> 20} MiB"


def test_a_syn_cookie_opens_only_for_its_own_handshake(bench: Bench):
    """With the backlog full, a SYN is answered statelessly (RFC 4987 3.6);
    only the ACK that returns that SYN-ACK's ISN, from the same address and
    port and with the next sequence number, makes a connection. Blind ACKs
    with any other numbers are answered with RST (RFC 9293 3.10.7.2) and
    make nothing."""
    backlog = 2
    bench.stub.Listen(
        pb.ListenRequest(
            interface_id=bench.tap.iface.id,
            port=PORT,
            backlog=backlog,
            reader=pb.Reader(mode=pb.Reader.MODE_MANUAL),
            config=tcp_config(),
        )
    )
    for i in range(backlog):
        # SYNs that never complete fill the backlog.
        bench.raw.send(FakeHost(bench, fake_addr(bench, 50), 44000 + i).syn())
    peer = FakeHost(bench, fake_addr(bench, 51), 44100, isn=0x51000000)
    bench.raw.send(peer.syn())
    got = bench.frames_to(peer.sport, lambda x: x.flags == "SA")
    got += bench.answers(peer.sport, peer.addr)
    synacks = [x for x in got if x.flags == "SA"]
    assert len(synacks) == 1, [x.summary() for x in got]
    cookie = synacks[0].seq
    assert synacks[0].ack == add(peer.isn, 1)
    assert len(list_sessions(bench)) == backlog
    before = bench.stub.GetInterface(
        pb.GetInterfaceRequest(interface_id=bench.tap.iface.id)
    ).counters
    markers_before = bench.markers

    other = FakeHost(bench, fake_addr(bench, 51), 44101, isn=peer.isn)
    forged = [
        other.seg(0, flags="A", ack=add(cookie, 1)),  # another port
        peer.seg(1, flags="A", ack=add(cookie, 1)),  # not the next sequence number
        peer.seg(0, flags="A", ack=add(cookie, 2)),  # not the cookie
        peer.seg(0, flags="A", ack=add(cookie, -(1 << 24))),
    ]
    bench.raw.send(*forged)
    to_peer = bench.answers(peer.sport, peer.addr)
    rsts = bench.pending(other.sport) + to_peer  # in the order of `forged`
    assert [(x.flags, x.seq) for x in rsts] == [
        ("R", Ether(f)[TCP].ack) for f in forged
    ]
    # Blind ACKs: paced, so that the TAP device's queue drops few (the
    # kernel counts those).
    rng = random.Random(4987)
    blind = [peer.seg(0, flags="A", ack=rng.getrandbits(32)) for _ in range(1000)]
    drops = bench.device_drops()
    bench.raw.paced(0.5, blind)
    bench.raw.wait()
    rsts = bench.answers(peer.sport, peer.addr)
    dropped = bench.device_drops() - drops
    assert len(rsts) + dropped >= 950, (len(rsts), dropped)
    assert all(x.flags == "R" for x in rsts)
    assert {x.seq for x in rsts} <= {Ether(f)[TCP].ack for f in blind}
    assert len(list_sessions(bench)) == backlog
    after = bench.stub.GetInterface(
        pb.GetInterfaceRequest(interface_id=bench.tap.iface.id)
    ).counters
    assert (
        after.rst_no_connection - before.rst_no_connection
        == len(forged) + len(rsts) + bench.markers - markers_before
    )
    assert (after.syn_cookies_sent, after.syn_cookies_accepted) == (1, 0)

    # The real ACK: an ESTABLISHED connection that takes data.
    peer.rcv_nxt = add(cookie, 1)
    bench.raw.send(peer.seg(0, b"cookie", flags="PA"))
    s = accepted_session(bench, PORT, peer.sport)
    s = wait_session(bench.stub, s.id, lambda x: x.server.readable == 6, PATIENCE)
    assert s.server.tcb.state == ESTABLISHED
    assert s.server.tcb.irs == peer.isn and s.server.tcb.iss == cookie
    assert read_all(bench, s.id) == b"cookie"
    assert len(list_sessions(bench)) == backlog + 1
    iface = bench.stub.GetInterface(
        pb.GetInterfaceRequest(interface_id=bench.tap.iface.id)
    )
    assert iface.counters.syn_cookies_accepted == 1


# ---------------------------------------------------------------- closed ports


def test_closed_port_answers_with_rst_as_rfc_9293_says(bench: Bench):
    """RFC 9293 3.10.7.1: to a segment for no connection, without ACK:
    <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> (SYN and FIN count in SEG.LEN);
    with ACK: <SEQ=SEG.ACK><CTL=RST>. An RST is never answered."""
    closed = 9199
    sport = 43000
    bench.raw.watch(sport)
    before = bench.stub.GetInterface(
        pb.GetInterfaceRequest(interface_id=bench.tap.iface.id)
    )
    seq, ack = 0x12345678, 0x9ABCDEF0

    def probe(flags: str, payload: bytes = b"", dport: int = closed) -> list[TCP]:
        f = bench.frame(
            TCP(
                sport=sport,
                dport=dport,
                flags=flags,
                seq=seq,
                ack=ack if "A" in flags else 0,
            ),
            payload,
        )
        bench.raw.send(f)
        return bench.answers(sport)

    def only_rst(got: list[TCP]) -> TCP:
        assert len(got) == 1, [s.summary() for s in got]
        return got[0]

    r = only_rst(probe("S"))
    assert (r.flags, r.seq, r.ack) == ("RA", 0, add(seq, 1))
    r = only_rst(probe("S", b"x" * 10))
    assert (r.flags, r.seq, r.ack) == ("RA", 0, add(seq, 11))
    r = only_rst(probe("F", b"y" * 5))
    assert (r.flags, r.seq, r.ack) == ("RA", 0, add(seq, 6))
    r = only_rst(probe("", b"z" * 7))
    assert (r.flags, r.seq, r.ack) == ("RA", 0, add(seq, 7))
    r = only_rst(probe("SF"))
    assert (r.flags, r.seq, r.ack) == ("RA", 0, add(seq, 2))
    r = only_rst(probe("PA", b"w" * 9))
    assert (r.flags, r.seq) == ("R", ack)
    r = only_rst(probe("SA"))
    assert (r.flags, r.seq) == ("R", ack)
    r = only_rst(probe("FA"))
    assert (r.flags, r.seq) == ("R", ack)
    answered = 8
    # To a listening port, a segment that is not a SYN has no connection
    # either (RFC 9293 3.10.7.2: an ACK there is answered <SEQ=SEG.ACK><RST>).
    bench.stub.Listen(pb.ListenRequest(interface_id=bench.tap.iface.id, port=PORT))
    r = only_rst(probe("A", dport=PORT))
    assert (r.flags, r.seq) == ("R", ack)
    answered += 1
    # RSTs are not answered.
    assert probe("R") == []
    assert probe("RA") == []
    assert probe("R", dport=PORT) == []
    after = bench.stub.GetInterface(
        pb.GetInterfaceRequest(interface_id=bench.tap.iface.id)
    )
    assert (
        after.counters.rst_no_connection - before.counters.rst_no_connection
        == answered + bench.markers
    )
    assert list_sessions(bench) == []
