"""The daemon's limits on proxies, seen from applications: connections over
--max_proxy_connections are reset when accepted and counted, proxies over
--max_proxies and addresses outside the allow lists are refused with the
flag's name, and the daemon goes on serving."""

from __future__ import annotations

import grpc
import pytest
from harness import Upstream, connect, expect_reset, proxy_when, recv_exactly

from conftest import Daemon, ProxyFactory

MAX_CONNECTIONS = 4
MAX_PROXIES = 2


@pytest.fixture(scope="module")
def daemon_flags() -> list[str]:
    return [
        f"--max_proxy_connections={MAX_CONNECTIONS}",
        f"--max_proxies={MAX_PROXIES}",
        "--proxy_upstream_allow=127.0.0.0/8",
    ]


def test_connections_over_the_limit_are_reset_and_counted(
    daemon: Daemon, make_proxy: ProxyFactory, upstream: Upstream
) -> None:
    proxy = make_proxy(upstream.address)
    held = []
    for i in range(MAX_CONNECTIONS):
        app = connect(proxy)
        up = upstream.accept()
        app.sendall(bytes([i]))
        assert recv_exactly(up, 1) == bytes([i])
        held.append((app, up))
    # The daemon accepts and resets the extra connection at once: the reset
    # can reach the application's socket before its connect() returns.
    try:
        extra = connect(proxy)
    except ConnectionResetError:
        pass
    else:
        expect_reset(extra, "a connection over --max_proxy_connections")
        extra.close()
    p = proxy_when(
        daemon.stub, proxy.id, lambda p: p.counters.connections_refused == 1, "the refusal count"
    )
    assert p.counters.connections_active == MAX_CONNECTIONS
    # One ends; its place can be taken again.
    app, up = held.pop()
    app.close()
    up.close()
    proxy_when(
        daemon.stub,
        proxy.id,
        lambda p: p.counters.connections_active == MAX_CONNECTIONS - 1,
        "a connection to end",
    )
    app = connect(proxy)
    up = upstream.accept()
    app.sendall(b"again")
    assert recv_exactly(up, 5) == b"again"
    held.append((app, up))
    for app, up in held:
        app.close()
        up.close()


def test_proxies_over_the_limit_are_refused(
    daemon: Daemon, make_proxy: ProxyFactory, upstream: Upstream
) -> None:
    for _ in range(MAX_PROXIES):
        make_proxy(upstream.address)
    with pytest.raises(grpc.RpcError) as over:
        make_proxy(upstream.address)
    assert over.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "--max_proxies" in (over.value.details() or "")


def test_addresses_outside_the_allow_lists_are_refused(
    daemon: Daemon, make_proxy: ProxyFactory, upstream: Upstream
) -> None:
    cases = [
        ({"upstream": f"[::1]:{upstream.port}"}, "--proxy_upstream_allow"),
        ({"upstream": upstream.address, "listen": "0.0.0.0:0"}, "--proxy_listen_allow"),
    ]
    for fields, flag in cases:
        target = str(fields.pop("upstream"))
        with pytest.raises(grpc.RpcError) as denied:
            make_proxy(target, **fields)
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED, fields
        assert flag in (denied.value.details() or "")
    daemon.check_alive()
