"""Client.open_sessions: many sessions in one OpenSessions call, all or nothing."""

from __future__ import annotations

import asyncio

import pytest

import tcpemu
import tcpemu.aio


def test_open_sessions_in_order(client, vnet):
    links = [vnet.create_link(delay="1ms") for _ in range(2)]
    items = [links[0], links[1].id, {"link": links[0], "server_port": 7001}]
    sessions = client.open_sessions(items, client=tcpemu.TcpConfig(timestamps=False))
    assert [s.link_id for s in sessions] == [links[0].id, links[1].id, links[0].id]
    assert len({s.id for s in sessions}) == 3
    vnet.advance("50ms")
    snaps = [s.snapshot() for s in sessions]
    assert all(s.client.state == "ESTABLISHED" and s.server.state == "ESTABLISHED" for s in snaps)
    assert snaps[2].server.port == 7001
    # The common argument reached every item: no timestamps, so a full MSS.
    assert all(s.client.mss == 1460 for s in snaps)


def test_open_sessions_all_or_nothing(client, vnet):
    link = vnet.create_link()
    dup = {"link": link, "client_port": 42000, "server_port": 7100}
    with pytest.raises(
        tcpemu.AlreadyExists, match=r"sessions\[1\]: a session with client_port 42000"
    ):
        client.open_sessions([dup, dup])
    with pytest.raises(tcpemu.NotFound, match=r"sessions\[1\]\.link_id 987654 not found"):
        client.open_sessions([link, 987654])
    assert client.open_sessions([dup])[0].link_id == link.id  # nothing stayed open
    with pytest.raises(
        tcpemu.InvalidArgument, match=r"sessions: 1001 requests, allowed \[1, 1000\]"
    ):
        client.open_sessions([link] * 1001)
    with pytest.raises(TypeError, match="items"):
        client.open_sessions([link], link=link)


def test_open_sessions_aio(target):
    async def main():
        async with tcpemu.aio.Client(target) as c:
            net = await c.create_network("virtual", seed=5)
            try:
                link = await net.create_link(delay="1ms")
                sessions = await c.open_sessions([link] * 20)
                await net.advance("50ms")
                return [(await s.snapshot()).server.state for s in sessions]
            finally:
                await net.delete()

    assert asyncio.run(main()) == ["ESTABLISHED"] * 20
