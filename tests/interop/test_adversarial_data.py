"""Adversarial TCP over TAP: injected data, data outside the window, and
overlapping text (RFC 9293 3.10.7.4, RFC 5961 5)."""

from __future__ import annotations

from adversarial import (
    ESTABLISHED,
    SENT,
    Bench,
    Events,
    FakeHost,
    add,
    assert_intact,
    fake_addr,
    manual_listener,
    paused_transfer,
    read_all,
    received,
    settle,
    wait_received,
)

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
