"""Adversarial TCP over TAP: blind RST and SYN, challenge ACKs and their rate
limit (RFC 5961), and RSTs from closed ports (RFC 9293)."""

from __future__ import annotations

import random
import time

import pytest
from scapy.layers.inet import TCP
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb

from adversarial import (
    CHALLENGE_ACK_LIMIT,
    ESTABLISHED,
    MB,
    PORT,
    RECEIVED,
    SENT,
    STATE,
    Bench,
    Events,
    FakeHost,
    accepted_session,
    add,
    assert_intact,
    challenge_acks,
    fake_addr,
    list_sessions,
    manual_listener,
    paused_transfer,
    received,
    session,
    wait_received,
)
from conftest import PATIENCE, wait_session

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
