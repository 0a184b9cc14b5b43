"""A workload for tcpemud that makes every metric family the dashboard shows
carry data: lossy links with queues, faults, duplicates and reordering (so
retransmissions, drops and mangles happen), sessions that open, transfer,
half-close, close, get refused and are torn down (so they pass through many
TCP states), an event subscriber that never reads (so it loses events) and
one that does, calls that fail (NOT_FOUND, INVALID_ARGUMENT, and
RESOURCE_EXHAUSTED against a small --max_networks), and, as root, a TAP
interface whose host side, in a network namespace of its own, pings the
engine and opens TCP connections to it.

Everything runs in daemon threads until stop() and is bounded in time; the
only traffic outside the daemon goes between a network namespace this
workload creates and the TAP device in it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[3]
# The client of this checkout, whatever copy the interpreter has installed.
sys.path.insert(0, str(REPO / "clients/python/src"))

import tcpemu  # noqa: E402

# The host's side of the TAP connects to the engine's listener on this port,
# and to this one, where nothing listens (answered with RST).
LISTEN_PORT = 8080
CLOSED_PORT = 8081

# Runs in the namespace: bounded TCP clients of the engine's listener.
_PEER = r"""
import socket, sys, time
engine, port, closed, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
end = time.monotonic() + seconds
payload = b"x" * 65536
while time.monotonic() < end:
    try:
        with socket.create_connection((engine, port), timeout=3) as s:
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
            s.settimeout(3)
            while s.recv(65536):
                pass
    except OSError:
        pass
    try:
        socket.create_connection((engine, closed), timeout=1).close()
    except OSError:
        pass
    time.sleep(0.2)
"""


def tap_unavailable() -> str | None:
    """Why no TAP interface can be made here, or None."""
    if os.geteuid() != 0:
        return "not root: the daemon cannot create a TAP device"
    if not os.path.exists("/dev/net/tun"):
        return "/dev/net/tun is missing"
    if shutil.which("ip") is None:
        return "iproute2 (ip) is missing"
    return None


class Workload:
    def __init__(self, target: str, seconds: float, log: Callable[[str], None] = print) -> None:
        self.target = target
        self.seconds = seconds  # upper bound on how long it runs
        self.log = log
        self.client = tcpemu.Client(target, timeout=10)
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []
        self.errors: list[str] = []
        self.streams: list[tcpemu.EventStream] = []
        self.netns: str | None = None
        self.interface: tcpemu.Interface | None = None
        self.listener: tcpemu.Listener | None = None
        self.peer: subprocess.Popen | None = None
        self.ping: subprocess.Popen | None = None
        self.interface_skipped: str | None = None
        self.counts = {"sessions": 0, "failed_calls": 0, "bulk_bytes": 0, "accepted": 0}

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self.client.wait_ready(20)
        self.deadline = time.monotonic() + self.seconds
        self._subscribers()
        self._spawn("bulk", self._bulk)
        self._spawn("churn", self._churn)
        self._spawn("errors", self._failing_calls)
        self._spawn("proxy", self._proxy)
        self.interface_skipped = tap_unavailable()
        if self.interface_skipped is None:
            self._interface()
        else:
            self.log(f"workload: no TAP interface ({self.interface_skipped})")

    def stop(self) -> None:
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout=30)
        for s in self.streams:
            s.cancel()
        for p in (self.peer, self.ping):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
        if self.listener is not None:
            try:
                self.listener.close()
            except tcpemu.TcpemuError:
                pass
        if self.interface is not None:
            try:
                self.interface.delete()
            except tcpemu.TcpemuError:
                pass
        if self.netns is not None:
            subprocess.run(["ip", "netns", "delete", self.netns], check=False)
        self.client.close()

    def _proxy(self) -> None:
        """Connections through a proxy to an echo server of this process,
        for the proxy panels."""
        import socket

        server = socket.create_server(("127.0.0.1", 0))
        server.settimeout(0.5)

        def echo() -> None:
            while self._running():
                try:
                    conn, _ = server.accept()
                except OSError:
                    continue
                with conn:
                    conn.settimeout(5)
                    while data := conn.recv(65536):
                        conn.sendall(data)

        threading.Thread(target=echo, daemon=True).start()
        port = server.getsockname()[1]
        proxy = self.client.create_proxy(
            "observe", listen="127.0.0.1:0", upstream=f"127.0.0.1:{port}", delay="1ms"
        )
        try:
            while self._running():
                with socket.create_connection(proxy.address, timeout=5) as c:
                    c.sendall(b"x" * 10000)
                    c.shutdown(socket.SHUT_WR)
                    while c.recv(65536):
                        pass
                time.sleep(0.05)
        finally:
            proxy.delete()
            server.close()

    def _running(self) -> bool:
        return not self.stop_event.is_set() and time.monotonic() < self.deadline

    def _spawn(self, name: str, fn: Callable[[], None]) -> None:
        def run() -> None:
            try:
                fn()
            except Exception:  # reported by the test, not swallowed
                self.errors.append(f"{name}: {traceback.format_exc()}")

        t = threading.Thread(target=run, name=f"workload-{name}", daemon=True)
        t.start()
        self.threads.append(t)

    # ------------------------------------------------------------ parts

    def _subscribers(self) -> None:
        # Never read: once gRPC's flow-control window is full, the daemon's
        # queue for it (--event_queue) overflows and events are dropped.
        slow = self.client.events()
        if not slow.wait_subscribed(10):
            raise RuntimeError("the slow WatchEvents stream was not subscribed")
        self.streams.append(slow)
        # Read, and count what was lost.
        fast = self.client.events(kinds=["state_changed", "connection_error"])
        if not fast.wait_subscribed(10):
            raise RuntimeError("the reading WatchEvents stream was not subscribed")
        self.streams.append(fast)

        def drain() -> None:
            for _ in fast:
                if self.stop_event.is_set():
                    break

        self._spawn("reader", drain)

    def _bulk(self) -> None:
        # Long transfers on a lossy, queued, faulty link: retransmissions of
        # both kinds, every drop reason but mtu, every mangle, RTT samples
        # and congestion windows that move; its forward rate follows a
        # schedule and its queue is sampled.
        link = self.client.create_link(
            delay="10ms",
            rate="8Mbit",
            queue="20p",
            loss=0.02,
            corrupt=0.005,
            duplicate=0.005,
            reorder=0.01,
            forward={
                "queue_sample_interval": "20ms",
                "schedule": {
                    "points": [{"at": "0s", "rate": "8mbit"}, {"at": "1s", "rate": "6mbit"}],
                    "repeat": "2s",
                },
            },
        )
        link.inject_fault(action="drop", probability=0.01, payload_only=True)
        link.inject_fault(action="delay", delay="5ms", probability=0.01)
        sessions = [link.open_session() for _ in range(3)]
        self.counts["sessions"] += len(sessions)
        while self._running():
            for s in sessions:
                self.counts["bulk_bytes"] += s.write(fill=64 * 1024, wait="200ms")

    def _churn(self) -> None:
        # Short sessions that go through the handshake, half-close and close
        # (TIME_WAIT lasts 2 MSL), some left in CLOSE_WAIT for a while, some
        # refused (a connection error), all torn down.
        link = self.client.create_link(delay="5ms", rate="20Mbit", loss=0.01)
        quick = tcpemu.TcpConfig(msl="300ms", syn_retries=2)
        held: list[tcpemu.Session] = []
        n = 0
        while self._running():
            n += 1
            if n % 5 == 0:
                refused = link.open_session(client=quick, server=quick, server_closed=True)
                held.append(refused)
            elif n % 3 == 0:
                # The server never reads nor closes: CLOSE_WAIT / FIN_WAIT_2.
                s = link.open_session(client=quick, server=quick, server_reader="manual")
                s.wait_for("ESTABLISHED", "server", timeout=10)
                s.write(fill=20_000)
                s.close()
                held.append(s)
            else:
                s = link.open_session(client=quick, server=quick)
                s.write(fill=100_000, wait="2s")
                s.close()
            self.counts["sessions"] += 1
            while len(held) > 6:
                old = held.pop(0)
                try:
                    old.delete()
                except tcpemu.NotFound:
                    pass
            self.stop_event.wait(0.3)

    def _failing_calls(self) -> None:
        while self._running():
            for call in (
                lambda: self.client.session(999_999_999),  # NOT_FOUND
                lambda: self.client.create_link(loss=1.5),  # INVALID_ARGUMENT
            ):
                try:
                    call()
                except tcpemu.TcpemuError:
                    self.counts["failed_calls"] += 1
            # Networks up to --max_networks, then RESOURCE_EXHAUSTED.
            created = []
            try:
                for _ in range(64):
                    created.append(self.client.create_network("virtual"))
            except tcpemu.ResourceExhausted:
                self.counts["failed_calls"] += 1
            finally:
                for net in created:
                    net.delete()
            self.stop_event.wait(1.0)

    def _interface(self) -> None:
        # A TAP device whose host side is in a namespace of this workload's:
        # the engine at .2 answers ARP and ping, accepts TCP on LISTEN_PORT
        # and answers SYNs to CLOSED_PORT with RST.
        pid = os.getpid()
        subnet = f"10.204.{pid % 250}"
        self.netns = f"tcpemu-observe-{pid}"
        # One left by an earlier run killed before it could clean up.
        subprocess.run(["ip", "netns", "delete", self.netns], stderr=subprocess.DEVNULL, check=False)
        subprocess.run(["ip", "netns", "add", self.netns], check=True)
        self.interface = self.client.create_interface(f"{subnet}.2/24", egress={"delay": "1ms"})
        dev = self.interface.name
        ns = ["ip", "-n", self.netns]
        subprocess.run(["ip", "link", "set", "dev", dev, "netns", self.netns], check=True)
        subprocess.run(ns + ["addr", "add", f"{subnet}.1/24", "dev", dev], check=True)
        subprocess.run(ns + ["link", "set", dev, "up"], check=True)
        self.listener = self.interface.listen(LISTEN_PORT)

        def accept() -> None:
            while self._running():
                try:
                    self.listener.accept(timeout=0.5)
                    self.counts["accepted"] += 1
                except tcpemu.DeadlineExceeded:
                    pass

        self._spawn("accept", accept)
        left = max(1.0, self.deadline - time.monotonic())
        exec_ns = ["ip", "netns", "exec", self.netns]
        self.peer = subprocess.Popen(
            exec_ns + [sys.executable, "-c", _PEER, f"{subnet}.2", str(LISTEN_PORT), str(CLOSED_PORT), str(left)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if shutil.which("ping") is not None:
            self.ping = subprocess.Popen(
                exec_ns + ["ping", "-q", "-i", "0.2", "-w", str(int(left)), f"{subnet}.2"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        self.log(f"workload: interface {dev} ({subnet}.2) in namespace {self.netns}")
