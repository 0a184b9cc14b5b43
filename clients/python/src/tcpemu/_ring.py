"""The replica ring of :class:`tcpemu.ShardedClient` (rendezvous hashing,
DNS resolution, one client per replica); see tcpemu.sharding."""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import socket
import threading
from typing import (
    Any,
    Callable,
    Dict,
    Generic,
    Iterable,
    List,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
    Union,
)

from tcpemu._common import DEFAULT_TARGET
from tcpemu._views import _Bound
from tcpemu.errors import Unavailable

__all__ = ["DEFAULT_PORT", "Targets", "owner", "resolve", "score"]

# The port of a DNS name given without one: tcpemud's default.
DEFAULT_PORT = 50051

Targets = Union[str, Sequence[str], None]


def score(key: str, replica: str) -> int:
    """The rendezvous weight of `replica` for `key`: the first 8 bytes of
    SHA-256(UTF-8(replica) || 0x00 || UTF-8(key)), big-endian."""
    digest = hashlib.sha256(replica.encode() + b"\x00" + key.encode()).digest()
    return int.from_bytes(digest[:8], "big")


def owner(key: str, replicas: Iterable[str]) -> str:
    """The replica that owns `key`: the highest :func:`score`, ties to the
    byte-wise smallest name. ValueError if there is no replica."""
    if not isinstance(key, str):
        raise TypeError(f"a shard key is a str, not {type(key).__name__}")
    best: Optional[str] = None
    best_score = -1
    for r in sorted(set(replicas), key=str.encode):
        s = score(key, r)
        if s > best_score:
            best, best_score = r, s
    if best is None:
        raise ValueError("no replicas")
    return best


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def _split_host_port(hostport: str) -> Optional[Tuple[str, int]]:
    """(host, port) of "host", "host:port", "[v6]", "[v6]:port" or a bare IPv6
    address; None when `hostport` is none of these."""
    if hostport.startswith("["):
        host, sep, rest = hostport[1:].partition("]")
        if not sep or not host:
            return None
        if not rest:
            return host, DEFAULT_PORT
        if not rest.startswith(":"):
            return None
        port = rest[1:]
    elif hostport.count(":") >= 2:
        try:
            ipaddress.IPv6Address(hostport)
        except ValueError:
            return None
        return hostport, DEFAULT_PORT
    else:
        host, sep, port = hostport.partition(":")
        if not sep:
            port = str(DEFAULT_PORT)
    if not host or "/" in host or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    return host, int(port)


def _name(ip: str, port: int) -> str:
    addr = ipaddress.ip_address(ip.partition("%")[0])
    text = str(addr)
    return f"[{text}]:{port}" if addr.version == 6 else f"{text}:{port}"


def resolve(target: str) -> List[str]:
    """The replicas a single target names, as sorted ``"ip:port"`` strings.

    ``"dns:///name:port"`` and ``"name:port"`` are looked up (A and AAAA
    records): if there is any IPv4 address, the IPv4 addresses are the
    replicas, otherwise the IPv6 ones (a dual-stack headless Service lists
    every pod under both). An IP address is itself; a port left out is
    50051. Another scheme (``"unix:/path"``) is one replica, as given.
    Unavailable if the name does not resolve.
    """
    hostport = target
    is_dns = target.startswith("dns:")
    if is_dns:
        hostport = target[len("dns:") :]
        if hostport.startswith("//"):
            authority, _, hostport = hostport[2:].partition("/")
            if authority:
                raise ValueError(
                    f"target {target!r}: a DNS server in the target is not supported; "
                    "use dns:///name:port"
                )
    hp = _split_host_port(hostport)
    if hp is None:
        scheme = _SCHEME.match(target)
        if is_dns or not scheme or target[scheme.end() :].isdigit():
            raise ValueError(f"target {target!r}: expected host:port or dns:///host:port")
        return [target]  # another scheme, for gRPC
    host, port = hp
    try:
        return [_name(host, port)]
    except ValueError:
        pass  # a name, not an address
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as e:
        raise Unavailable(f"cannot resolve {host!r} of target {target!r}: {e}") from None
    v4 = {_name(str(i[4][0]), port) for i in infos if i[0] == socket.AF_INET}
    v6 = {_name(str(i[4][0]), port) for i in infos if i[0] == socket.AF_INET6}
    names = v4 or v6
    if not names:
        raise Unavailable(f"{host!r} of target {target!r} has no address")
    return sorted(names, key=str.encode)


def _target_list(targets: Targets) -> List[str]:
    """The targets as a list: a str is split at commas; None is
    ``$TCPEMU_TARGETS``, else ``$TCPEMU_TARGET``, else 127.0.0.1:50051."""
    if targets is None:
        targets = (
            os.environ.get("TCPEMU_TARGETS") or os.environ.get("TCPEMU_TARGET") or DEFAULT_TARGET
        )
    items = targets.split(",") if isinstance(targets, str) else list(targets)
    out: List[str] = []
    for t in items:
        if not isinstance(t, str):
            raise TypeError(f"a target is a str, not {type(t).__name__}")
        t = t.strip()
        if t and t not in out:
            out.append(t)
    if not out:
        raise ValueError("no targets")
    return out


C = TypeVar("C")


class _Ring(Generic[C]):
    """The replica set and one client per replica, shared by the blocking and
    the asyncio sharded clients. A single target is resolved (see
    :func:`resolve`) and :meth:`_apply` re-resolves it; several are the
    replicas as given."""

    def __init__(self, targets: Targets, make: Callable[[str], C]) -> None:
        entries = _target_list(targets)
        self._make = make
        # The one target that is resolved again on refresh, else None.
        self.source: Optional[str] = entries[0] if len(entries) == 1 else None
        self._lock = threading.Lock()
        self._replicas: Tuple[str, ...] = ()
        # Every replica's client, including replicas a refresh dropped: their
        # handles keep working until close.
        self._clients: Dict[str, C] = {}
        self._apply(resolve(entries[0]) if self.source is not None else entries)

    def _apply(self, names: Sequence[str]) -> List[str]:
        with self._lock:
            for n in names:
                if n not in self._clients:
                    self._clients[n] = self._make(n)
            self._replicas = tuple(sorted(set(names), key=str.encode))
            return list(self._replicas)

    @property
    def replicas(self) -> List[str]:
        """The current replicas' names, sorted."""
        return list(self._replicas)

    def replica_for(self, key: str) -> str:
        """The replica that owns `key` (see :func:`owner`)."""
        return owner(key, self._replicas)

    def for_key(self, key: str) -> C:
        """The client of the replica that owns `key`."""
        name = self.replica_for(key)
        with self._lock:
            return self._clients[name]

    def for_replica(self, name: str) -> C:
        """The client of replica `name` (as in :attr:`replicas`, or a
        resource's ``.replica``); KeyError if this client does not know it."""
        with self._lock:
            try:
                return self._clients[name]
            except KeyError:
                raise KeyError(
                    f"no replica {name!r}; replicas: {', '.join(self._replicas)}"
                ) from None

    def _all_clients(self) -> List[C]:
        with self._lock:
            return list(self._clients.values())

    def _owner_of(self, key: str, resource: Any, what: str) -> C:
        """The client of `key`'s replica, after checking that `resource` (a
        handle, or an id) lives there."""
        name = self.replica_for(key)
        if isinstance(resource, _Bound) and resource.replica != name:
            raise ValueError(
                f"{what} {resource.id} is on replica {resource.replica}, "  # type: ignore[attr-defined]
                f"but key {key!r} belongs to {name}"
            )
        return self.for_replica(name)
