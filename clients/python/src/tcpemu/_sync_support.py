"""The blocking side of what the two clients do differently: channels,
waiting, sleeping, background work and queues, with threads. The blocking
client (client.py, generated from aio.py by tools/gen_sync.py) uses it in
place of tcpemu._async_support, whose names it mirrors."""

from __future__ import annotations

import queue
import threading
import time
from typing import Any, Callable, Generic, Optional, Sequence, Tuple, Type, TypeVar

import grpc

from tcpemu.security import TlsArg
from tcpemu.security import make_channel as _make_channel

T = TypeVar("T")

# Prefix of the handles' reprs: none, "Client(...)".
REPR_PREFIX = ""
Channel = grpc.Channel
# What a cancelled stream raises besides grpc's CANCELLED status: nothing.
CANCELLED: Tuple[Type[BaseException], ...] = ()


def make_channel(
    target: str, options: Sequence[Tuple[str, Any]], tls: TlsArg, token: Optional[str]
) -> grpc.Channel:
    return _make_channel(target, options, tls, token)


def channel_ready(channel: grpc.Channel, timeout: Optional[float]) -> bool:
    """Whether the channel connected within `timeout` seconds."""
    try:
        grpc.channel_ready_future(channel).result(timeout=timeout)
    except grpc.FutureTimeoutError:
        return False
    return True


def initial_metadata(call: Any, timeout: Optional[float]) -> bool:
    """Whether a stream's headers arrived within `timeout` seconds (waited
    for in a thread: the blocking call has no timeout of its own)."""
    done = threading.Event()

    def wait() -> None:
        try:
            call.initial_metadata()
        finally:
            done.set()

    threading.Thread(target=wait, daemon=True).start()
    return done.wait(timeout)


def sleep(seconds: float) -> None:
    time.sleep(seconds)


def to_thread(fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)`, here: the caller blocks anyway."""
    return fn(*args)


sync_property = property


class Mailbox(Generic[T]):
    """A queue from background work to its reader."""

    def __init__(self) -> None:
        self._queue: queue.Queue[T] = queue.Queue()

    def put(self, item: T) -> None:
        self._queue.put(item)

    def get(self, timeout: Optional[float]) -> T:
        """The next item; TimeoutError after `timeout` seconds (None: no limit)."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError from None


class Background:
    """`work` running beside the caller: a daemon thread."""

    def __init__(self, work: Callable[[], None]) -> None:
        self._thread = threading.Thread(target=work, daemon=True)
        self._thread.start()

    def settle(self) -> None:
        """Nothing to wait for: the thread ends by itself once its input is
        cancelled, and never holds up the caller."""
