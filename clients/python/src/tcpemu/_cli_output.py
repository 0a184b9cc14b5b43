"""How the ``tcpemu`` command prints networks, links, interfaces, sessions,
proxies and counters (text, or JSON in the JSON Lines vocabulary)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import IO, Any, Dict, Optional, Tuple, Union

from tcpemu import _names
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb
from tcpemu._json import message_to_dict
from tcpemu.client import EventStream, Interface, Link, Network
from tcpemu.events import format_event, write_jsonl
from tcpemu.model import EndpointSnapshot, Gap, SessionSnapshot
from tcpemu.proxy import Proxy, ProxyEventStream
from tcpemu.units import format_duration, format_rate, format_size


def _to_dict(msg: Any) -> Dict[str, Any]:
    # The vocabulary of the JSON Lines events: numbers, FIN_WAIT_1, "client".
    return message_to_dict(msg)


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, sort_keys=False))


def _pct(p: float) -> str:
    return f"{p * 100:g}%"


def _describe_path(p: pb.PathSpec) -> str:
    parts = [f"delay {format_duration(p.delay.seconds * 1e9 + p.delay.nanos)}"]
    if p.HasField("jitter") and (p.jitter.jitter.seconds or p.jitter.jitter.nanos):
        j = p.jitter.jitter
        parts.append(f"jitter {format_duration(j.seconds * 1e9 + j.nanos)}")
    parts.append(f"rate {format_rate(p.rate_bps) if p.rate_bps else 'unlimited'}")
    if p.loss.WhichOneof("model") == "gilbert_elliott":
        g = p.loss.gilbert_elliott
        parts.append(f"ge-loss {g.p:g},{g.r:g},{g.h:g},{g.k:g}")
    elif p.loss.random:
        parts.append(f"loss {_pct(p.loss.random)}")
    for name in ("duplicate", "reorder", "corrupt"):
        v = getattr(p, name)
        if v:
            parts.append(f"{name} {_pct(v)}")
    if p.queue_limit_bytes:
        parts.append(f"queue {format_size(p.queue_limit_bytes)}")
    elif p.queue_limit_packets:
        parts.append(f"queue {p.queue_limit_packets}p")
    else:
        parts.append("queue unlimited")
    parts.append(f"mtu {p.mtu}")
    return ", ".join(parts)


def _describe_counters(c: pb.PathCounters, si: bool = False) -> str:
    drops = c.dropped_loss + c.dropped_queue + c.dropped_fault + c.dropped_mtu
    return (
        f"{c.packets_sent} packets ({format_size(c.bytes_sent, si=si)}) sent, "
        f"{c.packets_delivered} delivered, {drops} dropped "
        f"(loss {c.dropped_loss}, queue {c.dropped_queue}, fault {c.dropped_fault}, "
        f"mtu {c.dropped_mtu})"
    )


def _print_link(link: Link) -> None:
    p = link.proto
    print(f"link {p.id} (network {p.network_id}, {p.session_count} sessions)")
    fwd, rev = _describe_path(p.forward), _describe_path(p.reverse)
    print(f"  forward: {fwd}")
    print(f"  reverse: {'same' if rev == fwd else rev}")
    print(f"  forward counters: {_describe_counters(p.forward_counters)}")
    print(f"  reverse counters: {_describe_counters(p.reverse_counters)}")


def _print_network(net: Network) -> None:
    print(
        f"network {net.id}: {net.clock}, seed {net.seed}, now {net.now:.6f}s, "
        f"{net.link_count} links, {net.session_count} live sessions, shard {net.proto.shard}"
    )


def _print_interface(iface: Interface) -> None:
    p = iface.proto
    ports = ", ".join(str(x) for x in p.listening_ports) or "none"
    gateway = f", gateway {p.gateway}" if p.gateway else ""
    print(
        f"interface {p.id} {p.name} (network {p.network_id}): {p.address}{gateway}, "
        f"mac {p.mac}, mtu {p.mtu}, {p.session_count} sessions, listening on {ports}"
    )
    egress, ingress = _describe_path(p.egress), _describe_path(p.ingress)
    print(f"  egress: {egress}")
    print(f"  ingress: {'same' if ingress == egress else ingress}")
    c = p.counters
    dropped = {
        "malformed": c.dropped_malformed,
        "not for us": c.dropped_not_for_us,
        "fragment": c.dropped_fragment,
        "too big": c.dropped_too_big,
        "unsupported": c.dropped_unsupported,
        "arp unresolved": c.dropped_arp_unresolved,
        "device": c.dropped_device,
    }
    print(
        f"  device: {c.frames_received} frames ({format_size(c.bytes_received)}) in, "
        f"{c.frames_sent} frames ({format_size(c.bytes_sent)}) out, dropped "
        + (", ".join(f"{k} {v}" for k, v in dropped.items() if v) or "none")
    )
    print(f"  egress counters: {_describe_counters(p.egress_counters)}")
    print(f"  ingress counters: {_describe_counters(p.ingress_counters)}")


def _print_session(snap: SessionSnapshot) -> None:
    state = "destroyed" if snap.destroyed else "live"
    print(
        f"session {snap.id} (network {snap.network_id}, link {snap.link_id}), {state}, "
        f"opened at {snap.opened_at:.6f}s"
    )
    endpoints: Tuple[Tuple[str, EndpointSnapshot], ...] = (
        ("client", snap.client),
        ("server", snap.server),
    )
    if snap.remote is not None:
        how = "accepted from" if snap.accepted else "connected to"
        print(
            f"  {how} {snap.remote.address}:{snap.remote.port} "
            f"through interface {snap.remote.interface_id} ({snap.local_address})"
        )
        endpoints = (("server", snap.server) if snap.accepted else ("client", snap.client),)
    for name, ep in endpoints:
        t = ep.tcb
        c = ep.counters
        err = f", error {ep.error}" if ep.error else ""
        print(f"  {name}: port {ep.port}, {ep.state}{err}")
        print(
            f"    written {ep.bytes_written}, read {ep.bytes_read}, readable {ep.readable}, "
            f"send buffer free {ep.send_buffer_free}"
        )
        print(
            f"    cwnd {t.cwnd}, ssthresh {t.ssthresh}, snd_wnd {t.snd_wnd}, "
            f"rcv_wnd {t.rcv_wnd}, in flight {t.bytes_in_flight}, "
            f"srtt {t.srtt_ns / 1e6:.3f}ms, rto {t.rto_ns / 1e6:.1f}ms"
        )
        if ep.pacing_rate or ep.bandwidth_estimate:
            print(
                f"    cc {ep.cc_phase}, pacing {ep.pacing_rate * 8 / 1e6:.3f}Mbit/s, "
                f"bandwidth {ep.bandwidth_estimate * 8 / 1e6:.3f}Mbit/s, "
                f"min rtt {ep.min_rtt * 1e3:.3f}ms"
            )
        print(
            f"    segments sent {c.segments_sent}, received {c.segments_received}, "
            f"retransmits rto {c.retransmits_rto} fast {c.retransmits_fast}, "
            f"dup acks {c.dup_acks_received}"
        )
        if t.sack_ok:
            print(
                f"    sack: sacked {t.sacked_bytes}, lost {t.lost_bytes}, "
                f"retransmitted {t.retrans_bytes}, pipe {t.pipe}; "
                f"dsacks {c.dsacks_received}, rack losses {c.rack_losses}, "
                f"tail loss probes {c.tail_loss_probes}"
            )
        if ep.write_sha256:
            print(f"    sha256 written {ep.write_sha256}")
            print(f"    sha256 read    {ep.read_sha256}")


def _proxy_line(p: pb.Proxy) -> str:
    where = p.listen_address or p.listen
    state = "enabled" if p.enabled else "disabled"
    own = " (its own)" if p.owns_link else ""
    return (
        f"proxy {p.name} (id {p.id}, network {p.network_id}): {where} -> {p.upstream}, "
        f"{state}, link {p.link_id}{own}"
    )


def _print_proxy(proxy: Proxy, link: Optional[Link] = None) -> None:
    """The proxy, its counters and toxics, and with `link` its paths."""
    p = proxy.proto
    print(_proxy_line(p))
    if p.enabled:
        print(f"  listening on {p.listen_address} (given as {p.listen})")
    else:
        print(f"  not listening (given {p.listen})")
    c = p.counters
    print(
        f"  connections: {c.connections_accepted} accepted, {c.connections_active} active, "
        f"{c.connections_refused} refused, {c.upstream_failures} upstream failures; "
        f"{format_size(c.bytes_upstream)} to upstream, "
        f"{format_size(c.bytes_downstream)} to applications"
    )
    toxics = proxy.toxics
    if not toxics:
        print("  toxics: none")
    for t in toxics:
        print(f"  toxic {t.describe()}")
    if link is not None:
        fwd, rev = _describe_path(link.proto.forward), _describe_path(link.proto.reverse)
        print(f"  forward (application -> upstream): {fwd}")
        print(f"  reverse (upstream -> application): {'same' if rev == fwd else rev}")


def _print_proxy_session(s: pb.Session) -> None:
    state = "destroyed"
    if not s.destroyed:
        state = (
            f"application side {_names.state_name(s.client.tcb.state)}, "
            f"upstream side {_names.state_name(s.server.tcb.state)}"
        )
    print(
        f"session {s.id}: {s.downstream_peer or '?'} -> {s.upstream_peer or '?'}, {state}; "
        f"{format_size(s.server.bytes_read)} to upstream, "
        f"{format_size(s.client.bytes_read)} to the application"
    )


def _write_events(stream: Union[EventStream, ProxyEventStream], args: argparse.Namespace) -> int:
    """Prints a stream's events (text, or JSON Lines with --json) to stdout
    or --output until it ends, --count events were printed, or Ctrl-C."""
    out: IO[str] = open(args.output, "w") if args.output else sys.stdout  # noqa: SIM115
    flush = out.isatty()
    n = 0
    try:
        for item in stream:
            if args.json:
                write_jsonl([item], out)
            else:
                out.write(format_event(item) + "\n")
            if flush:
                out.flush()
            if not isinstance(item, Gap):
                n += 1
                if args.count and n >= args.count:
                    break
    except KeyboardInterrupt:
        pass
    finally:
        stream.cancel()
        if out is not sys.stdout:
            out.close()
        else:
            out.flush()
    return 0
