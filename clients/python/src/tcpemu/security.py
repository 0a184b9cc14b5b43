"""Transport security and bearer tokens: how the clients reach a tcpemud run
with ``--tls_cert``/``--tls_key`` (TLS), ``--tls_client_ca`` (mutual TLS) or
``--auth_tokens`` (a token on every call).

    tls = tcpemu.TLS(ca="ca.pem", cert="client.pem", key="client.key")
    with tcpemu.Client("tcpemu.lab:50051", tls=tls, token=token) as client:
        ...

The token travels as ``authorization: Bearer <token>`` metadata on every
call: as gRPC call credentials over TLS, and through a client interceptor over
plaintext (a daemon inside the same pod, say), where anyone on the path can
read it.
"""

from __future__ import annotations

import collections
import os
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Sequence, Tuple, Union

import grpc
import grpc.aio

__all__ = ["TLS", "PemSource", "TlsArg", "check_token", "read_token_file"]

PemSource = Union[str, bytes, os.PathLike[str]]
"""PEM data: a path to a file (str or PathLike), or the PEM bytes themselves."""

ChannelOptions = Sequence[Tuple[str, Any]]


def _read_pem(source: Optional[PemSource], what: str) -> Optional[bytes]:
    if source is None:
        return None
    if isinstance(source, bytes):
        data = source
    else:
        path = os.fspath(source)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise ValueError(f"TLS {what}: {path}: {e.strerror or e}") from None
    if b"-----BEGIN " not in data:
        raise ValueError(f"TLS {what}: no PEM data (-----BEGIN ...) in it")
    return data


@dataclass(frozen=True)
class TLS:
    """TLS to tcpemud.

    `ca`: the CA certificates that signed the daemon's certificate; None
    trusts the system's roots. `cert` and `key`: this client's certificate
    chain and private key, for a daemon run with ``--tls_client_ca`` (mutual
    TLS); both or neither. Each is a file path or the PEM bytes. `server_name`:
    the name to check the daemon's certificate against when it is not the
    target's host (connecting by IP address, or to one replica of several).
    """

    ca: Optional[PemSource] = None
    cert: Optional[PemSource] = None
    key: Optional[PemSource] = None
    server_name: Optional[str] = None

    def __post_init__(self) -> None:
        if (self.cert is None) != (self.key is None):
            raise ValueError("TLS: cert and key go together (both for mutual TLS, or neither)")

    def credentials(self) -> grpc.ChannelCredentials:
        """The gRPC channel credentials; ValueError names an unreadable file."""
        return grpc.ssl_channel_credentials(
            root_certificates=_read_pem(self.ca, "ca"),
            private_key=_read_pem(self.key, "key"),
            certificate_chain=_read_pem(self.cert, "cert"),
        )

    def channel_options(self) -> List[Tuple[str, Any]]:
        if self.server_name:
            return [("grpc.ssl_target_name_override", self.server_name)]
        return []


TlsArg = Union[TLS, bool, None]
"""A :class:`TLS`, True (TLS trusting the system's roots), or None/False
(plaintext)."""


def _tls(tls: TlsArg) -> Optional[TLS]:
    if tls is None or tls is False:
        return None
    if tls is True:
        return TLS()
    if isinstance(tls, TLS):
        return tls
    raise TypeError(f"tls: a tcpemu.TLS, True or None, not {type(tls).__name__}")


def check_token(token: str) -> str:
    """`token` if it can travel in a header: printable ASCII without spaces;
    ValueError otherwise (the message does not repeat the token)."""
    if not token:
        raise ValueError("token: empty")
    if any(not (0x21 <= ord(c) <= 0x7E) for c in token):
        raise ValueError("token: printable ASCII without spaces expected")
    return token


def read_token_file(path: Union[str, os.PathLike[str]]) -> str:
    """The token in a file (surrounding whitespace stripped); ValueError names
    the file when it cannot be read or holds no token."""
    p = os.fspath(path)
    try:
        with open(p, encoding="ascii", errors="strict") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) else "not ASCII"
        raise ValueError(f"token file {p}: {reason or e}") from None
    token = text.strip()
    if not token:
        raise ValueError(f"token file {p}: empty")
    try:
        return check_token(token)
    except ValueError as e:
        raise ValueError(f"token file {p}: {e}") from None


# ------------------------------------------------------------ plaintext tokens

_Details = collections.namedtuple(
    "_Details", ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression")
)


class _CallDetails(_Details, grpc.ClientCallDetails):  # type: ignore[misc]
    pass


def _with_token(metadata: Any, header: str) -> List[Tuple[str, Any]]:
    out = [(k, v) for k, v in (metadata or ()) if k != "authorization"]
    out.append(("authorization", header))
    return out


class _TokenInterceptor(
    grpc.UnaryUnaryClientInterceptor,  # type: ignore[misc]
    grpc.UnaryStreamClientInterceptor,  # type: ignore[misc]
    grpc.StreamUnaryClientInterceptor,  # type: ignore[misc]
    grpc.StreamStreamClientInterceptor,  # type: ignore[misc]
):
    """Adds the token to every call of a plaintext channel (gRPC refuses call
    credentials without TLS)."""

    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def _details(self, d: Any) -> _CallDetails:
        return _CallDetails(
            d.method,
            d.timeout,
            _with_token(d.metadata, self._header),
            d.credentials,
            getattr(d, "wait_for_ready", None),
            getattr(d, "compression", None),
        )

    def intercept_unary_unary(self, continuation: Callable[..., Any], d: Any, req: Any) -> Any:
        return continuation(self._details(d), req)

    def intercept_unary_stream(self, continuation: Callable[..., Any], d: Any, req: Any) -> Any:
        return continuation(self._details(d), req)

    def intercept_stream_unary(self, continuation: Callable[..., Any], d: Any, reqs: Any) -> Any:
        return continuation(self._details(d), reqs)

    def intercept_stream_stream(self, continuation: Callable[..., Any], d: Any, reqs: Any) -> Any:
        return continuation(self._details(d), reqs)


def _aio_details(d: Any, header: str) -> Any:
    return grpc.aio.ClientCallDetails(
        d.method, d.timeout, _with_token(d.metadata, header), d.credentials, d.wait_for_ready
    )


class _AioUnaryUnary(grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    def __init__(self, header: str) -> None:
        self._header = header

    async def intercept_unary_unary(
        self, continuation: Callable[..., Any], d: Any, req: Any
    ) -> Any:
        return await continuation(_aio_details(d, self._header), req)


class _AioUnaryStream(grpc.aio.UnaryStreamClientInterceptor):  # type: ignore[misc]
    def __init__(self, header: str) -> None:
        self._header = header

    async def intercept_unary_stream(
        self, continuation: Callable[..., Any], d: Any, req: Any
    ) -> Any:
        return await continuation(_aio_details(d, self._header), req)


class _AioStreamUnary(grpc.aio.StreamUnaryClientInterceptor):  # type: ignore[misc]
    def __init__(self, header: str) -> None:
        self._header = header

    async def intercept_stream_unary(
        self, continuation: Callable[..., Any], d: Any, reqs: Any
    ) -> Any:
        return await continuation(_aio_details(d, self._header), reqs)


class _AioStreamStream(grpc.aio.StreamStreamClientInterceptor):  # type: ignore[misc]
    def __init__(self, header: str) -> None:
        self._header = header

    async def intercept_stream_stream(
        self, continuation: Callable[..., Any], d: Any, reqs: Any
    ) -> Any:
        return await continuation(_aio_details(d, self._header), reqs)


# ------------------------------------------------------------ channels


def _secure_parts(
    tls: TLS, token: Optional[str], options: ChannelOptions
) -> Tuple[grpc.ChannelCredentials, List[Tuple[str, Any]]]:
    creds = tls.credentials()
    if token is not None:
        creds = grpc.composite_channel_credentials(
            creds, grpc.access_token_call_credentials(token)
        )
    return creds, list(options) + tls.channel_options()


def make_channel(
    target: str, options: ChannelOptions, tls: TlsArg = None, token: Optional[str] = None
) -> grpc.Channel:
    """A blocking channel to `target`: TLS per `tls`, `token` on every call."""
    t = _tls(tls)
    if token is not None:
        check_token(token)
    if t is not None:
        creds, opts = _secure_parts(t, token, options)
        return grpc.secure_channel(target, creds, options=opts)
    channel = grpc.insecure_channel(target, options=list(options))
    if token is not None:
        channel = grpc.intercept_channel(channel, _TokenInterceptor(token))
    return channel


def make_aio_channel(
    target: str, options: ChannelOptions, tls: TlsArg = None, token: Optional[str] = None
) -> grpc.aio.Channel:
    """An asyncio channel to `target`: TLS per `tls`, `token` on every call."""
    t = _tls(tls)
    if token is not None:
        check_token(token)
    if t is not None:
        creds, opts = _secure_parts(t, token, options)
        return grpc.aio.secure_channel(target, creds, options=opts)
    interceptors = None
    if token is not None:
        header = f"Bearer {token}"
        interceptors = [
            _AioUnaryUnary(header),
            _AioUnaryStream(header),
            _AioStreamUnary(header),
            _AioStreamStream(header),
        ]
    return grpc.aio.insecure_channel(target, options=list(options), interceptors=interceptors)
