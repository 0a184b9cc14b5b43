"""redis-server behind a proxy whose link delays each direction by 50 ms:
redis-cli and redis-benchmark (Debian's) talk to it through the proxy, every
reply is right, and every request takes at least the emulated round trip."""

from __future__ import annotations

import csv
import io
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest
from harness import address, get_proxy, ms, wait_for

from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb

from conftest import PATIENCE, Daemon, ProxyFactory, free_port

DELAY_MS = 50
RTT_S = 2 * DELAY_MS / 1000


def need(program: str) -> str:
    path = shutil.which(program)
    assert path is not None, f"{program} is missing (scripts/setup installs redis-server)"
    return path


@pytest.fixture(scope="module")
def redis_port() -> Iterator[int]:
    port = free_port()
    server = subprocess.Popen(
        [
            need("redis-server"),
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    try:

        def ready() -> bool:
            assert server.poll() is None, f"redis-server exited with {server.returncode}"
            ping = subprocess.run(
                [need("redis-cli"), "-p", str(port), "PING"],
                capture_output=True,
                text=True,
                check=False,
            )
            return ping.stdout.strip() == "PONG"

        wait_for(ready, "redis-server to answer PING")
        yield port
    finally:
        server.terminate()
        server.wait(timeout=PATIENCE)


@pytest.fixture
def redis_proxy(daemon: Daemon, make_proxy: ProxyFactory, redis_port: int) -> pb.Proxy:
    return make_proxy(
        f"127.0.0.1:{redis_port}",
        forward=pb.PathSpec(delay=ms(DELAY_MS)),
        reverse=pb.PathSpec(delay=ms(DELAY_MS)),
    )


def test_redis_cli_set_and_get_through_the_proxy(daemon: Daemon, redis_proxy: pb.Proxy) -> None:
    _, port = address(redis_proxy)
    values = {f"key:{i}:{secrets.token_hex(4)}": secrets.token_hex(40) for i in range(100)}
    commands = [f"SET {k} {v}" for k, v in values.items()]
    commands += [f"GET {k}" for k in values]
    start = time.monotonic()
    # One connection, one command at a time: each waits for its reply.
    out = subprocess.run(
        [need("redis-cli"), "-p", str(port)],
        input="\n".join(commands) + "\n",
        capture_output=True,
        text=True,
        check=True,
        timeout=10 * PATIENCE,
    )
    elapsed = time.monotonic() - start
    replies = out.stdout.splitlines()
    assert replies == ["OK"] * len(values) + list(values.values()), out.stderr
    per_request = elapsed / len(commands)
    print(
        f"\nredis-cli: {len(commands)} commands in {elapsed:.2f} s, "
        f"{per_request * 1000:.1f} ms each"
    )
    assert per_request >= RTT_S
    p = get_proxy(daemon.stub, redis_proxy.id)
    assert p.counters.connections_accepted == 1
    assert p.counters.bytes_upstream >= sum(len(c) for c in commands)


def test_redis_cli_latency_is_at_least_the_round_trip(redis_proxy: pb.Proxy) -> None:
    _, port = address(redis_proxy)
    # redis-cli's latency mode: PING after PING on one connection for 3 s,
    # then "min,max,avg,samples" in milliseconds.
    out = subprocess.run(
        [need("redis-cli"), "-p", str(port), "--latency", "--csv", "-i", "3"],
        capture_output=True,
        text=True,
        check=True,
        timeout=PATIENCE,
    )
    low, high, avg, samples = out.stdout.strip().split(",")
    print(f"\nredis-cli --latency: min {low} ms, avg {avg} ms, max {high} ms, {samples} PINGs")
    assert int(samples) >= 5
    assert float(low) >= RTT_S * 1000


def test_redis_benchmark_through_the_proxy(daemon: Daemon, redis_proxy: pb.Proxy) -> None:
    _, port = address(redis_proxy)
    out = subprocess.run(
        [
            need("redis-benchmark"),
            "-p",
            str(port),
            "-n",
            "200",
            "-c",
            "4",
            "-t",
            "set,get",
            "--csv",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=10 * PATIENCE,
    )
    rows = {row["test"]: row for row in csv.DictReader(io.StringIO(out.stdout))}
    assert set(rows) == {"SET", "GET"}, out.stdout + out.stderr
    for name, row in rows.items():
        rps = float(row["rps"])
        low = float(row["min_latency_ms"])
        print(
            f"\nredis-benchmark {name}: {rps:.1f} requests/s, latency min {low} ms, "
            f"p50 {row['p50_latency_ms']} ms, max {row['max_latency_ms']} ms"
        )
        assert rps > 0
        # Every request waited for at least the emulated round trip.
        assert low >= RTT_S * 1000, f"{name}: min latency {low} ms < {RTT_S * 1000} ms"
        # 4 connections with one request each in flight can do no better.
        assert rps <= 4 / RTT_S
    p = get_proxy(daemon.stub, redis_proxy.id)
    assert p.counters.connections_accepted >= 8
    assert p.counters.upstream_failures == 0
