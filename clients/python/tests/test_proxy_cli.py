"""tcpemu proxy: the command against a live tcpemud, with real connections
through the proxies it creates."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import uuid

import pytest
from test_proxy import _Echo, _Server, exchange, recv_exactly, wait_until

import tcpemu
from tcpemu.cli import main


def run(capsys, target, *argv):
    rc = main(["--target", target, *argv])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture(scope="module")
def echo():
    with _Server(("127.0.0.1", 0), _Echo) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        yield f"127.0.0.1:{server.server_address[1]}"
        server.shutdown()


@pytest.fixture
def name(client):
    made = f"cli-{uuid.uuid4().hex[:12]}"
    yield made
    with contextlib.suppress(tcpemu.NotFound):
        client.delete_proxy(made)


def _connect(address: str) -> socket.socket:
    host, _, port = address.rpartition(":")
    sock = socket.create_connection((host, int(port)), timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def test_create_get_list_update_delete(capsys, client, target, rnet, echo, name):
    n = str(rnet.id)
    rc, out, err = run(
        capsys,
        target,
        "proxy",
        "create",
        name,
        "--network",
        n,
        "--upstream",
        echo,
        "--delay",
        "20ms",
        "--loss",
        "0%",
        "--reverse",
        "rate=50Mbit",
        "--downstream-tcp",
        "nodelay=true",
        "--json",
    )
    assert rc == 0, err
    d = json.loads(out)
    assert d["name"] == name and d["network_id"] == rnet.id and d["upstream"] == echo
    assert d["enabled"] is True and d["owns_link"] is True
    assert d["downstream_tcp"]["nodelay"] is True
    address = d["listen_address"]
    assert re.fullmatch(r"127\.0\.0\.1:\d+", address)
    link = client.link(d["link_id"])
    assert link.forward.delay.ToMilliseconds() == 20 and link.reverse.rate_bps == 50_000_000

    with _connect(address) as sock:
        exchange(sock)
        assert exchange(sock) >= 0.040

    rc, out, _ = run(capsys, target, "proxy", "get", name)
    assert rc == 0
    lines = out.splitlines()
    assert lines[0].startswith(f"proxy {name} (id {d['id']}, network {n}): {address} -> {echo}")
    assert "enabled" in lines[0] and "(its own)" in lines[0]
    assert f"  listening on {address} (given as 127.0.0.1:0)" in lines
    assert "  connections: 1 accepted" in out
    assert "  toxics: none" in lines
    assert "  forward (application -> upstream): delay 20ms" in out
    assert "  reverse (upstream -> application): delay 20ms, rate 50Mbit" in out

    rc, out, _ = run(capsys, target, "proxy", "list", "--network", n, "--json")
    assert rc == 0 and [p["name"] for p in json.loads(out)] == [name]
    rc, out, _ = run(capsys, target, "proxy", "list", "--network", n)
    assert rc == 0 and out.startswith(f"proxy {name} (id {d['id']}, network {n})")

    rc, out, _ = run(capsys, target, "proxy", "sessions", name, "--json")
    assert rc == 0
    (session,) = json.loads(out)
    assert session["proxy_id"] == d["id"] and session["upstream_peer"] == echo

    rc, out, _ = run(capsys, target, "proxy", "update", name, "--disable", "--json")
    assert rc == 0 and json.loads(out)["enabled"] is False
    with pytest.raises(ConnectionRefusedError):
        _connect(address).close()
    rc, out, _ = run(capsys, target, "proxy", "update", name, "--enable", "--delay", "60ms")
    assert rc == 0 and "  forward (application -> upstream): delay 60ms" in out
    address = re.search(r"listening on (\S+)", out).group(1)
    with _connect(address) as sock:
        exchange(sock)
        assert exchange(sock) >= 0.120

    rc, out, _ = run(capsys, target, "proxy", "delete", name)
    assert rc == 0 and out.strip() == f"proxy {name} deleted"
    rc, _, err = run(capsys, target, "proxy", "get", name)
    assert rc == 1 and err.strip() == f'tcpemu: proxy "{name}" not found'


def test_quiet_prints_the_address(capsys, target, rnet, echo, name):
    rc, out, _ = run(
        capsys, target, "proxy", "create", name, "--network", str(rnet.id), "--upstream", echo, "-q"
    )
    assert rc == 0
    with _connect(out.strip()) as sock:
        sock.sendall(b"hello")
        assert recv_exactly(sock, 5) == b"hello"


def test_toxic_commands(capsys, client, target, rnet, echo, name):
    rnet.create_proxy(name, upstream=echo)
    rc, out, err = run(
        capsys,
        target,
        "proxy",
        "toxic",
        "add",
        name,
        "--type",
        "latency",
        "--attr",
        "latency=400ms,jitter=10ms",
        "--json",
    )
    assert rc == 0, err
    d = json.loads(out)
    assert d["name"] == "latency_downstream" and d["stream"] == "downstream"
    assert d["latency"] == {"latency": "0.400s", "jitter": "0.010s"}
    rc, out, _ = run(
        capsys,
        target,
        "proxy",
        "toxic",
        "add",
        name,
        "-t",
        "bandwidth",
        "-a",
        "rate=10Mbit",
        "-s",
        "upstream",
        "-n",
        "narrow",
        "--toxicity",
        "100%",
    )
    assert rc == 0
    assert out.strip() == f"proxy {name}: toxic narrow: bandwidth upstream, rate 10Mbit, toxicity 1"
    rc, out, _ = run(capsys, target, "proxy", "toxic", "list", name)
    assert rc == 0
    assert out.splitlines() == [  # the daemon reports the default toxicity, 1
        "latency_downstream: latency downstream, latency 400ms, jitter 10ms, toxicity 1",
        "narrow: bandwidth upstream, rate 10Mbit, toxicity 1",
    ]
    proxy = client.proxy(name)
    with socket.create_connection(proxy.address, timeout=30) as sock:
        exchange(sock)
        assert exchange(sock) >= 0.390  # 400 ms +/- 10 ms

    rc, out, _ = run(capsys, target, "proxy", "toxic", "remove", name, "latency_downstream")
    assert rc == 0 and out.strip() == f"proxy {name}: toxic latency_downstream removed"
    rc, out, _ = run(capsys, target, "proxy", "toxic", "list", name, "--json")
    assert [t["name"] for t in json.loads(out)] == ["narrow"]

    rc, _, err = run(capsys, target, "proxy", "toxic", "remove", name, "nope")
    assert rc == 1 and f'toxic "nope" not found in proxy "{name}"' in err
    rc, _, err = run(
        capsys, target, "proxy", "toxic", "add", name, "-t", "latency", "-a", "latency=50"
    )
    assert rc == 2 and err.startswith("tcpemu: latency: '50' is not a valid duration")
    rc, _, err = run(capsys, target, "proxy", "toxic", "add", name, "-t", "timeout", "-a", "x=1")
    assert rc == 2 and "unknown attribute 'x'; allowed: timeout" in err


def test_watch_prints_its_connections(capsys, target, rnet, echo, name):
    proxy = rnet.create_proxy(name, upstream=echo, delay="1ms")
    with socket.create_connection(proxy.address, timeout=30) as sock:
        exchange(sock)
    (session,) = wait_until("the session is listed", proxy.sessions)
    rc, out, _ = run(capsys, target, "proxy", "watch", name, "--replay", "--count", "5", "--json")
    assert rc == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == 5
    assert {r["session_id"] for r in records} == {session.id}
    rc, out, _ = run(
        capsys, target, "proxy", "watch", name, "--replay", "--count", "2", "--kind", "segment_sent"
    )
    assert rc == 0
    lines = out.splitlines()
    assert len(lines) == 2 and all(f" s{session.id} sent " in line for line in lines)


def test_errors(capsys, target, rnet, echo, name):
    rc, _, err = run(
        capsys, target, "proxy", "create", name, "--upstream", "192.0.2.1:80", "--network", "0"
    )
    assert rc == 1 and "--proxy_upstream_allow" in err
    rc, _, err = run(
        capsys, target, "proxy", "create", name, "--upstream", echo, "--link", "1", "--delay", "1ms"
    )
    assert rc == 2 and "give link= or path settings" in err
    rc, _, err = run(capsys, target, "proxy", "update", "whatever")
    assert rc == 2 and "proxy update: nothing to change" in err
