"""``tcpemu run``: one transfer across a fresh link, on a VIRTUAL network or
in real time, with a progress line, an optional event file and plot, and
a summary."""

from __future__ import annotations

import argparse
import sys
import threading
import time
from typing import IO, Any, List, Optional, Tuple

from tcpemu._cli_args import _path_spec, _reverse, _tcp_configs
from tcpemu._cli_output import _describe_counters, _print_json, _to_dict
from tcpemu.client import Client, Link, Network, Session
from tcpemu.errors import TcpemuError
from tcpemu.events import write_jsonl
from tcpemu.model import SessionSnapshot
from tcpemu.units import format_rate, format_size, is_si_size, parse_size


class _Progress:
    """A one-line progress bar on a terminal; sizes 1000-based with `si`."""

    def __init__(self, total: int, enabled: bool, out: IO[str], si: bool = False) -> None:
        self.total = total
        self.enabled = enabled
        self.out = out
        self.si = si
        self.drawn = 0.0

    def update(self, done: int, now_s: float) -> None:
        if not self.enabled:
            return
        wall = time.monotonic()
        if done < self.total and wall - self.drawn < 0.1:
            return
        self.drawn = wall
        frac = min(1.0, done / self.total) if self.total else 1.0
        width = 30
        bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
        rate = done * 8 / now_s if now_s > 0 else 0.0
        self.out.write(
            f"\r[{bar}] {frac * 100:5.1f}%  "
            f"{format_size(done, si=self.si)} / {format_size(self.total, si=self.si)}"
            f"  {format_rate(rate)}/s  t={now_s:.2f}s "
        )
        self.out.flush()

    def finish(self) -> None:
        if self.enabled:
            self.out.write("\n")
            self.out.flush()


def cmd_run(client: Client, args: argparse.Namespace) -> int:
    total = parse_size(args.bytes)
    created_net: Optional[Network] = None
    if args.virtual or args.seed:
        created_net = client.create_network("virtual" if args.virtual else "realtime", args.seed)
        net = created_net
    else:
        net = client.network(args.network)
    spec = _path_spec(args)
    kwargs = {k: v for k, v in vars(spec).items() if v is not None}
    link = client.create_link(**kwargs, reverse=_reverse(args), network=net)
    cfg_client, cfg_server = _tcp_configs(args)
    reader = parse_size(args.reader_rate) if args.reader_rate else "auto"
    try:
        s = client.open_session(
            link,
            client=cfg_client,
            server=cfg_server,
            server_reader=reader,
            digest=not args.no_digest,
        )
        recorder: Optional[_Recorder] = None
        if args.events or args.plot:
            recorder = _Recorder(net.events(replay=True, until_destroyed=s))
        progress = _Progress(
            total, args.progress and sys.stderr.isatty(), sys.stderr, si=is_si_size(args.bytes)
        )
        run = _run_virtual if net.virtual else _run_realtime
        snap, done_at = run(s, net, total, args, progress)
        progress.finish()
        if recorder is not None:
            if net.virtual:
                net.advance_until_idle()
            recorder.finish(quiet=0.0 if net.virtual else 0.5)
            if args.events:
                with open(args.events, "w") as f:
                    write_jsonl(recorder.events, f)
            if args.plot:
                from tcpemu.plot import time_sequence

                time_sequence(recorder.events, args.plot, session=s.id)
        link.refresh()
        _summary(snap, link, total, done_at - snap.opened_at, args)
        if args.events and not args.json:
            print(f"events: {args.events}")
        if args.plot and not args.json:
            print(f"plot: {args.plot}")
        ok = snap.server.bytes_read == total and (
            args.no_digest or snap.client.write_sha256 == snap.server.read_sha256
        )
        return 0 if ok else 1
    finally:
        if not args.keep:
            try:
                link.delete()
                if created_net is not None:
                    created_net.delete()
            except TcpemuError:
                pass


class _Recorder:
    """Collects a stream's events in a thread."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.events: List[Any] = []
        self.last = time.monotonic()
        self.thread = threading.Thread(target=self._run, daemon=True)
        stream.wait_subscribed(10)
        self.thread.start()

    def _run(self) -> None:
        for item in self.stream:
            self.events.append(item)
            self.last = time.monotonic()

    def finish(self, quiet: float) -> None:
        # A virtual network's stream ends at SESSION_DESTROYED; a realtime one
        # is cut once no event came for `quiet` seconds (TIME_WAIT is long).
        deadline = time.monotonic() + 10
        while self.thread.is_alive() and time.monotonic() < deadline:
            if quiet and time.monotonic() - self.last > quiet:
                break
            time.sleep(0.05)
        self.stream.cancel()
        self.thread.join(5)


def _finished(snap: SessionSnapshot, total: int) -> bool:
    return snap.server.bytes_read >= total or bool(snap.client.error) or snap.destroyed


def _run_virtual(
    s: Session, net: Network, total: int, args: argparse.Namespace, progress: _Progress
) -> Tuple[SessionSnapshot, float]:
    left = total
    limit = time.monotonic() + args.wall_timeout
    while True:
        if left:
            left -= s.write(fill=left)
        now = net.advance(args.step).now
        snap = s.snapshot()
        progress.update(snap.server.bytes_read, now - snap.opened_at)
        if _finished(snap, total):
            break
        if time.monotonic() > limit:
            raise TimeoutError(f"run: not done after --wall-timeout {args.wall_timeout:g}s")
    s.close("client")
    return s.snapshot(), now


def _run_realtime(
    s: Session, net: Network, total: int, args: argparse.Namespace, progress: _Progress
) -> Tuple[SessionSnapshot, float]:
    errors: List[BaseException] = []

    def writer() -> None:
        try:
            s.write(fill=total, wait=args.wall_timeout)
        except TcpemuError as e:
            errors.append(e)

    th = threading.Thread(target=writer, daemon=True)
    th.start()
    deadline = time.monotonic() + args.wall_timeout
    while True:
        now = net.refresh().now
        snap = s.snapshot()
        progress.update(snap.server.bytes_read, now - snap.opened_at)
        if _finished(snap, total):
            break
        if errors:
            raise errors[0]
        if time.monotonic() > deadline:
            raise TimeoutError(f"run: not done after --wall-timeout {args.wall_timeout:g}s")
        time.sleep(0.02)
    th.join(5)
    s.close("client")
    return s.snapshot(), now


def _summary(
    snap: SessionSnapshot, link: Link, total: int, elapsed: float, args: argparse.Namespace
) -> None:
    c = snap.client.counters
    fwd = link.proto.forward_counters
    rev = link.proto.reverse_counters
    digest_ok = None if args.no_digest else snap.client.write_sha256 == snap.server.read_sha256
    goodput = snap.server.bytes_read * 8 / elapsed if elapsed > 0 else 0.0
    # Sizes in the units of --bytes: 1MB reads back as 1MB, 1MiB as 1MiB.
    si = is_si_size(args.bytes)

    def size(n: float) -> str:
        return format_size(n, si=si)

    if args.json:
        _print_json(
            {
                "session_id": snap.id,
                "network_id": snap.network_id,
                "link_id": snap.link_id,
                "bytes": total,
                "bytes_read": snap.server.bytes_read,
                "seconds": elapsed,
                "goodput_bps": goodput,
                "digest_match": digest_ok,
                "client": _to_dict(snap.proto.client),
                "server": _to_dict(snap.proto.server),
                "forward_counters": _to_dict(fwd),
                "reverse_counters": _to_dict(rev),
            }
        )
        return
    print(
        f"session {snap.id}: {size(snap.server.bytes_read)} of {size(total)} "
        f"in {elapsed:.3f}s of network time, goodput {format_rate(goodput)}/s"
    )
    print(
        f"  client: {c.segments_sent} segments sent, {size(c.bytes_retransmitted)} "
        f"retransmitted (rto {c.retransmits_rto}, fast {c.retransmits_fast}), "
        f"{c.dup_acks_received} dup acks, srtt {snap.client.tcb.srtt_ns / 1e6:.2f}ms, "
        f"cwnd {size(snap.client.tcb.cwnd)}"
    )
    print(f"  forward: {_describe_counters(fwd, si)}")
    print(f"  reverse: {_describe_counters(rev, si)}")
    if snap.client.error:
        print(f"  client error: {snap.client.error}")
    if digest_ok is not None:
        verdict = "match" if digest_ok else "MISMATCH"
        print(f"  sha256 written/read: {verdict} ({snap.client.write_sha256})")
