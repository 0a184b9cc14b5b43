"""A thousand connections through one proxy at once, each echoing its own
payload off an asyncio server: every payload comes back intact, and the
proxy counts them all open together."""

from __future__ import annotations

import asyncio
import random
import resource
import time

from harness import address, get_proxy, ms, proxy_when

from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb

from conftest import PATIENCE, Daemon, ProxyFactory

N = 1000
DELAY_MS = 10


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(1 << 16):
            writer.write(chunk)
            await writer.drain()
    finally:
        writer.close()


async def through_proxy(daemon: Daemon, make_proxy: ProxyFactory) -> None:
    server = await asyncio.start_server(echo, "127.0.0.1", 0, backlog=2 * N)
    port = server.sockets[0].getsockname()[1]
    proxy = make_proxy(
        f"127.0.0.1:{port}",
        forward=pb.PathSpec(delay=ms(DELAY_MS)),
        reverse=pb.PathSpec(delay=ms(DELAY_MS)),
    )
    host, listen_port = address(proxy)
    rng = random.Random(1000)
    payloads = [f"{i:06d}:".encode() + rng.randbytes(rng.randrange(1, 8192)) for i in range(N)]
    echoed = 0
    all_echoed = asyncio.Event()
    release = asyncio.Event()

    async def client(i: int) -> bytes:
        nonlocal echoed
        reader, writer = await asyncio.open_connection(host, listen_port)
        try:
            writer.write(payloads[i])
            await writer.drain()
            got = await reader.readexactly(len(payloads[i]))
            echoed += 1
            if echoed == N:
                all_echoed.set()
            # Every connection stays open until all have been echoed.
            await release.wait()
            writer.write_eof()
            rest = await reader.read()
            return got + rest
        finally:
            writer.close()

    start = time.monotonic()
    async with server:
        tasks = [asyncio.ensure_future(client(i)) for i in range(N)]
        try:
            # Until every payload is back, no connection may end: one that
            # does failed.
            everyone = asyncio.ensure_future(all_echoed.wait())
            ended, _ = await asyncio.wait(
                [everyone, *tasks], timeout=4 * PATIENCE, return_when=asyncio.FIRST_COMPLETED
            )
            for t in ended:
                if t is not everyone:
                    raise AssertionError(f"a connection ended early: {t.exception()!r}")
            assert all_echoed.is_set(), f"only {echoed} of {N} payloads echoed"
            print(f"\n{N} connections open and echoed in {time.monotonic() - start:.2f} s")
            active = await asyncio.to_thread(
                lambda: get_proxy(daemon.stub, proxy.id).counters.connections_active
            )
            assert active == N, f"{active} connections open at once, not {N}"
            release.set()
            results = await asyncio.wait_for(asyncio.gather(*tasks), 4 * PATIENCE)
        finally:
            for t in tasks:
                t.cancel()
    bad = [i for i, got in enumerate(results) if got != payloads[i]]
    assert not bad, f"{len(bad)} payloads came back wrong, the first of connection {bad[0]}"

    total = sum(len(p) for p in payloads)
    counters = proxy_when(
        daemon.stub,
        proxy.id,
        lambda p: p.counters.connections_active == 0,
        "every connection to end",
    ).counters
    assert counters.connections_accepted == N
    assert counters.connections_refused == 0
    assert counters.upstream_failures == 0
    assert counters.bytes_upstream == total
    assert counters.bytes_downstream == total


def test_a_thousand_concurrent_connections_all_intact(
    daemon: Daemon, make_proxy: ProxyFactory
) -> None:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert soft == resource.RLIM_INFINITY or soft >= 2 * N + 100, (
        f"RLIMIT_NOFILE {soft} is too low for {N} connections and their upstreams"
    )
    asyncio.run(through_proxy(daemon, make_proxy))
