"""The flow docs/python.md opens with: a session across a 50 ms, 1 % loss
link on a REALTIME network, 1 MB written, retransmissions seen in the event
stream, and a time-sequence graph written."""

from __future__ import annotations

import threading

import tcpemu
from tcpemu.plot import time_sequence


def test_readme_flow(client, rnet, tmp_path):
    link = rnet.create_link(delay="50ms", rate="20Mbit", loss=0.01)
    quick = tcpemu.TcpConfig(msl="100ms")  # a short TIME_WAIT, so the session ends soon
    session = link.open_session(client=quick, server=quick, digest=True)
    stream = rnet.events(replay=True, until_destroyed=session)
    assert stream.wait_subscribed(10), "the event stream never answered"
    events = []
    reader = threading.Thread(target=lambda: events.extend(stream))
    reader.start()

    assert session.write(fill=1_000_000, wait="60s") == 1_000_000
    session.close()
    snap = session.wait_for("destroyed", timeout=60)
    reader.join(20)
    assert not reader.is_alive(), "the stream did not end after SESSION_DESTROYED"

    assert snap.server.bytes_read == 1_000_000
    assert snap.client.write_sha256 == snap.server.read_sha256
    assert stream.lost == 0
    kinds = {tcpemu.pb.EventKind.Name(e.kind) for e in events}
    assert "EVENT_KIND_SESSION_DESTROYED" in kinds
    retransmissions = [
        e
        for e in events
        if e.kind == tcpemu.pb.EVENT_KIND_SEGMENT_SENT and e.reason.startswith("retransmit")
    ]
    drops = [e for e in events if e.kind == tcpemu.pb.EVENT_KIND_SEGMENT_DROPPED]
    counters = snap.client.counters
    assert retransmissions, "no retransmission over a 1 % loss link"
    assert len(retransmissions) == counters.retransmits_rto + counters.retransmits_fast
    link.refresh()
    link_drops = link.forward_counters.dropped_loss + link.reverse_counters.dropped_loss
    assert len(drops) == link_drops > 0

    png = tmp_path / "time-sequence.png"
    fig = time_sequence(events, png, session=session.id)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 20_000
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any(label.startswith("data segment") for label in labels)
    assert any(label.startswith("retransmission") for label in labels)
    assert "ACK" in labels
    forward_drops = [d for d in drops if d.endpoint == tcpemu.pb.ENDPOINT_CLIENT and d.segment.len]
    if forward_drops:
        assert f"dropped by the link ({len(forward_drops)})" in labels
