#!/usr/bin/env python3
"""Events per second that the tcpemu Python iterator consumes from one
WatchEvents stream.

One session on a VIRTUAL network moves --bytes across a lossless link
(1 ms, 1 Gbit/s) while another thread (or process, --producer process)
writes and advances the clock in --step increments; the main thread iterates
Session.events() and counts every event until SESSION_DESTROYED. The figure
is events received / wall seconds from the first to the last event; events
the daemon dropped because the reader fell behind are reported as lost.

    python bench/events_bench.py                      # starts $TCPEMUD itself
    python bench/events_bench.py --target 127.0.0.1:50051
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from typing import Optional

import grpc
from google.protobuf import __version__ as protobuf_version

import tcpemu

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_TCPEMUD = os.path.join(HERE, "..", "..", "..", "build", "server", "tcpemud")


def start_daemon(path: str, event_queue: int) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [
            path,
            "--listen",
            "127.0.0.1:0",
            "--metrics_listen",
            "",
            "--shards",
            "1",
            "--event_queue",
            str(event_queue),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        m = re.search(r"serving gRPC on port (\d+)", line)
        if m:
            threading.Thread(target=proc.stderr.read, daemon=True).start()
            return proc, f"127.0.0.1:{m.group(1)}"
    raise SystemExit(f"{path} did not start")


def produce(target: str, network_id: int, session_id: int, nbytes: int, step: str) -> None:
    with tcpemu.Client(target, timeout=60) as client:
        session = client.session(session_id)
        left = nbytes
        while True:
            if left:
                left -= session.write(fill=left)
            client.advance(network_id, step)
            if left == 0 and session.snapshot().server.bytes_read >= nbytes:
                break
        session.close("client")
        client.advance_until_idle(network_id)


def run(target: str, nbytes: int, step: str, max_batch: int, producer: str) -> dict[str, float]:
    with tcpemu.Client(target, timeout=60) as client:
        net = client.create_network("virtual", seed=1)
        try:
            link = net.create_link(delay="1ms", rate="1Gbit")
            session = link.open_session(client={"msl": "1ms"}, server={"msl": "1ms"})
            stream = session.events(max_batch=max_batch)
            if not stream.wait_subscribed(10):
                raise SystemExit("the event stream never answered")
            args = (target, net.id, session.id, nbytes, step)
            worker: threading.Thread | multiprocessing.Process
            if producer == "process":
                worker = multiprocessing.get_context("spawn").Process(target=produce, args=args)
            else:
                worker = threading.Thread(target=produce, args=args)
            count = 0
            lost = 0
            first: Optional[float] = None
            worker.start()
            for item in stream:
                if first is None:
                    first = time.perf_counter()
                if isinstance(item, tcpemu.Gap):
                    lost += item.lost
                else:
                    count += 1
            elapsed = time.perf_counter() - (first or time.perf_counter())
            worker.join()
            snap = session.snapshot()
            assert snap.server.bytes_read == nbytes, snap.server.bytes_read
            return {"events": count, "lost": lost, "seconds": elapsed}
        finally:
            net.delete()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--target", help="a running tcpemud (default: start $TCPEMUD)")
    p.add_argument("--tcpemud", default=os.environ.get("TCPEMUD", DEFAULT_TCPEMUD))
    p.add_argument("--event-queue", type=int, default=65536, help="when starting tcpemud")
    p.add_argument("--bytes", default="64MiB")
    p.add_argument("--step", default="5ms", help="virtual time per AdvanceTime call")
    p.add_argument("--max-batch", type=int, default=0, help="events per batch (0: daemon's)")
    p.add_argument("--producer", choices=("thread", "process"), default="thread")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()

    proc = None
    target = args.target
    if target is None:
        proc, target = start_daemon(os.path.abspath(args.tcpemud), args.event_queue)
    try:
        nbytes = tcpemu.parse_size(args.bytes)
        results = [
            run(target, nbytes, args.step, args.max_batch, args.producer)
            for _ in range(args.repeat)
        ]
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(15)
    print("command:", " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]))
    if proc is not None:
        print(
            f"daemon: {os.path.abspath(args.tcpemud)} --shards 1 --event_queue {args.event_queue}"
        )
    else:
        print(f"daemon: {target}")
    print(
        f"python {platform.python_version()}, grpcio {grpc.__version__}, "
        f"protobuf {protobuf_version}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}"
    )
    for i, r in enumerate(results, 1):
        rate = r["events"] / r["seconds"]
        print(
            f"run {i}: {r['events']:,} events, {r['lost']:,} lost, {r['seconds']:.3f} s, "
            f"{rate:,.0f} events/s"
        )
    best = max(r["events"] / r["seconds"] for r in results)
    median = sorted(r["events"] / r["seconds"] for r in results)[len(results) // 2]
    print(f"events/s consumed by the Python iterator: median {median:,.0f}, best {best:,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
