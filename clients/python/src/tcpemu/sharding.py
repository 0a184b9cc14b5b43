"""Several tcpemud replicas behind one client: :class:`ShardedClient`.

Each replica is an independent daemon: its network, link, session and
interface ids are its own, so a resource lives on exactly one replica and an
id alone does not name it. A caller-given key (an experiment, a tenant, a
test's name) picks the replica with rendezvous (highest-random-weight)
hashing, the same in the Go client (``tcpemu.DialSharded``)::

    score(key, replica) = the first 8 bytes of
                          SHA-256(UTF-8(replica) || 0x00 || UTF-8(key)),
                          as a big-endian unsigned 64-bit integer
    owner(key, replicas) = the replica with the highest score (on a tie,
                           the byte-wise smallest name)

A replica's name is its target as given (``"tcpemu-0.tcpemu-headless:50051"``)
or, for a resolved DNS name, ``"10.1.2.3:50051"`` / ``"[fd00::3]:50051"``.
Adding a replica moves only the keys it now wins, about 1/n of them, all to
it; removing one moves only the keys it owned. The order of the targets does
not matter.

Handles (networks, links, sessions, interfaces) returned through a sharded
client are bound to their replica's channel: every later call on them goes
to the replica that holds the resource, and ``handle.replica`` names it.
"""

from __future__ import annotations

from tcpemu._ring import DEFAULT_PORT, Targets, owner, resolve, score
from tcpemu.client import ShardedClient

__all__ = ["DEFAULT_PORT", "ShardedClient", "Targets", "owner", "resolve", "score"]
