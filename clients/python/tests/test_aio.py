"""The asyncio flavour: the same calls as coroutines."""

from __future__ import annotations

import asyncio

import pytest

import tcpemu
import tcpemu.aio


def test_aio_flow(target):
    async def main():
        async with tcpemu.aio.Client(target) as client:
            await client.wait_ready(10)
            net = await client.create_network(clock="virtual", seed=1)
            try:
                link = await net.create_link(delay="10ms", rate="20Mbit", loss=0.01)
                session = await link.open_session(digest=True, client=tcpemu.TcpConfig(msl="100ms"))
                stream = session.events()
                assert await stream.wait_subscribed(10)
                snap = await session.wait_for("ESTABLISHED")
                assert snap.client.state == "ESTABLISHED"
                left = 500_000
                while left:
                    left -= await session.write(fill=left)
                    await net.advance("10ms")
                assert await session.close() in ("FIN_WAIT_1", "FIN_WAIT_2")
                result = await net.advance_until_idle()
                assert result.idle
                events = [e async for e in stream]
                snap = await session.snapshot()
                return snap, events, await link.refresh()
            finally:
                await net.delete()

    snap, events, link = asyncio.run(main())
    assert snap.destroyed and snap.server.bytes_read == 500_000
    assert snap.client.write_sha256 == snap.server.read_sha256
    assert events[-1].kind == tcpemu.pb.EVENT_KIND_SESSION_DESTROYED
    assert link.forward_counters.packets_delivered > 300


def test_aio_errors_and_cancel(target):
    async def main():
        async with tcpemu.aio.Client(target) as client:
            with pytest.raises(tcpemu.NotFound, match="session_id 424242 not found"):
                await client.session(424242)
            with pytest.raises(tcpemu.FailedPrecondition, match="REALTIME"):
                await client.advance(0, "1ms")
            net = await client.create_network("realtime")
            try:
                stream = net.events()
                task = asyncio.ensure_future(_drain(stream))
                await asyncio.sleep(0.3)
                assert not task.done()
                stream.cancel()
                assert await asyncio.wait_for(task, 5) == 0
                assert stream.cancelled
            finally:
                await net.delete()

    asyncio.run(main())


async def _drain(stream):
    n = 0
    async for _ in stream:
        n += 1
    return n
