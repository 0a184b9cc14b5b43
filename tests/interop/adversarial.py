"""The harness of the adversarial TAP tests (test_adversarial_*.py): a
bench that crafts segments with scapy and writes them to the kernel's side of
the TAP device from inside the test's namespace (tests/interop/raw.py), an
event collector that proves absence with a marker, a paused kernel transfer
to attack, and a "fake host": another address in the namespace's subnet whose
frames the namespace's kernel drops without an answer (it does not forward),
so only the test speaks for it.

Each test checks what the RFCs require of the engine (RFC 9293, RFC 5961,
RFC 7323) through what it reports itself (sessions, counters, events) and
what it sends back on the wire.
"""

from __future__ import annotations

import json
import select
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.packet import Packet, Raw
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2_grpc as rpc

from conftest import PATIENCE, Tap, wait_session
from raw import SCRIPT as RAW
from raw import RawHost
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
