#!/usr/bin/env python3
"""Events per second that the tcpemu Python iterator consumes from one
WatchEvents stream while the daemon produces them as fast as it can.

The same setup as bench/event_delivery_bench.cc (the daemon alone) and the Go
client's BenchmarkEventsDelivery: a daemon of its own (2 shards, a queue of
4 Mi events per subscriber, so nothing is dropped), --networks VIRTUAL
networks of --sessions sessions, each moving --mib MiB over a 1 ms,
10 Gbit/s link, written and closed before AdvanceTime runs until idle on
every network at once (from a separate process, so it does not share this
interpreter's GIL). One stream watches everything; the figure is events
consumed / seconds from the start of AdvanceTime to the last
SESSION_DESTROYED.

    TCPEMUD=build/server/tcpemud python bench/events_delivery_bench.py
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
from typing import Any

import grpc
from google.protobuf import __version__ as protobuf_version

import tcpemu

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_TCPEMUD = os.path.join(HERE, "..", "..", "..", "build", "server", "tcpemud")


def start_daemon(path: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [
            path,
            "--listen",
            "127.0.0.1:0",
            "--metrics_listen",
            "",
            "--shards",
            "2",
            "--event_queue",
            "4194304",
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


def advance_all(target: str, network_ids: list[int], go: Any) -> None:
    """Runs AdvanceTime until idle on every network at once, after `go`."""
    with tcpemu.Client(target, timeout=600) as client:
        go.wait()
        threads = [
            threading.Thread(target=client.advance_until_idle, args=(nid,)) for nid in network_ids
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


def run(target: str, networks: int, sessions: int, mib: int, max_batch: int) -> dict[str, float]:
    with tcpemu.Client(target, timeout=60) as client:
        nets = []
        try:
            for i in range(networks):
                net = client.create_network("virtual", seed=i + 1)
                nets.append(net)
                link = net.create_link(delay="1ms", rate="10Gbit")
                for _ in range(sessions):
                    s = link.open_session(client={"send_buffer": 64 << 20})
                    s.write(fill=mib << 20)
                    s.close("client")
            stream = client.events(max_batch=max_batch)
            if not stream.wait_subscribed(10):
                raise SystemExit("the event stream never answered")
            go = multiprocessing.get_context("spawn").Event()
            worker = multiprocessing.get_context("spawn").Process(
                target=advance_all, args=(target, [n.id for n in nets], go)
            )
            worker.start()
            time.sleep(1.0)  # the worker's interpreter and channel are up
            want = networks * sessions  # one SESSION_DESTROYED per session
            destroyed_kind = tcpemu.pb.EVENT_KIND_SESSION_DESTROYED
            destroyed = 0
            count = 0
            lost = 0
            go.set()
            start = time.perf_counter()
            for item in stream:
                if isinstance(item, tcpemu.Gap):
                    lost += item.lost
                    continue
                count += 1
                if item.kind == destroyed_kind:
                    destroyed += 1
                    if destroyed == want:
                        break
            elapsed = time.perf_counter() - start
            stream.cancel()
            worker.join()
            if destroyed < want:
                raise SystemExit(f"saw {destroyed} of {want} SESSION_DESTROYED")
            return {"events": count, "lost": lost, "seconds": elapsed}
        finally:
            for net in nets:
                net.delete()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tcpemud", default=os.environ.get("TCPEMUD", DEFAULT_TCPEMUD))
    p.add_argument("--networks", type=int, default=2)
    p.add_argument("--sessions", type=int, default=8)
    p.add_argument("--mib", type=int, default=16)
    p.add_argument("--max-batch", type=int, default=1024)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()

    proc, target = start_daemon(os.path.abspath(args.tcpemud))
    try:
        results = [
            run(target, args.networks, args.sessions, args.mib, args.max_batch)
            for _ in range(args.repeat)
        ]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
    print("command:", " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]))
    print(f"daemon: {os.path.abspath(args.tcpemud)} --shards 2 --event_queue 4194304")
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
    rates = sorted(r["events"] / r["seconds"] for r in results)
    print(
        f"events/s consumed by the Python iterator: median {rates[len(rates) // 2]:,.0f}, "
        f"best {rates[-1]:,.0f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
