"""Exceptions raised by tcpemu: one class per gRPC status the daemon uses.

Each keeps the daemon's message (``str(err)`` and ``err.message``), which
names the offending field and the accepted range, and the status code
(``err.code``). The classes also derive from the closest built-in exception,
so ``except ValueError`` catches an :class:`InvalidArgument` too.
"""

from __future__ import annotations

from typing import Optional

import grpc

__all__ = [
    "AlreadyExists",
    "Cancelled",
    "DeadlineExceeded",
    "FailedPrecondition",
    "Internal",
    "InvalidArgument",
    "NotFound",
    "PermissionDenied",
    "ResourceExhausted",
    "TcpemuError",
    "Unauthenticated",
    "Unavailable",
    "from_rpc_error",
]


class TcpemuError(Exception):
    """Base class of every error from the daemon or this client."""

    def __init__(self, message: str, code: Optional[grpc.StatusCode] = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class InvalidArgument(TcpemuError, ValueError):
    """A request field is out of range or malformed (INVALID_ARGUMENT)."""


class NotFound(TcpemuError, LookupError):
    """No network, link or session with that id (NOT_FOUND)."""


class AlreadyExists(TcpemuError):
    """The resource exists already (ALREADY_EXISTS)."""


class FailedPrecondition(TcpemuError):
    """The call does not fit the resource's state (FAILED_PRECONDITION), e.g.
    AdvanceTime on a REALTIME network or a write to a closed session."""


class PermissionDenied(TcpemuError, PermissionError):
    """The daemon's configuration forbids the request (PERMISSION_DENIED),
    e.g. a proxy address outside --proxy_listen_allow or
    --proxy_upstream_allow; the message names the flag."""


class ResourceExhausted(TcpemuError):
    """A daemon limit was reached (RESOURCE_EXHAUSTED)."""


class Unauthenticated(TcpemuError, PermissionError):
    """The daemon wants a bearer token and got none or an unknown one
    (UNAUTHENTICATED): see the ``token`` option of the clients."""


class Unavailable(TcpemuError, ConnectionError):
    """The daemon cannot be reached or is shutting down (UNAVAILABLE)."""


class DeadlineExceeded(TcpemuError, TimeoutError):
    """The call's deadline passed, or a wait ran out of time."""


class Cancelled(TcpemuError):
    """The call was cancelled (CANCELLED)."""


class Internal(TcpemuError):
    """The daemon failed internally (INTERNAL, UNKNOWN, DATA_LOSS)."""


_BY_CODE: dict[grpc.StatusCode, type[TcpemuError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.OUT_OF_RANGE: InvalidArgument,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhausted,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
    grpc.StatusCode.CANCELLED: Cancelled,
    grpc.StatusCode.INTERNAL: Internal,
    grpc.StatusCode.UNKNOWN: Internal,
    grpc.StatusCode.DATA_LOSS: Internal,
}


def from_rpc_error(err: grpc.RpcError) -> TcpemuError:
    """Converts a grpc.RpcError (sync or aio) to the matching TcpemuError."""
    code_fn = getattr(err, "code", None)
    details_fn = getattr(err, "details", None)
    code = code_fn() if callable(code_fn) else None
    message = details_fn() if callable(details_fn) else None
    if not message:
        message = str(code.name if isinstance(code, grpc.StatusCode) else err)
    cls = _BY_CODE.get(code, TcpemuError) if code is not None else TcpemuError
    out = cls(message, code)
    return out
