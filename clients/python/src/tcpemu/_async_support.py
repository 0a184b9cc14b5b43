"""The asyncio side of what the two clients do differently: channels,
waiting, sleeping, background work and queues. aio.py uses it; the blocking
client generated from aio.py (tools/gen_sync.py) uses tcpemu._sync_support,
which has the same names done with threads."""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, Generic, Optional, Sequence, Tuple, Type, TypeVar

import grpc
import grpc.aio

from tcpemu.security import TlsArg, make_aio_channel

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

# Prefix of the handles' reprs: "aio.Client(...)".
REPR_PREFIX = "aio."
Channel = grpc.aio.Channel
# What a cancelled stream raises, besides grpc's CANCELLED status.
CANCELLED: Tuple[Type[BaseException], ...] = (asyncio.CancelledError,)


def make_channel(
    target: str, options: Sequence[Tuple[str, Any]], tls: TlsArg, token: Optional[str]
) -> grpc.aio.Channel:
    return make_aio_channel(target, options, tls, token)


async def channel_ready(channel: grpc.aio.Channel, timeout: Optional[float]) -> bool:
    """Whether the channel connected within `timeout` seconds."""
    try:
        await asyncio.wait_for(channel.channel_ready(), timeout)
    except asyncio.TimeoutError:
        return False
    return True


async def initial_metadata(call: Any, timeout: Optional[float]) -> bool:
    """Whether a stream's headers arrived within `timeout` seconds."""
    try:
        await asyncio.wait_for(call.initial_metadata(), timeout)
    except asyncio.TimeoutError:
        return False
    return True


async def sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


async def to_thread(fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)` in a thread, for blocking work such as a DNS lookup."""
    return await asyncio.to_thread(fn, *args)


def sync_property(f: F) -> F:
    """A property in the blocking client; a coroutine method here."""
    return f


class Mailbox(Generic[T]):
    """A queue from background work to its reader."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[T] = asyncio.Queue()

    def put(self, item: T) -> None:
        self._queue.put_nowait(item)

    async def get(self, timeout: Optional[float]) -> T:
        """The next item; TimeoutError after `timeout` seconds (None: no limit)."""
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except asyncio.TimeoutError:
            raise TimeoutError from None


class Background:
    """`work` running beside the caller: an asyncio task."""

    def __init__(self, work: Callable[[], Awaitable[None]]) -> None:
        self._task = asyncio.ensure_future(work())

    async def settle(self) -> None:
        """Waits for the work to end (after its input was cancelled)."""
        await asyncio.gather(self._task, return_exceptions=True)
