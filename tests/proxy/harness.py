"""What the proxy tests share: durations, the proxy's address, kernel sockets
on both sides of a proxy, waiting with a deadline, the sessions of a proxy
and a WatchEvents stream collected in a thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import grpc
from google.protobuf import duration_pb2

from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2_grpc as rpc

from conftest import PATIENCE

T = TypeVar("T")


def ms(n: float) -> duration_pb2.Duration:
    d = duration_pb2.Duration()
    d.FromNanoseconds(int(n * 1_000_000))
    return d


def address(proxy: pb.Proxy) -> tuple[str, int]:
    """Where the proxy listens (its listen_address, port 0 resolved)."""
    host, port = proxy.listen_address.rsplit(":", 1)
    assert host and int(port) > 0, f"proxy {proxy.name} has no listen_address: {proxy}"
    return host.strip("[]"), int(port)


def connect(proxy: pb.Proxy) -> socket.socket:
    s = socket.create_connection(address(proxy), timeout=PATIENCE)
    s.settimeout(PATIENCE)
    return s


class Upstream:
    """A kernel listening socket on loopback: the upstream host of a proxy."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0), backlog=128)
        self.sock.settimeout(PATIENCE)
        self.port = int(self.sock.getsockname()[1])
        self.address = f"127.0.0.1:{self.port}"

    def accept(self) -> socket.socket:
        try:
            conn, _ = self.sock.accept()
        except socket.timeout as e:
            raise AssertionError(
                f"no connection reached the upstream {self.address} in {PATIENCE:g} s"
            ) from e
        conn.settimeout(PATIENCE)
        return conn

    def close(self) -> None:
        self.sock.close()


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    """Reads n bytes; fails on an early end of stream."""
    got = bytearray()
    while len(got) < n:
        chunk = sock.recv(min(n - len(got), 1 << 20))
        assert chunk, f"end of stream after {len(got)} of {n} bytes"
        got += chunk
    return bytes(got)


def recv_to_eof(sock: socket.socket) -> bytes:
    """Reads until the peer's FIN; a reset fails the test."""
    got = bytearray()
    while True:
        chunk = sock.recv(1 << 20)
        if not chunk:
            return bytes(got)
        got += chunk


def expect_reset(sock: socket.socket, what: str) -> None:
    """The socket's next read must fail with ECONNRESET: every byte still
    readable before it must have been read by the caller."""
    try:
        data = sock.recv(1 << 16)
    except ConnectionResetError:
        return
    except socket.timeout as e:
        raise AssertionError(f"{what}: no reset within {PATIENCE:g} s") from e
    raise AssertionError(f"{what}: read {data!r} instead of a reset")


def wait_for(check: Callable[[], T | None], what: str, timeout: float = PATIENCE) -> T:
    """Polls `check` until it returns something other than None or False."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got is not None and got is not False:
            return got
        assert time.monotonic() < deadline, f"{what}: not within {timeout:g} s"
        time.sleep(0.02)


def get_proxy(stub: rpc.EmulatorStub, proxy_id: int) -> pb.Proxy:
    proxy: pb.Proxy = stub.GetProxy(pb.GetProxyRequest(proxy_id=proxy_id))
    return proxy


def proxy_when(
    stub: rpc.EmulatorStub, proxy_id: int, done: Callable[[pb.Proxy], bool], what: str
) -> pb.Proxy:
    """Polls the proxy until `done` accepts it; returns it."""

    def check() -> pb.Proxy | None:
        p = get_proxy(stub, proxy_id)
        return p if done(p) else None

    return wait_for(check, what)


def session_when(
    stub: rpc.EmulatorStub, session_id: int, done: Callable[[pb.Session], bool], what: str
) -> pb.Session:
    """Polls the session until `done` accepts it; returns it."""

    def check() -> pb.Session | None:
        s = stub.GetSession(pb.GetSessionRequest(session_id=session_id))
        return s if done(s) else None

    return wait_for(check, what)


def proxy_sessions(stub: rpc.EmulatorStub, proxy: pb.Proxy) -> list[pb.Session]:
    """The sessions of the proxy's connections, oldest first."""
    out: list[pb.Session] = []
    token = ""
    while True:
        resp = stub.ListSessions(
            pb.ListSessionsRequest(link_id=proxy.link_id, page_size=1000, page_token=token)
        )
        out.extend(s for s in resp.sessions if s.proxy_id == proxy.id)
        token = resp.next_page_token
        if not token:
            return sorted(out, key=lambda s: s.id)


def only_session(stub: rpc.EmulatorStub, proxy: pb.Proxy) -> pb.Session:
    """Waits for the proxy's one connection to have a session; returns it."""

    def one() -> pb.Session | None:
        sessions = proxy_sessions(stub, proxy)
        assert len(sessions) <= 1, f"proxy {proxy.name}: {len(sessions)} sessions"
        return sessions[0] if sessions else None

    return wait_for(one, f"the session of proxy {proxy.name}")


def session_of(stub: rpc.EmulatorStub, proxy: pb.Proxy, app: socket.socket) -> pb.Session:
    """Waits for the session of the application's connection `app`."""
    host, port = app.getsockname()[:2]
    peer = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def find() -> pb.Session | None:
        found = [s for s in proxy_sessions(stub, proxy) if s.downstream_peer == peer]
        assert len(found) <= 1, f"{len(found)} sessions of {peer}"
        return found[0] if found else None

    return wait_for(find, f"the session of {peer}")


class EventCollector:
    """Collects the events of one WatchEvents request in a thread, from the
    moment the constructor returns (the daemon sends the stream's headers
    once it has subscribed it). An error the stream ends with, other than
    the CANCELLED of `stop`, fails the test."""

    def __init__(self, stub: rpc.EmulatorStub, request: pb.WatchEventsRequest) -> None:
        self.events: list[pb.Event] = []
        self.lost = 0
        self.errors: list[str] = []
        self._cond = threading.Condition()
        self._subscribed = False
        self._ended = False
        self._cancelled = False
        self._call = stub.WatchEvents(request)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        with self._cond:
            self._cond.wait_for(lambda: self._subscribed or self._ended, PATIENCE)
            assert not self.errors, f"WatchEvents failed: {self.errors}"
            assert self._subscribed, f"WatchEvents sent no headers within {PATIENCE:g} s"

    def _run(self) -> None:
        try:
            self._call.initial_metadata()
            with self._cond:
                self._subscribed = True
                self._cond.notify_all()
            for batch in self._call:
                with self._cond:
                    self.events.extend(batch.events)
                    self.lost += batch.events_lost
                    self._cond.notify_all()
        except grpc.RpcError as e:
            with self._cond:
                if not (e.code() == grpc.StatusCode.CANCELLED and self._cancelled):
                    self.errors.append(f"{e.code()}: {e.details()}")
        except Exception as e:
            with self._cond:
                self.errors.append(f"the collecting thread failed: {e!r}")
        finally:
            with self._cond:
                self._ended = True
                self._cond.notify_all()

    def wait(self, done: Callable[[list[pb.Event]], bool], what: str) -> None:
        """Waits until `done(events so far)` holds."""
        with self._cond:
            ok = self._cond.wait_for(lambda: self._ended or done(self.events), PATIENCE)
            assert ok and done(self.events), (
                f"{what}: not within {PATIENCE:g} s ({self.errors or 'stream open'})"
            )

    def stop(self) -> list[pb.Event]:
        """Ends the stream; returns every event collected."""
        with self._cond:
            self._cancelled = True
        self._call.cancel()
        self._thread.join(PATIENCE)
        assert not self._thread.is_alive(), "WatchEvents did not end when cancelled"
        with self._cond:
            assert not self.errors, f"WatchEvents failed: {self.errors}"
            return list(self.events)
