"""Several replicas: the replica hash against the test vector shared with the
Go client, how targets are read and resolved, and a ShardedClient over two
live daemons."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import json
import socket
import subprocess
import sys
import time

import pytest

import tcpemu
import tcpemu.aio
from tcpemu import sharding

from conftest import PACKAGE_ROOT, REPO_ROOT

VECTOR = REPO_ROOT / "clients" / "testdata" / "replica_hash.json"


def reference_owner(key, targets):
    """The hash from its definition, independent of the package."""

    def score(replica):
        return int.from_bytes(
            hashlib.sha256(replica.encode() + b"\x00" + key.encode()).digest()[:8], "big"
        )

    return max(sorted(set(targets), key=str.encode), key=score)  # max keeps the first on a tie


# ------------------------------------------------------------ the hash


def test_vector_is_fresh():
    gen = PACKAGE_ROOT / "tools" / "gen_replica_hash.py"
    proc = subprocess.run([sys.executable, str(gen), "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_vector_scores():
    vector = json.loads(VECTOR.read_text(encoding="utf-8"))
    assert vector["scores"]
    for s in vector["scores"]:
        assert f"{sharding.score(s['key'], s['replica']):016x}" == s["score"], s


def test_vector_owners():
    vector = json.loads(VECTOR.read_text(encoding="utf-8"))
    assert len(vector["cases"]) >= 3
    for case in vector["cases"]:
        targets = case["targets"]
        with tcpemu.ShardedClient(targets) as sharded:  # channels connect lazily: no daemon
            assert sharded.replicas == sorted(targets, key=str.encode)
            for key, want in case["owners"].items():
                assert sharded.replica_for(key) == want, (key, targets)
                assert sharding.owner(key, list(reversed(targets))) == want
                assert sharding.owner(key, targets + targets[:1]) == want
                assert reference_owner(key, targets) == want


def test_adding_a_replica_moves_a_third_of_the_keys_to_it():
    two = ["tcpemu-0.tcpemu-headless:50051", "tcpemu-1.tcpemu-headless:50051"]
    three = [*two, "tcpemu-2.tcpemu-headless:50051"]
    keys = [f"key-{i}" for i in range(10_000)]
    before = {k: sharding.owner(k, two) for k in keys}
    after = {k: sharding.owner(k, three) for k in keys}
    moved = [k for k in keys if before[k] != after[k]]
    assert {after[k] for k in moved} == {three[2]}  # only to the new replica
    assert 0.28 < len(moved) / len(keys) < 0.38, len(moved)
    counts = collections.Counter(after.values())
    assert all(0.28 < counts[r] / len(keys) < 0.38 for r in three), counts
    # Removing it again moves back exactly the keys it owned.
    assert {k: sharding.owner(k, two) for k in keys} == before


def test_owner_errors():
    with pytest.raises(ValueError, match="no replicas"):
        sharding.owner("k", [])
    with pytest.raises(TypeError, match="a shard key is a str"):
        sharding.owner(42, ["a:1"])  # type: ignore[arg-type]


# ------------------------------------------------------------ targets


def test_target_lists(monkeypatch):
    with tcpemu.ShardedClient("b:1, a:1,b:1") as sharded:
        assert sharded.replicas == ["a:1", "b:1"]
        assert sharded.source is None
        assert sharded.refresh() == ["a:1", "b:1"]
        assert sharded.for_key("x").target == sharded.replica_for("x")
        with pytest.raises(KeyError, match="no replica 'c:1'"):
            sharded.for_replica("c:1")
    monkeypatch.setenv("TCPEMU_TARGETS", "h-0:50051,h-1:50051")
    with tcpemu.ShardedClient() as sharded:
        assert sharded.replicas == ["h-0:50051", "h-1:50051"]
    monkeypatch.delenv("TCPEMU_TARGETS")
    monkeypatch.setenv("TCPEMU_TARGET", "127.0.0.1:5")
    with tcpemu.ShardedClient() as sharded:
        assert sharded.replicas == ["127.0.0.1:5"]
    with pytest.raises(ValueError, match="no targets"):
        tcpemu.ShardedClient([" "])


def test_resolve_forms():
    assert sharding.resolve("127.0.0.1:7") == ["127.0.0.1:7"]
    assert sharding.resolve("10.0.0.1") == ["10.0.0.1:50051"]
    assert sharding.resolve("[::1]:7") == ["[::1]:7"]
    assert sharding.resolve("[FD00:0::1]") == ["[fd00::1]:50051"]
    assert sharding.resolve("fd00::1") == ["[fd00::1]:50051"]
    assert sharding.resolve("dns:///127.0.0.1:7") == ["127.0.0.1:7"]
    assert sharding.resolve("dns:localhost:7") == ["127.0.0.1:7"]  # IPv4 first
    assert sharding.resolve("unix:///run/tcpemu.sock") == ["unix:///run/tcpemu.sock"]
    with pytest.raises(ValueError, match="DNS server in the target"):
        sharding.resolve("dns://10.0.0.53/tcpemu-headless:50051")
    with pytest.raises(ValueError, match="expected host:port"):
        sharding.resolve("dns:///tcpemu-headless:http")
    with pytest.raises(ValueError, match="expected host:port"):
        sharding.resolve("tcpemu-headless:99999")


def _records(*ips):
    def getaddrinfo(host, port, *args, **kwargs):
        assert host == "tcpemu-headless.ns.svc"
        out = []
        for ip in ips:
            family = socket.AF_INET6 if ":" in ip else socket.AF_INET
            addr = (ip, port, 0, 0) if family == socket.AF_INET6 else (ip, port)
            out.append((family, socket.SOCK_STREAM, 6, "", addr))
        return out

    return getaddrinfo


def test_dns_name_and_refresh(monkeypatch):
    # A dual-stack headless Service: every pod twice, as A and as AAAA.
    monkeypatch.setattr(
        socket, "getaddrinfo", _records("10.1.0.7", "fd00::7", "10.1.0.5", "fd00::5", "10.1.0.5")
    )
    keys = [f"k-{i}" for i in range(300)]
    with tcpemu.ShardedClient("dns:///tcpemu-headless.ns.svc:50051") as sharded:
        assert sharded.source == "dns:///tcpemu-headless.ns.svc:50051"
        assert sharded.replicas == ["10.1.0.5:50051", "10.1.0.7:50051"]
        before = {k: sharded.replica_for(k) for k in keys}
        old = sharded.for_replica("10.1.0.7:50051")

        # Scaled out: a third pod; then scaled in: one of the first two goes.
        monkeypatch.setattr(socket, "getaddrinfo", _records("10.1.0.5", "10.1.0.7", "10.1.0.9"))
        assert sharded.refresh() == ["10.1.0.5:50051", "10.1.0.7:50051", "10.1.0.9:50051"]
        moved = {k for k in keys if sharded.replica_for(k) != before[k]}
        assert moved and {sharded.replica_for(k) for k in moved} == {"10.1.0.9:50051"}

        monkeypatch.setattr(socket, "getaddrinfo", _records("10.1.0.5", "10.1.0.9"))
        assert sharded.refresh() == ["10.1.0.5:50051", "10.1.0.9:50051"]
        assert "10.1.0.7:50051" not in {sharded.replica_for(k) for k in keys}
        # The dropped replica's client (and so its handles) stays until close.
        assert sharded.for_replica("10.1.0.7:50051") is old

        # IPv6 only: the AAAA records are the replicas.
        monkeypatch.setattr(socket, "getaddrinfo", _records("fd00::5", "fd00::9"))
        assert sharded.refresh() == ["[fd00::5]:50051", "[fd00::9]:50051"]

        def fail(*args, **kwargs):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

        monkeypatch.setattr(socket, "getaddrinfo", fail)
        with pytest.raises(tcpemu.Unavailable, match=r"cannot resolve 'tcpemu-headless\.ns\.svc'"):
            sharded.refresh()
        assert sharded.replicas == ["[fd00::5]:50051", "[fd00::9]:50051"]


# ------------------------------------------------------------ live replicas


def _on(client, network_id, ports):
    """The sessions of a network on one daemon, by (client port, server port)."""
    return {
        (s.proto.client.port, s.proto.server.port): s.proto
        for s in client.sessions(network=network_id)
        if (s.proto.client.port, s.proto.server.port) in ports
    }


def test_sessions_spread_over_two_replicas(replicas):
    targets = [d.target for d in replicas]
    keys = [f"s-{i}" for i in range(100)]
    ports = {k: (20000 + i, 30000 + i) for i, k in enumerate(keys)}
    written = {k: 1000 + i for i, k in enumerate(keys)}
    with contextlib.ExitStack() as stack:
        sharded = stack.enter_context(tcpemu.ShardedClient(targets, timeout=20))
        direct = {t: stack.enter_context(tcpemu.Client(t, timeout=20)) for t in targets}
        sharded.wait_ready(10)
        assert sharded.replicas == sorted(targets, key=str.encode)

        owners = {k: sharded.replica_for(k) for k in keys}
        assert owners == {k: reference_owner(k, targets) for k in keys}
        counts = collections.Counter(owners.values())
        assert all(30 <= counts[t] <= 70 for t in targets), counts

        # A REALTIME network of the test's own on each replica.
        nets = {t: sharded.for_replica(t).create_network("realtime") for t in targets}
        stack.callback(lambda: [n.delete() for n in nets.values()])
        assert all(n.replica == t for t, n in nets.items())

        quick = tcpemu.TcpConfig(nodelay=True, msl="20ms")
        sessions = {}
        for k in keys:
            link = sharded.create_link(key=k, network=nets[owners[k]], delay="1ms")
            cport, sport = ports[k]
            s = sharded.open_session(
                link, key=k, client=quick, server=quick, client_port=cport, server_port=sport
            )
            assert s.replica == link.replica == owners[k]
            sessions[k] = s

        # Each session exists on its owner, and on no other replica.
        for t in targets:
            mine = {ports[k] for k in keys if owners[k] == t}
            assert set(_on(direct[t], nets[t].id, set(ports.values()))) == mine
            everywhere = [
                (s.proto.client.port, s.proto.server.port) for s in direct[t].sessions()
            ]
            assert set(everywhere) & set(ports.values()) == mine

        for k, s in sessions.items():
            snap = s.wait_for("ESTABLISHED", "server", timeout=10)
            assert (snap.client.port, snap.server.port) == ports[k]  # GetSession: the owner's
            assert s.write(fill=written[k], push=True, wait="5s") == written[k]

        deadline = time.monotonic() + 20
        for t in targets:
            mine = {ports[k]: k for k in keys if owners[k] == t}
            while True:
                found = _on(direct[t], nets[t].id, set(mine))
                if all(p.server.bytes_read == written[mine[pp]] for pp, p in found.items()):
                    break
                assert time.monotonic() < deadline, "bytes did not arrive at the owner"
                time.sleep(0.02)
            for pp, p in found.items():
                assert p.client.bytes_written == written[mine[pp]]

        for s in sessions.values():
            assert s.close() in ("FIN_WAIT_1", "FIN_WAIT_2", "TIME_WAIT")
        for t in targets:
            mine = {ports[k] for k in keys if owners[k] == t}
            for p in _on(direct[t], nets[t].id, mine).values():
                assert p.client.tcb.state != tcpemu.pb.TCP_STATE_ESTABLISHED, p.client.port


def test_key_and_handle_on_different_replicas(replicas):
    targets = [d.target for d in replicas]
    with tcpemu.ShardedClient(targets) as sharded:
        keys = {sharded.replica_for(f"k-{i}"): f"k-{i}" for i in range(20)}
        assert len(keys) == 2
        a, b = (keys[t] for t in sharded.replicas)
        net = sharded.create_network(key=a, clock="virtual")
        try:
            with pytest.raises(ValueError, match=f"network {net.id} is on replica"):
                sharded.create_link(key=b, network=net)
            link = sharded.create_link(key=a, network=net)
            with pytest.raises(ValueError, match=f"but key '{b}' belongs to"):
                sharded.open_session(link, key=b)
            # An id and a key: the key's replica, where the id means this link.
            session = sharded.open_session(link.id, key=a)
            assert session.replica == net.replica == sharded.replica_for(a)
            assert sharded.for_replica(session.replica).session(session.id).link_id == link.id
        finally:
            net.delete()


def test_dns_target_live(daemon):
    port = daemon.target.rsplit(":", 1)[1]
    with tcpemu.ShardedClient(f"dns:///localhost:{port}") as sharded:
        assert sharded.replicas == [f"127.0.0.1:{port}"]
        net = sharded.create_network(key="exp-42", clock="virtual", seed=1)
        try:
            link = sharded.create_link(key="exp-42", network=net, delay="5ms")
            session = sharded.open_session(link, key="exp-42")
            assert session.wait_for("ESTABLISHED").client.state == "ESTABLISHED"
            assert sharded.refresh() == [f"127.0.0.1:{port}"]
        finally:
            net.delete()


def test_aio_sharded(replicas):
    targets = [d.target for d in replicas]

    async def main():
        async with tcpemu.aio.ShardedClient(",".join(targets)) as sharded:
            await sharded.wait_ready(10)
            out = {}
            nets = {}
            try:
                for k in ("exp-1", "exp-2", "exp-3", "exp-4"):
                    r = sharded.replica_for(k)
                    if r not in nets:
                        nets[r] = await sharded.create_network(key=k, clock="virtual")
                    link = await sharded.create_link(key=k, network=nets[r], delay="2ms")
                    session = await sharded.open_session(link, key=k)
                    await session.wait_for("ESTABLISHED")
                    snap = await sharded.for_replica(session.replica).session(session.id)
                    out[k] = (session.replica, snap.replica, link.replica)
            finally:
                for n in nets.values():
                    await n.delete()
            return out

    got = asyncio.run(main())
    for k, (r1, r2, r3) in got.items():
        assert r1 == r2 == r3 == sharding.owner(k, targets)
