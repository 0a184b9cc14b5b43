"""Adversarial TCP over TAP: malformed TCP options on a SYN, a SYN-ACK and an
established connection."""

from __future__ import annotations

from scapy.layers.inet import TCP
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb

from adversarial import (
    ESTABLISHED,
    RECEIVED,
    STATE,
    Bench,
    Events,
    FakeHost,
    add,
    fake_addr,
    list_sessions,
    manual_listener,
    read_all,
    session,
    tcp_config,
)
from conftest import PATIENCE, wait_session

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
