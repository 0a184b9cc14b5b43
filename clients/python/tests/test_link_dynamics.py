"""Links that change and their queues, from Python: queue management,
schedules, Mahimahi traces and queue sampling reach the daemon and act in
virtual time."""

from __future__ import annotations

import pytest

import tcpemu
from tcpemu import pb
from tcpemu.link_dynamics import aqm_proto, schedule_proto, trace_proto


def test_specs_convert_in_human_units(tmp_path):
    a = aqm_proto({"kind": "red", "ecn": True, "min_threshold": "30KB", "max_p": "5%"})
    assert (a.kind, a.ecn, a.red_min_threshold) == (pb.Aqm.KIND_RED, True, 30_000)
    assert a.red_max_p == pytest.approx(0.05)
    assert aqm_proto("codel").kind == pb.Aqm.KIND_CODEL
    fq = aqm_proto({"kind": "fq_codel", "target": "2ms"})
    assert fq.codel_target.ToNanoseconds() == 2_000_000
    with pytest.raises(ValueError, match=r"aqm\.kind: 'pie' is not valid"):
        aqm_proto("pie")
    with pytest.raises(ValueError, match="unknown key 'targte'"):
        aqm_proto({"kind": "codel", "targte": "5ms"})
    s = schedule_proto(
        {
            "points": [{"at": 0, "rate": "10mbit"}, {"at": "1s", "ramp": True, "rate": "2mbit"}],
            "repeat": "2s",
        }
    )
    assert [p.rate_bps for p in s.points] == [10_000_000, 2_000_000]
    assert s.points[1].ramp and s.repeat.ToNanoseconds() == 2_000_000_000
    with pytest.raises(ValueError, match=r"schedule.points\[0\].at: required"):
        schedule_proto([{"rate": "1mbit"}])
    f = tmp_path / "cell.down"
    f.write_text("1\n1\n3\n")
    t = trace_proto(f)
    assert (t.name, t.mahimahi) == ("cell.down", "1\n1\n3\n")


def test_link_dynamics_act_in_virtual_time(client, vnet):
    link = vnet.create_link(
        rate="12mbit",
        delay="5ms",
        queue="1000p",
        forward={
            "aqm": {"kind": "codel", "ecn": True},
            "queue_sample_interval": "10ms",
            "schedule": [{"at": "100ms", "rate": "6mbit"}, {"at": "200ms", "down": True}],
        },
        reverse={"trace": ("12mbit", "1\n")},
    )
    fw, rv = link.forward, link.reverse
    assert fw.aqm.kind == pb.Aqm.KIND_CODEL and fw.aqm.ecn
    assert len(fw.schedule.points) == 2
    assert rv.trace.name == "12mbit" and rv.trace.opportunities == 1
    assert rv.trace.period.ToNanoseconds() == 1_000_000

    stream = vnet.events(kinds=["link_changed", "queue_sample"])
    assert stream.wait_subscribed(10)
    session = link.open_session()
    session.write(fill=2_000_000)
    vnet.advance("300ms")
    link.refresh()
    assert link.forward.rate_bps == 6_000_000
    counters = link.proto.forward_counters
    assert counters.link_changes == 2
    assert counters.dequeued > 0 and counters.sojourn_ns_total > 0
    seen = {}
    for e in stream:
        seen.setdefault(e.kind, []).append(e)
        changed = seen.get(pb.EVENT_KIND_LINK_CHANGED, [])
        if len(changed) == 2 and pb.EVENT_KIND_QUEUE_SAMPLE in seen:
            break
    changes = seen[pb.EVENT_KIND_LINK_CHANGED]
    assert [(c.time_ns, c.a, c.b) for c in changes] == [
        (100_000_000, 6_000_000, 5_000_000),
        (200_000_000, 6_000_000, -1),
    ]
    stream.cancel()
    # Down: the wire takes nothing, so the queue holds what is sent.
    before = link.refresh().proto.forward_counters.packets_delivered
    vnet.advance("100ms")
    after = link.refresh().proto.forward_counters
    assert after.packets_delivered <= before + 1
    assert after.queued_packets > 0


def test_bad_dynamics_name_the_field(client, vnet):
    with pytest.raises(tcpemu.InvalidArgument, match=r"forward.trace.mahimahi: .*line 2"):
        vnet.create_link(forward={"trace": ("bad", "1\nx\n")})
    with pytest.raises(tcpemu.InvalidArgument, match=r"schedule.points\[1\].at"):
        vnet.create_link(forward={"schedule": [{"at": "2s"}, {"at": "1s"}]})
    with pytest.raises(tcpemu.InvalidArgument, match=r"aqm.codel_target"):
        vnet.create_link(forward={"aqm": {"kind": "codel", "target": "20s"}})
