"""A WatchEvents stream collected in a thread, for the interop tests.

The daemon sends a stream's headers as soon as it has subscribed it, before
any event: once they arrive, everything that happens reaches the stream. The
collector waits for them before it returns, so a test never has to guess
with a sleep whether it is subscribed. Every error the stream ends with,
other than the CANCELLED of `stop`, is kept and fails the test, and so do
lost events: a broken or lossy stream is never read as "nothing happened".
Absence is proven the other way round: by an event the test causes after
the thing under test, which `until` waits for (the daemon delivers one
shard's events in the order they happened, and the interop daemon runs one
shard).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import grpc
from conftest import PATIENCE
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2_grpc as rpc


class EventCollector:
    """Collects the events of one WatchEvents request from the moment the
    constructor returns."""

    def __init__(
        self,
        stub: rpc.EmulatorStub,
        request: pb.WatchEventsRequest,
        timeout: float = PATIENCE,
    ) -> None:
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
            self._cond.wait_for(lambda: self._subscribed or self._ended, timeout)
            subscribed = self._subscribed
        self.check()
        assert subscribed, f"WatchEvents sent no headers within {timeout:g} s"

    def _run(self) -> None:
        handled = False
        try:
            # Returns once the headers (or the end of the call) arrived.
            self._call.initial_metadata()
            with self._cond:
                self._subscribed = True
                self._cond.notify_all()
            for batch in self._call:
                with self._cond:
                    self.events.extend(batch.events)
                    self.lost += batch.events_lost
                    self._cond.notify_all()
            handled = True
        except grpc.RpcError as e:
            with self._cond:
                cancelled = e.code() == grpc.StatusCode.CANCELLED
                if not (cancelled and self._cancelled):
                    self.errors.append(f"{e.code()}: {e.details()}")
            handled = True
        finally:
            with self._cond:
                if not handled:
                    # The thread's exception is printed; the test must fail.
                    self.errors.append("the collecting thread failed")
                self._ended = True
                self._cond.notify_all()

    def check(self) -> None:
        """Fails if the stream broke or lost events."""
        with self._cond:
            assert not self.errors, f"WatchEvents failed: {self.errors}"
            assert self.lost == 0, f"WatchEvents lost {self.lost} events"

    def until(
        self, found: Callable[[pb.Event], bool], what: str, timeout: float = PATIENCE
    ) -> int:
        """Waits until an event that `found` accepts has arrived; returns the
        index of the first one in `events`. The deadline, or the stream
        ending, fails the test."""
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cond:
            while True:
                for i in range(seen, len(self.events)):
                    if found(self.events[i]):
                        return i
                seen = len(self.events)
                assert not self._ended, (
                    f"WatchEvents ended before {what}: {self.errors or 'no error'}"
                )
                left = deadline - time.monotonic()
                assert left > 0, f"no event of {what} within {timeout:g} s"
                self._cond.wait(left)

    def wait(
        self,
        done: Callable[[list[pb.Event]], bool],
        what: str,
        timeout: float = PATIENCE,
    ) -> None:
        """Waits until `done(events so far)` holds; the deadline, or the
        stream ending, fails the test."""
        with self._cond:
            ok = self._cond.wait_for(lambda: self._ended or done(self.events), timeout)
            assert ok, f"{what}: not within {timeout:g} s"
            assert done(self.events), (
                f"WatchEvents ended before {what}: {self.errors or 'no error'}"
            )

    def stop(self) -> list[pb.Event]:
        """Ends the stream and returns every event collected; fails if the
        stream broke or lost events."""
        with self._cond:
            self._cancelled = True
        self._call.cancel()
        self._thread.join(PATIENCE)
        assert not self._thread.is_alive(), "WatchEvents did not end when cancelled"
        self.check()
        return list(self.events)
