"""TLS, mutual TLS and bearer tokens against real tcpemud processes started
with --tls_cert/--tls_key/--tls_client_ca/--auth_tokens, from the blocking
client, the asyncio client, ShardedClient and the CLI. The certificates are
made for the test session with the openssl command."""

from __future__ import annotations

import asyncio
import os
import pathlib
import shutil
import subprocess
from typing import Iterator, List, Optional

import grpc
import pytest

import tcpemu
import tcpemu.aio
from tcpemu.cli import main

from conftest import Daemon, tcpemud_path

TOKEN = "lab-token-7f3a9c0e5b2d4e6f8a1b"
HEALTH = "/grpc.health.v1.Health/Check"
REFLECTION = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
LIST_SERVICES = b"\x3a\x00"  # ServerReflectionRequest{list_services: ""}


class Pki:
    """A CA, a server certificate for localhost and 127.0.0.1, a client
    certificate, and a second CA with a client certificate of its own."""

    def __init__(self, d: pathlib.Path) -> None:
        self.dir = d
        if shutil.which("openssl") is None:
            pytest.fail("the openssl command is needed to make test certificates")
        (d / "server.ext").write_text(
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
            "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n"
        )
        (d / "client.ext").write_text(
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
            "extendedKeyUsage=clientAuth\n"
        )
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        for ca in ("ca", "other-ca"):
            self._openssl(
                "req", "-x509", *ec, "-days", "2", "-subj", f"/CN={ca}",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                "-keyout", f"{ca}.key", "-out", f"{ca}.pem",
            )  # fmt: skip
        for leaf, ca, ext in (
            ("server", "ca", "server.ext"),
            ("client", "ca", "client.ext"),
            ("stranger", "other-ca", "client.ext"),
        ):
            self._openssl(
                "req", *ec, "-subj", f"/CN={leaf}", "-keyout", f"{leaf}.key", "-out", f"{leaf}.csr"
            )  # fmt: skip
            self._openssl(
                "x509", "-req", "-in", f"{leaf}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
                "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", f"{leaf}.pem",
            )  # fmt: skip

    def _openssl(self, *args: str) -> None:
        proc = subprocess.run(["openssl", *args], cwd=self.dir, capture_output=True, text=True)
        assert proc.returncode == 0, f"openssl {' '.join(args)}:\n{proc.stderr}"

    def __call__(self, name: str) -> str:
        return str(self.dir / name)

    def tls(self, ca: str = "ca", client: Optional[str] = None) -> tcpemu.TLS:
        if client is None:
            return tcpemu.TLS(ca=self(f"{ca}.pem"))
        cert, key = self(f"{client}.pem"), self(f"{client}.key")
        return tcpemu.TLS(ca=self(f"{ca}.pem"), cert=cert, key=key)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def token_file(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    p = tmp_path_factory.mktemp("tokens") / "tokens"
    p.write_text(f"# tokens of the lab\n\n{TOKEN}\nanother-token-for-ci\n")
    return p


def _daemon(*flags: str) -> Iterator[Daemon]:
    d = Daemon("--shards", "1", *flags)
    yield d
    rc = d.stop()
    assert rc == 0, f"tcpemud exited {rc} on SIGTERM:\n{''.join(d.log)}"


@pytest.fixture(scope="module")
def plain_tokens(token_file: pathlib.Path) -> Iterator[Daemon]:
    yield from _daemon("--auth_tokens", str(token_file))


@pytest.fixture(scope="module")
def plain_tokens_closed(token_file: pathlib.Path) -> Iterator[Daemon]:
    yield from _daemon(
        "--auth_tokens", str(token_file), "--auth_health", "--auth_reflection"
    )


@pytest.fixture(scope="module")
def tls_only(pki: Pki) -> Iterator[Daemon]:
    yield from _daemon("--tls_cert", pki("server.pem"), "--tls_key", pki("server.key"))


@pytest.fixture(scope="module")
def mtls_tokens(pki: Pki, token_file: pathlib.Path) -> Iterator[Daemon]:
    yield from _daemon(
        "--tls_cert", pki("server.pem"), "--tls_key", pki("server.key"),
        "--tls_client_ca", pki("ca.pem"), "--auth_tokens", str(token_file),
    )  # fmt: skip


def _generic(
    channel: grpc.Channel, method: str, body: bytes, token: Optional[str] = None
) -> bytes:
    """A health (unary) or reflection (stream) call with raw bytes."""
    md = [("authorization", f"Bearer {token}")] if token else None
    if method == HEALTH:
        return bytes(channel.unary_unary(method)(body, timeout=10, metadata=md))
    replies = channel.stream_stream(method)(iter([body]), timeout=10, metadata=md)
    return b"".join(replies)


def _code(fn: object) -> grpc.StatusCode:
    assert callable(fn)
    with pytest.raises(grpc.RpcError) as info:
        fn()
    return info.value.code()  # type: ignore[no-any-return]


# ---------------------------------------------------------------- tokens


def test_token_required_on_plaintext(plain_tokens: Daemon) -> None:
    t = plain_tokens.target
    with tcpemu.Client(t) as client, pytest.raises(tcpemu.Unauthenticated) as info:
        client.networks()
    assert info.value.message == "missing bearer token"
    assert info.value.code == grpc.StatusCode.UNAUTHENTICATED
    assert isinstance(info.value, PermissionError)
    with tcpemu.Client(t, token="not-" + TOKEN) as client, pytest.raises(
        tcpemu.Unauthenticated
    ) as info:
        client.networks()
    assert info.value.message == "invalid bearer token"

    with tcpemu.Client(t, token=TOKEN) as client:
        before = len(client.networks())
        with tcpemu.Client(t) as anonymous, pytest.raises(tcpemu.Unauthenticated):
            anonymous.create_network("virtual")
        assert len(client.networks()) == before  # the rejected call did nothing
        net = client.create_network("virtual", seed=5)
        try:
            link = net.create_link(delay="5ms")
            session = link.open_session(capture=True)
            with client.events(network=net) as stream:  # a server stream
                assert stream.wait_subscribed(10)
                net.advance("100ms")
                assert next(iter(stream)) is not None
            assert client.export_pcap(session, pathlib.Path(os.devnull)) > 0
        finally:
            net.delete()
    with tcpemu.Client(t, token="another-token-for-ci") as client:
        client.networks()


def test_streams_need_the_token(plain_tokens: Daemon) -> None:
    with tcpemu.Client(plain_tokens.target) as client, pytest.raises(tcpemu.Unauthenticated):
        list(client.events())


def test_health_and_reflection_open_by_default(plain_tokens: Daemon) -> None:
    with grpc.insecure_channel(plain_tokens.target) as ch:
        assert _generic(ch, HEALTH, b"") == b"\x08\x01"  # SERVING
        assert b"tcpemu.v1.Emulator" in _generic(ch, REFLECTION, LIST_SERVICES)


def test_health_and_reflection_behind_the_token(plain_tokens_closed: Daemon) -> None:
    with grpc.insecure_channel(plain_tokens_closed.target) as ch:
        for method, body in ((HEALTH, b""), (REFLECTION, LIST_SERVICES)):
            code = _code(lambda m=method, b=body: _generic(ch, m, b))
            assert code == grpc.StatusCode.UNAUTHENTICATED, method
            code = _code(lambda m=method, b=body: _generic(ch, m, b, "wrong"))
            assert code == grpc.StatusCode.UNAUTHENTICATED, method
        assert _generic(ch, HEALTH, b"", TOKEN) == b"\x08\x01"
        assert b"tcpemu.v1.Emulator" in _generic(ch, REFLECTION, LIST_SERVICES, TOKEN)


def test_bad_token_values_are_refused_locally() -> None:
    for bad in ("", "two words", "tab\tinside", "caf\u00e9"):
        with pytest.raises(ValueError, match="token"):
            tcpemu.Client("127.0.0.1:1", token=bad)
    with pytest.raises(ValueError, match="channel"):
        tcpemu.Client("127.0.0.1:1", channel=grpc.insecure_channel("127.0.0.1:1"), token="x")


# ---------------------------------------------------------------- TLS


def test_tls(pki: Pki, tls_only: Daemon) -> None:
    t = tls_only.target
    with tcpemu.Client(t, tls=pki.tls()) as client:
        assert client.networks()
    # The CA as bytes, and the name checked given explicitly.
    ca = pathlib.Path(pki("ca.pem")).read_bytes()
    with tcpemu.Client(t, tls=tcpemu.TLS(ca=ca, server_name="localhost")) as client:
        assert client.networks()
    # Plaintext to a TLS port; a CA that did not sign the daemon's certificate;
    # the system's CAs; a name the certificate does not carry.
    for tls in (
        None,
        pki.tls("other-ca"),
        True,
        tcpemu.TLS(ca=ca, server_name="elsewhere.example"),
    ):
        with tcpemu.Client(t, timeout=5, tls=tls) as client, pytest.raises(tcpemu.Unavailable):
            client.networks()


def test_tls_settings_errors(pki: Pki) -> None:
    with pytest.raises(ValueError, match="cert and key go together"):
        tcpemu.TLS(ca=pki("ca.pem"), cert=pki("client.pem"))
    with pytest.raises(ValueError, match=r"ca: .*missing\.pem"):
        tcpemu.Client("127.0.0.1:1", tls=tcpemu.TLS(ca=pki("missing.pem")))
    with pytest.raises(ValueError, match="no PEM"):
        tcpemu.Client("127.0.0.1:1", tls=tcpemu.TLS(ca=pki("server.ext")))


def test_mutual_tls_and_tokens(pki: Pki, mtls_tokens: Daemon) -> None:
    t = mtls_tokens.target
    with tcpemu.Client(t, tls=pki.tls(client="client"), token=TOKEN) as client:
        net = client.create_network("virtual")
        net.delete()
    # The certificate alone is not enough: the token is still needed.
    with tcpemu.Client(t, tls=pki.tls(client="client")) as client, pytest.raises(
        tcpemu.Unauthenticated, match="missing bearer token"
    ):
        client.networks()
    with tcpemu.Client(t, tls=pki.tls(client="client"), token="wrong") as client, pytest.raises(
        tcpemu.Unauthenticated, match="invalid bearer token"
    ):
        client.networks()
    # Without a client certificate, or with one another CA signed, the
    # handshake fails, token or not.
    for tls in (pki.tls(), pki.tls(client="stranger")):
        with tcpemu.Client(t, timeout=5, tls=tls, token=TOKEN) as client, pytest.raises(
            tcpemu.Unavailable
        ):
            client.networks()


def test_sharded_client_passes_tls_and_token(pki: Pki, mtls_tokens: Daemon) -> None:
    with tcpemu.ShardedClient(
        [mtls_tokens.target], tls=pki.tls(client="client"), token=TOKEN
    ) as sharded:
        net = sharded.create_network(key="lab-1", clock="virtual")
        net.delete()


# ---------------------------------------------------------------- asyncio


def test_aio_tokens_and_mutual_tls(pki: Pki, plain_tokens: Daemon, mtls_tokens: Daemon) -> None:
    async def run() -> None:
        async with tcpemu.aio.Client(plain_tokens.target) as client:
            with pytest.raises(tcpemu.Unauthenticated, match="missing bearer token"):
                await client.networks()
        async with tcpemu.aio.Client(plain_tokens.target, token="nope") as client:
            with pytest.raises(tcpemu.Unauthenticated, match="invalid bearer token"):
                await client.networks()
        mtls = pki.tls("ca", "client")
        for target, tls in ((plain_tokens.target, None), (mtls_tokens.target, mtls)):
            async with tcpemu.aio.Client(target, tls=tls, token=TOKEN) as client:
                net = await client.create_network(clock="virtual", seed=2)
                try:
                    link = await net.create_link(delay="5ms")
                    stream = client.events(network=net)  # a server stream
                    assert await stream.wait_subscribed(10)
                    await link.open_session()
                    await net.advance("100ms")
                    first = await stream.__anext__()
                    assert first is not None
                    stream.cancel()
                finally:
                    await net.delete()
        no_cert = pki.tls()
        async with tcpemu.aio.Client(mtls_tokens.target, 5, tls=no_cert, token=TOKEN) as c:
            with pytest.raises(tcpemu.Unavailable):
                await c.networks()

    asyncio.run(run())


# ---------------------------------------------------------------- CLI


def test_cli_token_file_and_env(
    plain_tokens: Daemon,
    token_file: pathlib.Path,
    tmp_path: pathlib.Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    t = plain_tokens.target
    monkeypatch.delenv("TCPEMU_TOKEN", raising=False)
    assert main(["--target", t, "network", "list"]) == 1
    assert "missing bearer token" in capsys.readouterr().err
    mine = tmp_path / "token"
    mine.write_text(TOKEN + "\n")
    assert main(["--target", t, "--token-file", str(mine), "network", "list"]) == 0
    monkeypatch.setenv("TCPEMU_TOKEN", TOKEN)
    assert main(["--target", t, "network", "list"]) == 0
    monkeypatch.setenv("TCPEMU_TOKEN", "wrong")
    assert main(["--target", t, "network", "list"]) == 1
    assert "invalid bearer token" in capsys.readouterr().err
    # --token-file wins over the environment.
    assert main(["--target", t, "--token-file", str(mine), "network", "list"]) == 0
    assert main(["--target", t, "--token-file", str(tmp_path / "none"), "network", "list"]) == 2
    assert "--token-file" in capsys.readouterr().err


def test_cli_mutual_tls(
    pki: Pki,
    mtls_tokens: Daemon,
    tmp_path: pathlib.Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    t = mtls_tokens.target
    monkeypatch.setenv("TCPEMU_TOKEN", TOKEN)
    ca = ["--tls-ca", pki("ca.pem")]
    cert = ["--tls-cert", pki("client.pem")]
    key = ["--tls-key", pki("client.key")]
    assert main(["--target", t, *ca, *cert, *key, "network", "list"]) == 0
    capsys.readouterr()
    assert main(["--target", t, "--timeout", "5", *ca, "network", "list"]) == 1
    assert main(["--target", t, *ca, *cert, "network", "list"]) == 2
    assert "--tls-cert and --tls-key" in capsys.readouterr().err
    assert main(["--target", t, "--tls-ca", str(tmp_path / "no.pem"), "network", "list"]) == 2
    assert "--tls-ca" in capsys.readouterr().err


# ---------------------------------------------------------------- tcpemud flags


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--tls_cert", "@server.pem"], "--tls_cert and --tls_key"),
        (["--tls_cert", "@missing.pem", "--tls_key", "@server.key"], "--tls_cert"),
        (["--tls_cert", "@server.key", "--tls_key", "@server.key"], "--tls_cert"),
        (["--tls_cert", "@server.pem", "--tls_key", "@client.key"], "--tls_key"),
        (
            [
                *("--tls_cert", "@server.pem", "--tls_key", "@server.key"),
                *("--tls_client_ca", "@server.ext"),
            ],
            "--tls_client_ca",
        ),
        (["--tls_client_ca", "@ca.pem"], "--tls_client_ca"),
        (["--auth_tokens", "@missing"], "--auth_tokens"),
        (["--auth_tokens", "@spaced-tokens"], "--auth_tokens"),
        (["--auth_tokens", "@comments-only"], "--auth_tokens"),
        (["--auth_health"], "--auth_health"),
        (["--auth_reflection"], "--auth_reflection"),
    ],
)
def test_daemon_refuses_bad_security_flags(pki: Pki, flags: List[str], named: str) -> None:
    path = tcpemud_path()
    if not os.access(path, os.X_OK):
        pytest.skip(f"tcpemud not found at {path}")
    (pki.dir / "spaced-tokens").write_text("good-token\ntwo words\n")
    (pki.dir / "comments-only").write_text("# none yet\n\n")
    args = [pki(f[1:]) if f.startswith("@") else f for f in flags]
    proc = subprocess.run(
        [str(path), "--listen", "127.0.0.1:0", "--metrics_listen", "", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2, proc.stderr
    assert named in proc.stderr
    assert "two words" not in proc.stderr  # tokens are never echoed
