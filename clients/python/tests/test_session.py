"""Sessions, data, faults and links through the blocking client."""

from __future__ import annotations

import threading

import pytest

import tcpemu
from tcpemu import _requests as rq

from conftest import transfer


def test_data_both_ways_with_manual_readers(client, rnet):
    link = rnet.create_link(delay="5ms")
    session = link.open_session(
        client_reader="manual", server_reader="manual", client=tcpemu.TcpConfig(nodelay=True)
    )
    session.wait_for("ESTABLISHED", "client", timeout=5)
    assert session.write(b"hello, tcpemu", push=True) == 13
    got = session.read(100, wait="5s")
    assert got == tcpemu.ReadResult(b"hello, tcpemu", False)
    assert session.write("pong", endpoint="server") == 4
    assert session.read(100, wait="5s", endpoint="client").data == b"pong"
    assert session.close("client") == "FIN_WAIT_1"
    # The FIN follows the data: the next read at the server is end of stream.
    assert session.read(100, wait="5s") == tcpemu.ReadResult(b"", True)
    # At end of stream the server application closes too (close_on_eof).
    snap = session.wait_for("CLOSED", "server", timeout=5)
    assert snap.client.state == "TIME_WAIT"
    assert snap.server.bytes_read == 13
    assert snap.client.bytes_read == 4


def test_snapshot_fields(client, vnet):
    link = vnet.create_link(delay="10ms")
    mtu = tcpemu.TcpConfig(mtu=1400, congestion_control="cubic")
    session = link.open_session(
        client=mtu, server=mtu, digest=True, server_port=8080, client_port=40000
    )
    snap = session.wait_for("ESTABLISHED", "server")
    assert isinstance(snap, tcpemu.SessionSnapshot)
    assert (snap.id, snap.link_id, snap.network_id) == (session.id, link.id, vnet.id)
    assert (snap.client.port, snap.server.port) == (40000, 8080)
    # MTU 1400 less 40 bytes of headers and 12 of the timestamp option.
    assert snap.client.mss == snap.server.mss == 1348
    assert snap.client.state == "ESTABLISHED" and snap.client.error is None
    assert snap.client.tcb.state == tcpemu.pb.TCP_STATE_ESTABLISHED
    # Negotiated in the handshake: what one side scales its window by, the
    # other scales the window it reads by.
    for a, b in ((snap.client, snap.server), (snap.server, snap.client)):
        assert a.tcb.ts_ok and a.tcb.sack_ok
        assert a.tcb.snd_wscale == b.tcb.rcv_wscale
        assert a.tcb.ts_recent != 0
    assert snap.client.tcb.rcv_wscale > 0
    assert snap.client.counters.dsacks_received == 0
    assert snap.client.counters.rack_losses == 0
    assert snap.client.counters.tail_loss_probes == 0
    # Digests of nothing yet: SHA-256 of the empty string.
    assert snap.client.write_sha256 == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert snap.endpoint("server") is snap.server
    assert session.network.id == vnet.id


def test_fault_drops_exactly_count_payload_segments(client, vnet):
    link = vnet.create_link(delay="10ms", rate="50Mbit")
    session = link.open_session()
    fault = session.inject_fault("drop", count=3, payload_only=True, direction="forward")
    assert fault.link_id == link.id and len(fault.ids) == 1
    transfer(session, vnet, 300_000)
    fwd = link.refresh().forward_counters
    assert fwd.dropped_fault == 3
    assert fwd.fault_hits == 3
    assert link.reverse_counters.dropped_fault == 0
    counters = session.snapshot().client.counters
    assert counters.retransmits_rto + counters.retransmits_fast >= 1
    assert counters.bytes_retransmitted >= 3 * 1448


def test_counters_print_every_field(client, vnet):
    link = vnet.create_link(delay="1ms")
    fresh = link.forward_counters
    # A message whose fields are all zero prints as nothing; the counters
    # print each field, zeros included, in the proto's order.
    names = [f.name for f in tcpemu.pb.PathCounters.DESCRIPTOR.fields]
    assert str(fresh) == "PathCounters(" + ", ".join(f"{n}=0" for n in names) + ")"
    assert list(fresh) == names and dict(fresh) == dict.fromkeys(names, 0)
    session = link.open_session()
    session.write(fill=10_000)
    vnet.advance("100ms")
    used = link.refresh().forward_counters
    assert used.packets_sent > 0 and used["packets_sent"] == used.proto.packets_sent
    assert f"packets_sent={used.packets_sent}, " in repr(used) and "dropped_loss=0" in repr(used)
    assert used != fresh and used == tcpemu.Counters(link.proto.forward_counters)
    with pytest.raises(AttributeError, match="PathCounters has no counter 'packets'"):
        _ = used.packets
    endpoint = session.snapshot().client.counters
    assert str(endpoint).startswith("EndpointCounters(segments_sent=")
    assert len(endpoint) == len(tcpemu.pb.EndpointCounters.DESCRIPTOR.fields)


def test_clear_faults(client, vnet):
    link = vnet.create_link(delay="1ms")
    session = link.open_session()
    link.inject_fault(action="drop", flags_all="SYN,ACK", direction="reverse")
    vnet.advance("20ms")
    assert link.refresh().reverse_counters.dropped_fault >= 1
    link.clear_faults()
    session.wait_for("ESTABLISHED", timeout=30)


def test_fault_errors(client, vnet):
    link = vnet.create_link()
    with pytest.raises(ValueError, match="give link= or session="):
        client.inject_fault(action="drop")
    with pytest.raises(tcpemu.InvalidArgument, match=r"match\.seq_lo"):
        link.inject_fault(action="drop", seq=(10, 5))
    with pytest.raises(ValueError, match="action: 'explode' is not valid"):
        link.inject_fault(action="explode")


def test_link_create_update_and_reverse(client, vnet):
    link = vnet.create_link(
        delay="20ms",
        rate="10Mbit",
        loss="1%",
        queue="100p",
        jitter=tcpemu.Jitter("2ms", distribution="normal"),
        reverse={"rate": "1Mbit", "queue": "64KiB"},
    )
    f, r = link.forward, link.reverse
    assert f.delay.nanos == r.delay.nanos == 20_000_000
    assert (f.rate_bps, r.rate_bps) == (10_000_000, 1_000_000)
    assert f.loss.random == r.loss.random == pytest.approx(0.01)
    assert (f.queue_limit_packets, f.queue_limit_bytes) == (100, 0)
    assert (r.queue_limit_packets, r.queue_limit_bytes) == (0, 65536)
    assert f.jitter.distribution == tcpemu.pb.Jitter.DISTRIBUTION_NORMAL

    link.update(loss=0.05, ge_loss=None)
    assert link.forward.rate_bps == 10_000_000 and link.reverse.rate_bps == 1_000_000
    assert link.forward.loss.random == pytest.approx(0.05)
    assert link.reverse.loss.random == pytest.approx(0.05)
    assert link.forward.delay.nanos == 20_000_000

    link.update(ge_loss=(0.01, 0.3, 0.2, 1.0))
    assert link.forward.loss.WhichOneof("model") == "gilbert_elliott"
    assert link.forward.loss.gilbert_elliott.r == pytest.approx(0.3)

    link.update(delay="5ms", replace=True)
    assert link.forward.rate_bps == 0 and link.reverse.rate_bps == 0
    assert link.refresh().forward.delay.nanos == 5_000_000


def test_link_update_names_its_fields_in_the_mask():
    req = rq.update_link(
        7, tcpemu.PathSpec(delay="5ms", queue="100p"), reverse={"reorder": (0.1, 3)}
    )
    assert req is not None and req.link_id == 7
    assert list(req.update_mask.paths) == [
        "forward.delay",
        "forward.queue_limit_packets",
        "forward.queue_limit_bytes",
        "reverse.delay",
        "reverse.queue_limit_packets",
        "reverse.queue_limit_bytes",
        "reverse.reorder",
        "reverse.reorder_gap",
    ]
    whole = rq.update_link(7, tcpemu.PathSpec(), reverse=tcpemu.pb.PathSpec())
    assert whole is not None and list(whole.update_mask.paths) == ["reverse"]
    assert list(rq.update_link(7, tcpemu.PathSpec(), replace=True).update_mask.paths) == ["*"]
    assert rq.update_link(7, tcpemu.PathSpec()) is None


def test_concurrent_link_updates_of_different_fields_both_hold(client, vnet):
    # Each update names only its own field, and the daemon applies it to the
    # link's current spec: no update undoes the other's, whatever the order.
    link = vnet.create_link(delay="1ms", loss=0.01)
    stale = client.link(link.id)
    rounds = 40

    def delays() -> None:
        for i in range(rounds):
            client.update_link(link.id, delay=f"{i + 1}ms")

    def losses() -> None:
        for i in range(rounds):
            stale.update(loss=(i + 1) / 1000)

    threads = [threading.Thread(target=delays), threading.Thread(target=losses)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    final = link.refresh()
    assert final.forward.delay.ToMilliseconds() == rounds
    assert final.reverse.delay.ToMilliseconds() == rounds
    assert final.forward.loss.random == pytest.approx(rounds / 1000)
    assert final.reverse.loss.random == pytest.approx(rounds / 1000)


def test_lists_and_deletes(client, vnet):
    link = vnet.create_link()
    a = link.open_session()
    b = link.open_session()
    assert [s.id for s in vnet.sessions()] == [a.id, b.id]
    assert [s.id for s in link.sessions()] == [a.id, b.id]
    assert [x.id for x in vnet.links()] == [link.id]
    assert link.id in [x.id for x in client.links()]
    assert vnet.id in [n.id for n in client.networks()]
    a.delete()
    with pytest.raises(tcpemu.NotFound):
        a.snapshot()
    assert [s.id for s in vnet.sessions()] == [b.id]
    b.close(rst=True)
    vnet.advance("10ms")
    assert b.snapshot().destroyed


def test_set_reader_controls_the_window(client, vnet):
    link = vnet.create_link(delay="1ms")
    session = link.open_session(server_reader="manual", server={"recv_buffer": "64KiB"})
    session.write(fill=200_000)
    vnet.advance("200ms")
    snap = session.snapshot()
    # The receive buffer filled up to the last whole segment; the window closed.
    assert 65536 - 1460 < snap.server.readable <= 65536
    assert snap.server.tcb.rcv_wnd < 1460
    assert snap.client.tcb.snd_wnd < 1460
    session.set_reader("auto")
    vnet.advance("1s")
    snap = session.snapshot()
    assert snap.server.bytes_read == 200_000
    assert snap.server.tcb.rcv_wnd > 60_000


def test_write_wait_on_realtime(client, rnet):
    link = rnet.create_link(delay="1ms", rate="100Mbit")
    session = link.open_session(client={"send_buffer": "64KiB"})
    # More than the send buffer: only a wait lets all of it in.
    assert session.write(fill=1_000_000, wait="20s") == 1_000_000
    assert session.write(fill=1_000_000) < 1_000_000


def test_timestamps_and_the_challenge_ack_limit_are_configurable(client, vnet):
    link = vnet.create_link(delay="5ms")
    off = tcpemu.TcpConfig(
        mtu=1400, timestamps=False, challenge_ack_limit=0, invalid_ack_interval="0s"
    )
    session = link.open_session(client=off, server=tcpemu.TcpConfig(mtu=1400))
    snap = session.wait_for("ESTABLISHED", "server")
    # One side without timestamps: neither uses them, so the whole MSS
    # carries data.
    assert snap.client.mss == snap.server.mss == 1360
    assert snap.client.counters.paws_rejected == 0
    assert snap.client.counters.challenge_acks_suppressed == 0
    assert snap.client.counters.invalid_acks_suppressed == 0
    with pytest.raises(tcpemu.InvalidArgument, match="invalid_ack_interval"):
        link.open_session(client=tcpemu.TcpConfig(invalid_ack_interval="61s"))


def test_rack_and_hystart_options():
    cfg = tcpemu.TcpConfig(rack=True, hystart=False).to_proto()
    assert cfg.HasField("rack") and cfg.rack
    assert cfg.HasField("hystart") and not cfg.hystart
    unset = tcpemu.TcpConfig().to_proto()
    assert not unset.HasField("rack") and not unset.HasField("hystart")
    assert tcpemu.TcpConfig.of({"hystart": True}).hystart


def test_congestion_control_and_pacing_options():
    cfg = tcpemu.TcpConfig(congestion_control="bbr", pacing=True).to_proto()
    assert cfg.congestion_control == tcpemu.pb.CONGESTION_CONTROL_BBR
    assert cfg.HasField("pacing") and cfg.pacing
    assert not tcpemu.TcpConfig().to_proto().HasField("pacing")


def test_ecn_option():
    assert tcpemu.TcpConfig(ecn=True).to_proto().ecn
    assert not tcpemu.TcpConfig().to_proto().HasField("ecn")
    assert tcpemu.TcpConfig.of({"ecn": True}).ecn


def test_ecn_negotiated_only_when_both_ends_want_it(client, vnet):
    link = vnet.create_link(delay="5ms", rate="50Mbit")
    for server_ecn in (True, False):
        session = link.open_session(
            client=tcpemu.TcpConfig(msl="10ms", ecn=True),
            server=tcpemu.TcpConfig(msl="10ms", ecn=server_ecn),
        )
        transfer(session, vnet, 100_000)
        snap = session.snapshot()
        assert snap.client.ecn_ok is server_ecn and snap.server.ecn_ok is server_ecn
        # No queue management marks on this path: no echo, no reduction.
        assert snap.server.counters.ce_received == 0
        assert snap.client.counters.ecn_reductions == 0
        assert snap.client.counters.cwr_sent == 0


def test_stack_choice_options():
    cfg = tcpemu.TcpConfig(
        window_scale=7, flavor="freebsd", rfc5961_rst=False, rfc5961_syn=True, ecn_syn_retries=1
    ).to_proto()
    assert cfg.window_scale == 7 and cfg.flavor == tcpemu.pb.STACK_FLAVOR_FREEBSD
    assert cfg.HasField("rfc5961_rst") and not cfg.rfc5961_rst
    assert cfg.HasField("rfc5961_syn") and cfg.rfc5961_syn
    assert cfg.ecn_syn_retries == 1
    unset = tcpemu.TcpConfig().to_proto()
    for name in ("window_scale", "rfc5961_rst", "rfc5961_syn", "ecn_syn_retries"):
        assert not unset.HasField(name)
    assert unset.flavor == tcpemu.pb.STACK_FLAVOR_UNSPECIFIED
    assert tcpemu.TcpConfig(flavor="LINUX").to_proto().flavor == tcpemu.pb.STACK_FLAVOR_LINUX
    assert tcpemu.TcpConfig.of({"window_scale": 0}).HasField("window_scale")
    with pytest.raises(ValueError, match="flavor: 'bsd' is not valid; allowed: linux, freebsd"):
        tcpemu.TcpConfig(flavor="bsd").to_proto()


def test_stack_choices_reach_the_daemon(client, vnet):
    link = vnet.create_link(delay="1ms")
    # The shift each end offers is the one the other applies to its window.
    session = link.open_session(
        client=tcpemu.TcpConfig(msl="10ms", window_scale=9, ecn=True, ecn_syn_retries=1),
        server=tcpemu.TcpConfig(msl="10ms", window_scale=2, rfc5961_rst=False, rfc5961_syn=False),
    )
    snap = session.wait_for("ESTABLISHED", "server")
    assert (snap.client.tcb.rcv_wscale, snap.client.tcb.snd_wscale) == (9, 2)
    assert (snap.server.tcb.rcv_wscale, snap.server.tcb.snd_wscale) == (2, 9)
    assert snap.client.ecn_ok is False  # the server did not ask for ECN
    # FreeBSD rounds both buffers up to a multiple of the MSS when the
    # peer's SYN arrives; Linux keeps them as given.
    buffers: dict = {}
    for flavor in ("linux", "freebsd"):
        cfg = tcpemu.TcpConfig(msl="10ms", send_buffer=100_000, flavor=flavor)
        s = link.open_session(client=tcpemu.TcpConfig(msl="10ms"), server=cfg)
        buffers[flavor] = s.wait_for("ESTABLISHED", "server").server.send_buffer_free
    assert buffers["linux"] == 100_000
    assert 100_000 < buffers["freebsd"] < 100_000 + 1500
    for bad, match in (
        (tcpemu.TcpConfig(window_scale=15), r"client\.window_scale 15 out of range \[-1, 14\]"),
        (
            tcpemu.TcpConfig(ecn_syn_retries=256),
            r"client\.ecn_syn_retries 256 out of range \[0, 255\]",
        ),
    ):
        with pytest.raises(tcpemu.InvalidArgument, match=match):
            link.open_session(client=bad)


def test_bbr_session_reports_its_model(client, vnet):
    # 20 Mbit/s, 40 ms round trip: BBR's estimates converge on the path's.
    link = vnet.create_link(delay="20ms", rate="20Mbit", queue="200p")
    bbr = tcpemu.TcpConfig(msl="10ms", congestion_control="bbr")
    session = link.open_session(client=bbr, digest=True)
    transfer(session, vnet, 4_000_000)
    snap = session.snapshot()
    assert snap.server.read_sha256 == snap.client.write_sha256
    c = snap.client
    assert c.cc_phase in ("startup", "drain", "probe_bw", "probe_rtt")
    assert 0.040 <= c.min_rtt < 0.045, c.min_rtt
    assert 0.8 * 2_500_000 <= c.bandwidth_estimate <= 1.05 * 2_500_000, c.bandwidth_estimate
    assert c.pacing_rate > 0
    # NewReno without pacing keeps no bandwidth estimate and paces nothing;
    # its minimum RTT is the path's all the same.
    plain = link.open_session(client=tcpemu.TcpConfig(msl="10ms"))
    transfer(plain, vnet, 100_000)
    p = plain.snapshot().client
    assert p.cc_phase in ("slow_start", "congestion_avoidance", "recovery")
    assert (p.pacing_rate, p.bandwidth_estimate) == (0, 0)
    assert 0.040 <= p.min_rtt < 0.045, p.min_rtt


def test_rack_and_hystart_sessions_deliver(client, vnet):
    link = vnet.create_link(delay="5ms", rate="20Mbit", loss=0.02)
    on = tcpemu.TcpConfig(msl="10ms", rack=True, hystart=True, congestion_control="cubic")
    session = link.open_session(client=on, server=on, digest=True)
    transfer(session, vnet, 200_000)
    snap = session.snapshot()
    assert snap.server.bytes_read == 200_000
    assert snap.server.read_sha256 == snap.client.write_sha256
