"""Event streams: iteration, filters, cancellation, gaps, JSON Lines."""

from __future__ import annotations

import io
import threading
import time

import pytest

import tcpemu

from conftest import Daemon, transfer

pb = tcpemu.pb


def test_stream_cancel_ends_iteration(client, rnet):
    stream = rnet.events()
    done = threading.Event()
    errors = []

    def consume():
        try:
            for _ in stream:
                pass
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)
        finally:
            done.set()

    threading.Thread(target=consume, daemon=True).start()
    time.sleep(0.3)
    assert not done.is_set(), "the stream ended on its own"
    stream.cancel()
    assert done.wait(5), "cancel() did not end the iteration"
    assert not errors
    assert stream.cancelled


def test_context_manager_cancels(client, vnet):
    session = vnet.create_link().open_session()
    with session.events() as stream:
        first = next(stream)
        assert first.session_id == session.id
    assert stream.cancelled
    rest = list(stream)  # the rest of the batch already received, then the end
    assert all(e.session_id == session.id for e in rest)


def test_session_stream_ends_after_destroyed(client, vnet):
    session = vnet.create_link(delay="2ms").open_session(client={"msl": "10ms"})
    stream = session.events()
    assert stream.wait_subscribed(10)
    session.write(fill=10_000)
    session.close()
    vnet.advance_until_idle()
    events = list(stream)
    assert events[-1].kind == pb.EVENT_KIND_SESSION_DESTROYED
    assert events[0].kind == pb.EVENT_KIND_STATE_CHANGED  # LISTEN, before the SYN
    assert all(e.session_id == session.id for e in events)
    times = [e.time_ns for e in events]
    assert times == sorted(times)


def test_kind_and_endpoint_filters(client, vnet):
    session = vnet.create_link(delay="2ms").open_session(client={"msl": "10ms"})
    stream = session.events(kinds=["segment_sent"], endpoint="client")
    assert stream.wait_subscribed(10)
    session.write(fill=5000)
    session.close()
    vnet.advance_until_idle()
    events = list(stream)  # ends at SESSION_DESTROYED, which is not yielded
    assert events
    assert {e.kind for e in events} == {pb.EVENT_KIND_SEGMENT_SENT}
    assert {e.endpoint for e in events} == {pb.ENDPOINT_CLIENT}
    assert events[0].segment.flags == 2 and events[0].reason == "syn"


def test_endpoint_filter_still_ends_at_destroyed(client, vnet):
    session = vnet.create_link(delay="2ms").open_session(client={"msl": "10ms"})
    stream = session.events(endpoint="server")
    assert stream.wait_subscribed(10)
    session.close()
    vnet.advance_until_idle()
    events = list(stream)  # SESSION_DESTROYED comes from the client endpoint
    assert events and {e.endpoint for e in events} == {pb.ENDPOINT_SERVER}
    assert stream.cancelled


def test_bad_kind_is_rejected_locally():
    with pytest.raises(ValueError, match="kind: 'segment_lost' is not valid"):
        tcpemu.Client("127.0.0.1:1").events(kinds=["segment_lost"])


@pytest.fixture(scope="module")
def small_queue_daemon():
    d = Daemon("--shards", "1", "--event_queue", "64")
    yield d
    assert d.stop() == 0


def test_slow_reader_sees_gaps(small_queue_daemon):
    with tcpemu.Client(small_queue_daemon.target) as c:
        net = c.create_network("virtual", seed=5)
        session = net.create_link(delay="1ms").open_session(client={"msl": "10ms"})
        stream = session.events()
        assert stream.wait_subscribed(10)
        session.write(fill=100_000)
        session.close()
        net.advance_until_idle()  # thousands of events into a 64-event queue
        items = list(stream)
    gaps = [x for x in items if isinstance(x, tcpemu.Gap)]
    events = [x for x in items if not isinstance(x, tcpemu.Gap)]
    assert gaps, "no gap reported"
    assert sum(g.lost for g in gaps) == stream.lost > 0
    assert events[-1].kind == pb.EVENT_KIND_SESSION_DESTROYED
    assert "events lost" in tcpemu.format_event(gaps[0])


def test_jsonl_round_trip_and_text(client, vnet):
    link = vnet.create_link(delay="2ms", loss=0.05, duplicate=0.05)
    session = link.open_session(client={"msl": "10ms"})
    stream = vnet.events(replay=True, until_destroyed=session)
    assert stream.wait_subscribed(10)
    transfer(session, vnet, 100_000)
    session.close()
    vnet.advance_until_idle()
    events = list(stream)
    kinds = {e.kind for e in events}
    assert pb.EVENT_KIND_SEGMENT_DROPPED in kinds and pb.EVENT_KIND_SEGMENT_MANGLED in kinds

    buf = io.StringIO()
    assert tcpemu.write_jsonl([*events, tcpemu.Gap(3)], buf) == len(events) + 1
    buf.seek(0)
    back = list(tcpemu.read_jsonl(buf))
    assert back[-1] == tcpemu.Gap(3)
    assert [tcpemu.event_to_dict(e) for e in back[:-1]] == [tcpemu.event_to_dict(e) for e in events]
    first = tcpemu.event_to_dict(events[0])
    assert set(first) >= {"time_ns", "kind", "endpoint", "session_id", "link_id", "network_id"}

    lines = [tcpemu.format_event(e) for e in events]
    syn = next(line for line in lines if "(syn)" in line)
    assert "sent   client > server: Flags [S], seq 0, win 65535" in syn
    assert any(" DROP   " in line and "(loss)" in line for line in lines)
    assert any("state_changed client SYN_SENT -> ESTABLISHED" in line for line in lines)


def test_read_jsonl_reports_bad_lines(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"kind": "segment_sent", "time_ns": 1}\nnot json\n')
    it = tcpemu.read_jsonl(str(path))
    assert next(it).kind == pb.EVENT_KIND_SEGMENT_SENT
    with pytest.raises(ValueError, match="line 2: not JSON"):
        next(it)


def test_session_accepted_event_forms():
    ev = pb.Event(
        time_ns=1_500_000,
        kind=pb.EVENT_KIND_SESSION_ACCEPTED,
        network_id=1,
        session_id=7,
        link_id=3,
        endpoint=pb.ENDPOINT_SERVER,
        a=(10 << 24) | (201 << 16) | 1,
        segment=pb.Segment(seq=12345, flags=2),
    )
    d = tcpemu.event_to_dict(ev)
    assert d["kind"] == "session_accepted" and d["remote"] == "10.201.0.1"
    assert d["flags"] == "S" and "tcb" not in d
    assert tcpemu.event_from_dict(d) == ev
    assert tcpemu.format_event(ev) == (
        "    0.001500 s7 session_accepted server from 10.201.0.1 on link 3"
    )
    assert tcpemu.events.remote_address(ev) == "10.201.0.1"


def test_clock_events_name_their_network_and_lag():
    behind = pb.Event(time_ns=2_000_000, kind=pb.EVENT_KIND_CLOCK_BEHIND, network_id=4, a=7_500_000)
    caught_up = pb.Event(
        time_ns=3_000_000,
        kind=pb.EVENT_KIND_CLOCK_CAUGHT_UP,
        network_id=4,
        a=9_000_000,
        b=12_000_000,
    )
    d = tcpemu.event_to_dict(behind)
    assert d["kind"] == "clock_behind" and d["lag_ns"] == 7_500_000 and "tcb" not in d
    assert tcpemu.event_from_dict(d) == behind
    d = tcpemu.event_to_dict(caught_up)
    assert d["max_lag_ns"] == 9_000_000 and d["behind_ns"] == 12_000_000
    assert tcpemu.event_from_dict(d) == caught_up
    assert tcpemu.format_event(behind) == "    0.002000 n4 clock_behind by 7.500 ms"
    assert tcpemu.format_event(caught_up) == (
        "    0.003000 n4 clock_caught_up after 12.000 ms (at most 9.000 ms behind)"
    )


def test_sack_blocks_in_acks_unless_turned_off(client, vnet):
    """A lossy path leaves holes: the receiver's ACKs report the bytes it
    holds beyond them (RFC 2018), unless SACK is turned off."""
    link = vnet.create_link(delay="5ms", loss=0.05)
    counts = []
    for sack in (True, False):
        session = link.open_session(
            client={"msl": "10ms"}, server={"msl": "10ms", "sack": sack}
        )
        stream = session.events(kinds=["segment_sent"], endpoint="server")
        assert stream.wait_subscribed(10)
        session.write(fill=300_000)
        session.close()
        vnet.advance_until_idle()
        events = list(stream)
        assert events
        counts.append(sum(1 for e in events if e.segment.opt_sack_blocks > 0))
    assert counts[0] > 0
    assert counts[1] == 0


def _ack_with_sack_and_timestamps() -> pb.Event:
    return pb.Event(
        time_ns=2_000_000,
        kind=pb.EVENT_KIND_SEGMENT_SENT,
        network_id=1,
        session_id=4,
        link_id=2,
        endpoint=pb.ENDPOINT_SERVER,
        reason="ack",
        segment=pb.Segment(
            seq=5001,
            ack=1001 + 1460,
            rel_seq=1,
            rel_ack=1461,
            flags=16,
            window=501,
            window_bytes=501 << 7,
            opt_sack_blocks=2,
            opt_timestamp=True,
            sack_blocks=[
                pb.SackBlock(left=3921, right=5381, rel_left=2921, rel_right=4381),
                pb.SackBlock(left=6841, right=8301, rel_left=5841, rel_right=7301),
            ],
            ts_val=123456,
            ts_ecr=654321,
        ),
        tcb=pb.Tcb(
            state=pb.TCP_STATE_ESTABLISHED,
            iss=5000,
            irs=1000,
            snd_wscale=7,
            rcv_wscale=9,
            ts_ok=True,
            sack_ok=True,
            ts_recent=654000,
            sacked_bytes=2920,
            lost_bytes=1460,
            retrans_bytes=1460,
            pipe=4380,
            pacing_rate=1_250_000,
            cc_phase=pb.CC_PHASE_PROBE_BW,
            bandwidth_estimate=1_190_000,
            min_rtt_ns=40_000_000,
        ),
    )


def test_sack_timestamps_and_scoreboard_in_dicts_and_text():
    ev = _ack_with_sack_and_timestamps()
    d = tcpemu.event_to_dict(ev)
    assert d["window_bytes"] == 64128
    assert d["sack"] == [[3921, 5381], [6841, 8301]]
    assert d["rel_sack"] == [[2921, 4381], [5841, 7301]]
    assert (d["ts_val"], d["ts_ecr"]) == (123456, 654321)
    assert d["options"] == {"sack_blocks": 2, "timestamp": True}
    t = d["tcb"]
    assert (t["snd_wscale"], t["rcv_wscale"], t["ts_ok"], t["sack_ok"]) == (7, 9, True, True)
    assert (t["ts_recent"], t["sacked_bytes"], t["lost_bytes"]) == (654000, 2920, 1460)
    assert (t["retrans_bytes"], t["pipe"]) == (1460, 4380)
    assert (t["cc_phase"], t["pacing_rate"]) == ("probe_bw", 1_250_000)
    assert (t["bandwidth_estimate"], t["min_rtt_ns"]) == (1_190_000, 40_000_000)
    assert tcpemu.event_from_dict(d) == ev
    # Through JSON text as well, as a trace file carries it.
    buf = io.StringIO()
    tcpemu.write_jsonl([ev], buf)
    buf.seek(0)
    assert list(tcpemu.read_jsonl(buf)) == [ev]
    assert tcpemu.format_event(ev) == (
        "    0.002000 s4 sent   server > client: Flags [.], seq 1, ack 1461, win 501, "
        "options [TS val 123456 ecr 654321,sack 2 {2921:4381}{5841:7301}], length 0 (ack)"
    )


def test_cc_phase_is_a_name_in_dicts():
    ev = _ack_with_sack_and_timestamps()
    for name, number in pb.CcPhase.items():
        ev.tcb.cc_phase = number  # type: ignore[assignment]
        d = tcpemu.event_to_dict(ev)
        want = "none" if number == 0 else name.removeprefix("CC_PHASE_").lower()
        assert d["tcb"]["cc_phase"] == want
        assert tcpemu.event_from_dict(d) == ev
    # tcpemu-sim writes "none" before the handshake, as the daemon's 0.
    d["tcb"]["cc_phase"] = "none"
    assert tcpemu.event_from_dict(d).tcb.cc_phase == pb.CC_PHASE_UNSPECIFIED
    allowed = "allowed: none, slow_start, congestion_avoidance"
    with pytest.raises(ValueError, match=f"cc_phase: 'cruise' is not valid; {allowed}"):
        tcpemu.event_from_dict({**d, "tcb": {**d["tcb"], "cc_phase": "cruise"}})


def test_link_events_have_absolute_sack_blocks_only():
    ev = _ack_with_sack_and_timestamps()
    ev.kind = pb.EVENT_KIND_SEGMENT_DROPPED
    ev.reason = "loss"
    ev.ClearField("tcb")
    ev.segment.rel_seq = ev.segment.rel_ack = 0
    for b in ev.segment.sack_blocks:
        b.rel_left = b.rel_right = 0
    ev.segment.ClearField("ts_val")
    ev.segment.ClearField("ts_ecr")
    ev.segment.opt_timestamp = False
    d = tcpemu.event_to_dict(ev)
    assert d["sack"] == [[3921, 5381], [6841, 8301]]
    assert "rel_sack" not in d and "ts_val" not in d and "tcb" not in d
    assert tcpemu.event_from_dict(d) == ev
    assert "sack 2 {3921:5381}{6841:8301}" in tcpemu.format_event(ev)
    with pytest.raises(ValueError, match="2 sack blocks but 1 rel_sack"):
        tcpemu.event_from_dict({**d, "rel_sack": [[1, 2]]})


def test_sack_blocks_timestamps_and_scaled_windows(client, vnet):
    """The server's ACKs on a lossy path: SACK blocks of data beyond the
    cumulative ACK in the client's sequence space, the timestamps echoed,
    and the window scaled by the shift the server announced."""
    link = vnet.create_link(delay="5ms", loss=0.05)
    session = link.open_session(client={"msl": "10ms"}, server={"msl": "10ms"})
    stream = session.events(kinds=["segment_sent"], endpoint="server")
    assert stream.wait_subscribed(10)
    session.write(fill=300_000)
    session.close()
    vnet.advance_until_idle()
    events = list(stream)
    syn_ack = next(e for e in events if e.segment.flags & 2)
    shift = syn_ack.segment.opt_wscale
    assert shift > 0 and syn_ack.segment.window_bytes == syn_ack.segment.window
    acks = [e for e in events if not e.segment.flags & 2]
    assert acks
    for e in acks:
        s = e.segment
        assert s.window_bytes == s.window << shift
        assert s.HasField("ts_val") and s.ts_ecr != 0
        assert len(s.sack_blocks) == s.opt_sack_blocks
        for b in s.sack_blocks:
            assert (b.rel_left - (b.left - e.tcb.irs)) % 2**32 == 0
            assert (b.right - b.left) % 2**32 == (b.rel_right - b.rel_left) % 2**32 > 0
    above = [b for e in acks for b in e.segment.sack_blocks if b.rel_left > e.segment.rel_ack]
    assert above, "no SACK block beyond a cumulative ACK"
    vals = [e.segment.ts_val for e in acks]
    # TSval never goes back (modulo 2^32, as sequence numbers).
    assert all((b - a) % 2**32 < 2**31 for a, b in zip(vals, vals[1:]))
