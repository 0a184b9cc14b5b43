#!/usr/bin/env python3
"""Opens N idle session pairs in a real tcpemud and reports how fast they
opened and the daemon's memory per pair, for docs/benchmarks.md.

    clients/python/.venv/bin/python bench/sessions_bench.py \\
        --tcpemud build-rel/server/tcpemud --sessions 100000 \\
        --mode batch [--batch 1000] [--inflight 4] [--shards 2]

A fresh tcpemud (its own process, --max_sessions N, --shards) gets
ceil(N / 10,000) links of 1 ms each way on the default REALTIME network
(ephemeral ports allow 16,384 sessions per link and server port). Its
resident set (VmRSS of /proc/PID/status) is read, then the sessions are
opened through the asyncio Python client, as a user would:

- ``--mode batch``: ``Client.open_sessions`` (the OpenSessions RPC) with
  --batch items per call and --inflight calls in flight;
- ``--mode single``: ``Client.open_session`` (one OpenSession RPC per
  session) with --inflight calls in flight: the per-call baseline.

The opening rate is N / (time from the first call to the last answer).
Then the daemon's /metrics are scraped until all 2N endpoints are
ESTABLISHED (tcpemu_sessions{state="ESTABLISHED"}), it is left 2 s to settle
(delayed ACKs), and VmRSS is read again: the memory per pair is the
difference over N. One JSON line is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "clients/python/src"))

import tcpemu.aio

SESSIONS_PER_LINK = 10_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def established(metrics_url: str) -> int:
    with urllib.request.urlopen(metrics_url, timeout=30) as r:
        text = r.read().decode()
    m = re.search(r'^tcpemu_sessions\{state="ESTABLISHED"\} (\S+)$', text, re.MULTILINE)
    return int(float(m.group(1))) if m else 0


async def open_all(args: argparse.Namespace, target: str, links: list[int]) -> float:
    n = args.sessions
    async with tcpemu.aio.Client(target, timeout=600) as client:
        if args.mode == "batch":
            chunks = [
                [
                    links[i // SESSIONS_PER_LINK]
                    for i in range(lo, min(lo + args.batch, n))
                ]
                for lo in range(0, n, args.batch)
            ]
        else:
            chunks = [[links[i // SESSIONS_PER_LINK]] for i in range(n)]
        queue = iter(chunks)

        async def worker() -> None:
            for chunk in queue:
                if args.mode == "batch":
                    got = await client.open_sessions(chunk)
                    assert len(got) == len(chunk)
                else:
                    await client.open_session(chunk[0])

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(args.inflight)))
        return time.perf_counter() - t0


async def make_links(target: str, count: int) -> list[int]:
    async with tcpemu.aio.Client(target, timeout=60) as client:
        return [(await client.create_link(delay="1ms")).id for _ in range(count)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--tcpemud", default=os.environ.get("TCPEMUD", "build/server/tcpemud")
    )
    ap.add_argument("--sessions", type=int, default=10_000)
    ap.add_argument("--mode", choices=("batch", "single"), default="batch")
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--inflight", type=int, default=4)
    ap.add_argument("--shards", type=int, default=2)
    ap.add_argument(
        "--settle", type=float, default=2.0, help="seconds after all are ESTABLISHED"
    )
    ap.add_argument("--establish_timeout", type=float, default=600.0)
    ap.add_argument("extra", nargs="*", help="more tcpemud flags (after --)")
    args = ap.parse_args()

    port, mport = free_port(), free_port()
    target = f"127.0.0.1:{port}"
    daemon = subprocess.Popen(
        [
            args.tcpemud,
            f"--listen={target}",
            f"--metrics_listen=127.0.0.1:{mport}",
            f"--shards={args.shards}",
            f"--max_sessions={max(args.sessions, 200000)}",
            *args.extra,
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        metrics_url = f"http://127.0.0.1:{mport}/metrics"
        deadline = time.monotonic() + 30
        while True:
            try:
                established(metrics_url)
                break
            except OSError:
                if time.monotonic() > deadline or daemon.poll() is not None:
                    raise RuntimeError("tcpemud did not start")
                time.sleep(0.1)
        links = asyncio.run(
            make_links(target, math.ceil(args.sessions / SESSIONS_PER_LINK))
        )
        time.sleep(0.5)
        rss0 = rss_bytes(daemon.pid)
        open_s = asyncio.run(open_all(args, target, links))
        t0 = time.monotonic()
        want = 2 * args.sessions
        got = 0
        while time.monotonic() - t0 < args.establish_timeout:
            got = established(metrics_url)
            if got >= want:
                break
            time.sleep(0.5)
        establish_s = time.monotonic() - t0
        time.sleep(args.settle)
        rss1 = rss_bytes(daemon.pid)
        print(
            json.dumps(
                {
                    "mode": args.mode,
                    "sessions": args.sessions,
                    "batch": args.batch if args.mode == "batch" else 1,
                    "inflight": args.inflight,
                    "shards": args.shards,
                    "open_s": round(open_s, 3),
                    "sessions_per_s": round(args.sessions / open_s),
                    "established_endpoints": got,
                    "all_established": got >= want,
                    "establish_wait_s": round(establish_s, 1),
                    "rss_before_mib": round(rss0 / 2**20, 1),
                    "rss_after_mib": round(rss1 / 2**20, 1),
                    "rss_gib": round(rss1 / 2**30, 3),
                    "rss_bytes_per_pair": round((rss1 - rss0) / args.sessions),
                }
            ),
            flush=True,
        )
        return 0 if got >= want else 1
    finally:
        daemon.terminate()
        try:
            daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            daemon.kill()


if __name__ == "__main__":
    sys.exit(main())
