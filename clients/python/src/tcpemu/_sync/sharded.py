# Generated from tcpemu/_async/sharded.py by tools/gen_sync.py (unasync): do not
# edit. Change the asyncio module and run 'python tools/gen_sync.py' in
# clients/python.
""":class:`ShardedClient`: a client per tcpemud replica and a stable choice of
replica per key (see tcpemu.sharding)."""

from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple, Union

import tcpemu._sync_support as _support
from tcpemu._sync.client import Client
from tcpemu._sync.handles import Link, Network, Session
from tcpemu._ring import Targets, _Ring, resolve
from tcpemu.security import TlsArg


class ShardedClient(_Ring[Client]):
    """A :class:`tcpemu.Client` per tcpemud replica, and a stable choice of
    replica per key.

    `targets`: a list of ``"host:port"`` (or a str of them separated by
    commas), each one replica, named as given; or a single DNS name
    (``"dns:///tcpemu-headless.ns.svc:50051"`` or ``"tcpemu-headless:50051"``)
    resolved now to its addresses, one replica each (see :func:`resolve`),
    and again by :meth:`refresh`. None: ``$TCPEMU_TARGETS``, else
    ``$TCPEMU_TARGET``. `timeout`, `options`, `tls` and `token` are each
    client's (with TLS, a DNS name resolved to addresses needs
    ``TLS(server_name=...)``: the replicas are reached by address).

    :meth:`for_key` returns the owner's :class:`~tcpemu.Client`, whose
    handles stay bound to that replica. Ids are per replica: keep a
    resource's ``.replica`` with its id, and come back with
    ``for_replica(replica).session(id)``.

    ``tcpemu.aio.ShardedClient`` has an :class:`aio.Client
    <tcpemu.aio.Client>` per replica and the calls as coroutines; its
    constructor resolves a DNS name blocking, once, and :meth:`refresh` in a
    thread.
    """

    def __init__(
        self,
        targets: Targets = None,
        timeout: Optional[float] = 10.0,
        *,
        options: Sequence[Tuple[str, Any]] = (),
        tls: TlsArg = None,
        token: Optional[str] = None,
    ) -> None:
        self.timeout = timeout
        super().__init__(
            targets, lambda name: Client(name, timeout, options=options, tls=tls, token=token)
        )

    def __repr__(self) -> str:
        return (
            f"{_support.REPR_PREFIX}ShardedClient(replicas={self.replicas!r}, "
            f"timeout={self.timeout!r})"
        )

    def __enter__(self) -> ShardedClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Closes every replica's channel."""
        for c in self._all_clients():
            c.close()

    def refresh(self) -> List[str]:
        """Resolves the DNS name again and returns the replicas: new ones get
        a client, and the keys they win move to them; replicas no longer
        listed leave the ring (their handles keep working until
        :meth:`close`). With a list of targets it changes nothing."""
        if self.source is None:
            return self.replicas
        return self._apply(_support.to_thread(resolve, self.source))

    def wait_ready(self, timeout: Optional[float] = None) -> None:
        """Waits until every replica's channel is connected (each within
        `timeout`); Unavailable names the first that is not."""
        for name in self.replicas:
            self.for_replica(name).wait_ready(timeout)

    def create_network(
        self, *, key: str, clock: Union[str, int] = "realtime", seed: int = 0
    ) -> Network:
        """:meth:`Client.create_network` on the replica that owns `key`."""
        return self.for_key(key).create_network(clock, seed)

    def create_link(self, *args: Any, key: str, **kwargs: Any) -> Link:
        """:meth:`Client.create_link` on the replica that owns `key`; a
        `network` handle must be on that replica (ValueError otherwise)."""
        client = self._owner_of(key, kwargs.get("network"), "network")
        return client.create_link(*args, **kwargs)

    def open_session(self, link: Union[int, Link], *, key: str, **kwargs: Any) -> Session:
        """:meth:`Client.open_session` on the replica that owns `key`, across
        `link` there (a handle must be on that replica: ValueError otherwise)."""
        return self._owner_of(key, link, "link").open_session(link, **kwargs)
