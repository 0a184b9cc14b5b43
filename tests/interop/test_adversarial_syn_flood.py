"""Adversarial TCP over TAP: a SYN flood against a listener (bounded backlog,
SYN cookies) and cookies that open only for their own handshake."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time

from scapy.layers.inet import TCP
from scapy.layers.l2 import Ether
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb

from adversarial import (
    ESTABLISHED,
    MB,
    PORT,
    STATE,
    Bench,
    FakeHost,
    accepted_session,
    add,
    fake_addr,
    list_sessions,
    read_all,
    tcp_config,
)
from conftest import PATIENCE, wait_session
from raw import SCRIPT as RAW
from raw import daemon_rss_bytes, respoof

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
