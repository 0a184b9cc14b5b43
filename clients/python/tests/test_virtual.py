"""Virtual networks: time moves only through advance(), and the same seed
gives the same trace."""

from __future__ import annotations

import pytest

import tcpemu

from conftest import transfer


def test_advance_moves_time_exactly(vnet):
    assert vnet.clock == "virtual" and vnet.virtual
    assert vnet.refresh().now == 0.0
    r = vnet.advance("250ms")
    assert r.now == pytest.approx(0.25)
    assert r.idle  # nothing scheduled on an empty network
    assert vnet.advance(1.5).now == pytest.approx(1.75)
    assert vnet.refresh().now == pytest.approx(1.75)


def test_nothing_happens_without_advance(vnet):
    session = vnet.create_link(delay="10ms").open_session()
    snap = session.snapshot()
    assert snap.client.state == "SYN_SENT"
    assert snap.server.state == "LISTEN"
    vnet.advance("15ms")  # the SYN arrived, the SYN-ACK is on its way
    snap = session.snapshot()
    assert snap.client.state == "SYN_SENT"
    assert snap.server.state == "SYN_RECEIVED"
    vnet.advance("10ms")
    assert session.snapshot().client.state == "ESTABLISHED"


def test_wait_for_advances_virtual_time(vnet):
    session = vnet.create_link(delay="20ms").open_session()
    snap = session.wait_for("ESTABLISHED", "client")
    assert snap.client.state == "ESTABLISHED"
    now = vnet.refresh().now
    assert 0.040 <= now < 0.080  # one RTT, give or take the doubling steps


def test_advance_until_idle_completes_a_transfer(vnet):
    link = vnet.create_link(delay="5ms", rate="100Mbit")
    session = link.open_session(digest=True, client={"msl": "1s"})
    assert session.write(fill=200_000) == 200_000  # fits the 256 KiB send buffer
    session.close()
    r = vnet.advance_until_idle()
    assert r.idle
    snap = session.snapshot()
    assert snap.destroyed
    assert snap.server.bytes_read == 200_000
    assert snap.client.write_sha256 == snap.server.read_sha256
    assert snap.destroyed_at is not None and snap.destroyed_at <= r.now


def _trace(client, seed):
    net = client.create_network("virtual", seed=seed)
    try:
        link = net.create_link(delay="10ms", rate="20Mbit", loss=0.02)
        session = link.open_session(client={"msl": "1s"})
        stream = session.events()
        assert stream.wait_subscribed(10)
        transfer(session, net, 300_000)
        session.close()
        net.advance_until_idle()
        records = []
        for ev in stream:
            d = tcpemu.event_to_dict(ev)
            for key in ("network_id", "session_id", "link_id"):
                d.pop(key)
            records.append(d)
        return records
    finally:
        net.delete()


def test_same_seed_same_trace(client):
    a = _trace(client, seed=11)
    b = _trace(client, seed=11)
    c = _trace(client, seed=12)
    assert len(a) > 500
    assert a == b
    assert a != c
