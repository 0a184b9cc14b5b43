"""A kernel TCP peer for the interop tests, run inside a network namespace.

    peer.py sink   --bind ADDR --port P [--close-after N] [--progress SECONDS]
    peer.py source --connect ADDR --port P --bytes N [--seed S] [--wait-eof]
    peer.py source --bind ADDR --port P --bytes N [--seed S]   (accepts first)
    peer.py unread --bind ADDR --port P [--hold SECONDS]

sink accepts one connection, reads to end of stream (or N bytes, then closes
first) and prints {"bytes": n, "sha256": hex}; with --progress it also
prints {"t": time.monotonic(), "bytes": n} when a read ends at least that
long after the last such line (and once at accept). source sends N bytes of a
seeded pattern and closes (with --wait-eof: after the other side closed),
printing the same. unread accepts, reads nothing,
and closes after --hold seconds: the kernel answers unread data with RST.
Every mode prints "ready" on stderr once it listens or connects, and reports
"seconds" from accept (or connect) to the end of the transfer; --no-hash
leaves sha256 empty, for benchmarks.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import socket
import sys
import time

BLOCK = 1 << 20


def pattern(seed: int) -> bytes:
    return random.Random(seed).randbytes(BLOCK)


def listen(addr: str, port: int) -> socket.socket:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(4)
    print("ready", file=sys.stderr, flush=True)
    return s


class NoHash:
    def update(self, _: bytes) -> None:
        pass

    def hexdigest(self) -> str:
        return ""


START = [0.0]


def report(n: int, h) -> None:
    seconds = time.monotonic() - START[0]
    print(
        json.dumps({"bytes": n, "sha256": h.hexdigest(), "seconds": seconds}),
        flush=True,
    )


def hasher(args: argparse.Namespace):
    return NoHash() if args.no_hash else hashlib.sha256()


def sink(args: argparse.Namespace) -> None:
    s = listen(args.bind, args.port)
    c, _ = s.accept()
    START[0] = time.monotonic()
    h = hasher(args)
    n = 0
    shown = START[0]
    if args.progress:
        print(json.dumps({"t": shown, "bytes": 0}), flush=True)
    while args.close_after == 0 or n < args.close_after:
        want = BLOCK if args.close_after == 0 else min(BLOCK, args.close_after - n)
        b = c.recv(want)
        if not b:
            break
        h.update(b)
        n += len(b)
        if args.progress and time.monotonic() - shown >= args.progress:
            shown = time.monotonic()
            print(json.dumps({"t": shown, "bytes": n}), flush=True)
    if args.close_after:
        # Closes first; then drains until the peer's FIN so that nothing
        # unread turns the close into an RST.
        c.shutdown(socket.SHUT_WR)
        while c.recv(BLOCK):
            pass
    c.close()
    report(n, h)


def source(args: argparse.Namespace) -> None:
    if args.connect:
        c = socket.socket()
        if args.cc:
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, args.cc.encode())
        c.settimeout(30)
        c.connect((args.connect, args.port))
        # Without timestamps on the path, the kernel takes no RTT sample from
        # a resent segment (Karn), so its RTO can stay backed off for a while
        # under heavy loss; the caller's own deadline bounds the transfer.
        c.settimeout(None)
        print("ready", file=sys.stderr, flush=True)
    else:
        s = listen(args.bind, args.port)
        c, _ = s.accept()
    block = pattern(args.seed)
    START[0] = time.monotonic()
    h = hasher(args)
    left = args.bytes
    sent = 0
    while left > 0:
        if args.seconds and time.monotonic() - START[0] >= args.seconds:
            break
        piece = block[: min(left, 64 << 10)]
        c.sendall(piece)
        h.update(piece)
        left -= len(piece)
        sent += len(piece)
    if args.wait_eof:
        # The other side closes first.
        while c.recv(BLOCK):
            pass
        c.shutdown(socket.SHUT_WR)
    else:
        c.shutdown(socket.SHUT_WR)
        while c.recv(BLOCK):
            pass
    c.close()
    report(sent, h)


def unread(args: argparse.Namespace) -> None:
    s = listen(args.bind, args.port)
    c, _ = s.accept()
    time.sleep(args.hold)
    c.close()
    print(json.dumps({"closed": True}), flush=True)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["sink", "source", "unread"])
    p.add_argument("--bind", default="")
    p.add_argument("--connect", default="")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--bytes", type=int, default=0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--close-after", type=int, default=0)
    p.add_argument("--hold", type=float, default=1.0)
    p.add_argument("--wait-eof", action="store_true")
    p.add_argument("--no-hash", action="store_true")
    p.add_argument("--seconds", type=float, default=0)  # source: stop sending
    p.add_argument("--cc", default="")  # source --connect: TCP_CONGESTION
    p.add_argument("--progress", type=float, default=0)  # sink: report every S
    args = p.parse_args()
    {"sink": sink, "source": source, "unread": unread}[args.mode](args)


if __name__ == "__main__":
    main()
