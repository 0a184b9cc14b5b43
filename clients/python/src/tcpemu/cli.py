"""The ``tcpemu`` command: links, sessions, faults, live events, plots,
one-shot transfers, interfaces to real hosts, and proxies for real
applications against a running tcpemud.

The daemon's address comes from ``--target`` or ``$TCPEMU_TARGET``
(default 127.0.0.1:50051); ``--tls-ca``/``--tls-cert``/``--tls-key`` and
``--token-file`` (or ``$TCPEMU_TOKEN``) reach a daemon that wants TLS or a
token. Values take human units: ``50ms``, ``10Mbit``,
``64KiB``, ``1%``.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import sys
from typing import Any, Optional, Sequence, Tuple

from tcpemu import _names
from tcpemu._cli_args import (
    _add_link_flags,
    _add_tcp_flags,
    _path_settings,
    _path_spec,
    _reader,
    _reverse,
    _tcp_configs,
)
from tcpemu._cli_output import (
    _print_interface,
    _print_json,
    _print_link,
    _print_network,
    _print_session,
    _to_dict,
    _write_events,
)
from tcpemu._cli_proxy import add_proxy_parser, cmd_proxy
from tcpemu._cli_run import cmd_run
from tcpemu._cli_scenario import add_scenario_parser, cmd_scenario_run, cmd_scenario_validate
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb
from tcpemu.client import Client, Session, default_target
from tcpemu.errors import TcpemuError
from tcpemu.events import read_jsonl
from tcpemu.security import TLS, check_token, read_token_file
from tcpemu.units import (
    format_size,
    parse_duration,
    parse_size,
)

# ------------------------------------------------------------------ commands


def cmd_network(client: Client, args: argparse.Namespace) -> int:
    if args.action == "create":
        net = client.create_network("virtual" if args.virtual else args.clock, args.seed)
        if args.quiet:
            print(net.id)
        elif args.json:
            _print_json(_to_dict(net.proto))
        else:
            _print_network(net)
    elif args.action == "list":
        nets = client.networks()
        if args.json:
            _print_json([_to_dict(n.proto) for n in nets])
        else:
            for n in nets:
                _print_network(n)
    elif args.action == "show":
        net = client.network(args.id)
        if args.json:
            _print_json(_to_dict(net.proto))
        else:
            _print_network(net)
    elif args.action == "delete":
        client.delete_network(args.id)
        print(f"network {args.id} deleted")
    elif args.action == "advance":
        if args.until_idle:
            r = client.advance_until_idle(args.id, args.limit)
        elif args.duration:
            r = client.advance(args.id, args.duration)
        else:
            raise ValueError("network advance: give a DURATION or --until-idle")
        print(f"network {args.id}: now {r.now:.6f}s{', idle' if r.idle else ''}")
    return 0


def cmd_link(client: Client, args: argparse.Namespace) -> int:
    if args.action == "create":
        spec = _path_spec(args)
        kwargs = {k: v for k, v in vars(spec).items() if v is not None}
        link = client.create_link(**kwargs, reverse=_reverse(args), network=args.network)
        if args.quiet:
            print(link.id)
        elif args.json:
            _print_json(_to_dict(link.proto))
        else:
            _print_link(link)
    elif args.action == "update":
        spec = _path_spec(args)
        kwargs = {k: v for k, v in vars(spec).items() if v is not None}
        link = client.update_link(args.id, **kwargs, reverse=_reverse(args), replace=args.replace)
        if args.json:
            _print_json(_to_dict(link.proto))
        else:
            _print_link(link)
    elif args.action == "list":
        links = client.links(args.network)
        if args.json:
            _print_json([_to_dict(x.proto) for x in links])
        else:
            for x in links:
                _print_link(x)
    elif args.action == "show":
        link = client.link(args.id)
        if args.json:
            _print_json(_to_dict(link.proto))
        else:
            _print_link(link)
    elif args.action == "delete":
        client.delete_link(args.id)
        print(f"link {args.id} deleted")
    return 0


def _read_payload(args: argparse.Namespace) -> Optional[bytes]:
    if args.file:
        if args.file == "-":
            return sys.stdin.buffer.read()
        with open(args.file, "rb") as f:
            return f.read()
    if args.data is not None:
        return str(args.data).encode()
    return None


def cmd_session(client: Client, args: argparse.Namespace) -> int:
    a = args.action
    if a == "open":
        cfg_client, cfg_server = _tcp_configs(args)
        s = client.open_session(
            args.link,
            client=cfg_client,
            server=cfg_server,
            client_reader=_reader(args.client_reader),
            server_reader=_reader(args.server_reader),
            digest=args.digest,
            client_port=args.client_port,
            server_port=args.server_port,
            server_closed=args.server_closed,
            capture=args.capture,
        )
        if args.quiet:
            print(s.id)
        elif args.json:
            _print_json(_to_dict(s.proto))
        else:
            p = s.proto
            print(
                f"session {p.id} opened on link {p.link_id} (network {p.network_id}): "
                f"client port {p.client.port} -> server port {p.server.port}"
            )
    elif a == "connect":
        cfg_client, _ = _tcp_configs(args)
        s = client.connect(
            args.interface,
            args.address,
            args.port,
            config=cfg_client,
            reader=_reader(args.reader),
            digest=args.digest,
            capture=args.capture,
            local_port=args.local_port,
        )
        if args.quiet:
            print(s.id)
        elif args.json:
            _print_json(_to_dict(s.proto))
        else:
            p = s.proto
            print(
                f"session {p.id} connecting from {p.local_address}:{p.client.port} "
                f"to {args.address}:{args.port} (interface {args.interface})"
            )
    elif a == "write":
        s = Session(client, pb.Session(id=args.id))
        data = _read_payload(args)
        fill = parse_size(args.fill) if args.fill is not None else None
        if data is None and fill is None:
            raise ValueError("session write: give DATA, --file or --fill")
        n = s.write(data, fill=fill, push=args.push, wait=args.wait, endpoint=args.endpoint)
        total = len(data) if data is not None else fill
        print(f"accepted {n} of {total} bytes")
    elif a == "read":
        s = Session(client, pb.Session(id=args.id))
        r = s.read(parse_size(args.max), wait=args.wait, endpoint=args.endpoint)
        if args.output:
            with open(args.output, "ab") as f:
                f.write(r.data)
        else:
            sys.stdout.buffer.write(r.data)
            sys.stdout.flush()
        print(f"read {len(r.data)} bytes{', end of stream' if r.eof else ''}", file=sys.stderr)
    elif a == "close":
        s = Session(client, pb.Session(id=args.id))
        state = s.close(args.endpoint, rst=args.rst)
        print(f"session {args.id}: {args.endpoint} is {state}")
    elif a == "show":
        snap = client.session(args.id).snapshot()
        if args.json:
            _print_json(_to_dict(snap.proto))
        else:
            _print_session(snap)
    elif a == "list":
        sessions = client.sessions(args.network, args.link)
        if args.json:
            _print_json([_to_dict(x.proto) for x in sessions])
        else:
            for x in sessions:
                p = x.proto
                state = "destroyed"
                if not p.destroyed:
                    state = (
                        f"client {_names.state_name(p.client.tcb.state)}, "
                        f"server {_names.state_name(p.server.tcb.state)}"
                    )
                print(f"session {p.id}: network {p.network_id}, link {p.link_id}, {state}")
    elif a == "delete":
        client.delete_session(args.id)
        print(f"session {args.id} deleted")
    elif a == "wait":
        s = client.session(args.id)
        snap = s.wait_for(args.state, args.endpoint, timeout=args.timeout)
        print(f"session {args.id}: {args.endpoint} is {snap.endpoint(args.endpoint).state}")
    return 0


def cmd_interface(client: Client, args: argparse.Namespace) -> int:
    a = args.action
    if a == "create":
        iface = client.create_interface(
            args.address,
            network=args.network,
            name=args.name or "",
            mac=args.mac or "",
            mtu=args.mtu,
            gateway=args.gateway or "",
            egress=_path_settings(args.egress, "--egress"),
            ingress=_path_settings(args.ingress, "--ingress"),
        )
        if args.quiet:
            print(iface.id)
        elif args.json:
            _print_json(_to_dict(iface.proto))
        else:
            _print_interface(iface)
    elif a == "update":
        iface = client.update_interface(
            args.id,
            egress=_path_settings(args.egress, "--egress"),
            ingress=_path_settings(args.ingress, "--ingress"),
            replace=args.replace,
        )
        if args.json:
            _print_json(_to_dict(iface.proto))
        else:
            _print_interface(iface)
    elif a in ("list", "show"):
        ifaces = client.interfaces(args.network) if a == "list" else [client.interface(args.id)]
        if args.json:
            out = [_to_dict(x.proto) for x in ifaces]
            _print_json(out if a == "list" else out[0])
        else:
            for x in ifaces:
                _print_interface(x)
    elif a == "delete":
        client.delete_interface(args.id)
        print(f"interface {args.id} deleted")
    elif a == "listen":
        cfg, _ = _tcp_configs(args)
        listener = client.listen(
            args.id,
            args.port,
            config=cfg,
            reader=_reader(args.reader),
            digest=args.digest,
            backlog=args.backlog,
            capture=args.capture,
        )
        listener.close()  # the daemon's listener stays
        print(f"interface {args.id} listening on port {args.port}")
    elif a == "unlisten":
        client.delete_listener(args.id, args.port)
        print(f"interface {args.id} no longer listening on port {args.port}")
    return 0


def cmd_pcap(client: Client, args: argparse.Namespace) -> int:
    if args.output == "-":
        n = client.export_pcap(args.session, sys.stdout.buffer)
    else:
        n = client.export_pcap(args.session, args.output)
    print(
        f"session {args.session}: {format_size(n)} of pcap written to {args.output}",
        file=sys.stderr,
    )
    return 0


def cmd_fault(client: Client, args: argparse.Namespace) -> int:
    if (args.link is None) == (args.session is None):
        raise ValueError(f"fault {args.action}: give --link or --session")
    if args.action == "clear":
        client.clear_faults(link=args.link, session=args.session)
        print("faults cleared")
        return 0
    seq = None
    if args.seq:
        lo, sep, hi = args.seq.partition(":")
        if not sep:
            raise ValueError(f"--seq: {args.seq!r} is not LO:HI")
        seq = (int(lo), int(hi))
    fault = client.inject_fault(
        link=args.link,
        session=args.session,
        action=args.action_name,
        direction=args.direction,
        count=args.count,
        payload_only=args.payload_only,
        flags_all=args.flags_all,
        flags_none=args.flags_none,
        seq=seq,
        nth=args.nth,
        delay=args.delay,
        probability=args.probability,
        duration=args.duration,
    )
    ids = ", ".join(str(i) for i in fault.ids)
    print(f"fault {ids} installed on link {fault.link_id}")
    return 0


def cmd_watch(client: Client, args: argparse.Namespace) -> int:
    stream = client.events(
        network=args.network,
        sessions=args.session or (),
        kinds=args.kind or None,
        endpoint=args.endpoint,
        replay=args.replay,
        until_destroyed=args.until_destroyed,
    )
    return _write_events(stream, args)


def cmd_plot(args: argparse.Namespace) -> int:
    from tcpemu.plot import time_sequence

    output = args.output or os.path.splitext(args.events)[0] + ".png"
    events = list(read_jsonl(sys.stdin if args.events == "-" else args.events))
    time_sequence(events, output, session=args.session, direction=args.direction, title=args.title)
    print(f"wrote {output}")
    return 0


# ------------------------------------------------------------------ parser


def _add_quiet(p: argparse.ArgumentParser, example: str) -> None:
    p.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help=f"print the new id only, for scripts: {example.replace('%', '%%')}",
    )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tcpemu",
        description=(
            "Links, sessions, faults, live events, plots, transfers and interfaces to real "
            "hosts on tcpemud."
        ),
        epilog="Units: durations 25ms/1.5s, rates 10Mbit, sizes 64KiB/1MB, probabilities 0.01/1%.",
    )
    p.add_argument(
        "--target",
        default=None,
        help=f"tcpemud address (default: $TCPEMU_TARGET or {default_target()})",
    )
    p.add_argument("--timeout", type=float, default=10.0, help="deadline of each call, seconds")
    g = p.add_argument_group("security (a tcpemud run with --tls_cert or --auth_tokens)")
    g.add_argument("--tls", action="store_true", help="TLS, trusting the system's CAs")
    g.add_argument("--tls-ca", metavar="PEM", help="TLS, trusting the CAs in this file")
    g.add_argument("--tls-cert", metavar="PEM", help="client certificate chain (mutual TLS)")
    g.add_argument("--tls-key", metavar="PEM", help="private key of --tls-cert")
    g.add_argument(
        "--tls-server-name", metavar="NAME", help="name the daemon's certificate must carry"
    )
    g.add_argument(
        "--token-file",
        metavar="FILE",
        help="bearer token sent on every call (default: $TCPEMU_TOKEN, if set)",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    # network
    net = sub.add_parser("network", help="clock domains")
    nsub = net.add_subparsers(dest="action", required=True)
    x = nsub.add_parser("create", help="create a network")
    x.add_argument("--clock", default="realtime", choices=("realtime", "virtual"))
    x.add_argument("--virtual", action="store_true", help="same as --clock virtual")
    x.add_argument("--seed", type=int, default=0)
    x.add_argument("--json", action="store_true")
    _add_quiet(x, "net=$(tcpemu network create --virtual -q)")
    x = nsub.add_parser("list", help="list networks")
    x.add_argument("--json", action="store_true")
    x = nsub.add_parser("show", help="show a network")
    x.add_argument("id", type=int)
    x.add_argument("--json", action="store_true")
    x = nsub.add_parser("delete", help="delete a network")
    x.add_argument("id", type=int)
    x = nsub.add_parser("advance", help="run a virtual network's clock")
    x.add_argument("id", type=int)
    x.add_argument("duration", nargs="?")
    x.add_argument("--until-idle", action="store_true")
    x.add_argument("--limit")

    # link
    link = sub.add_parser("link", help="emulated paths")
    lsub = link.add_subparsers(dest="action", required=True)
    x = lsub.add_parser("create", help="create a link")
    x.add_argument("--network", type=int, default=0, help="network id (0: the default)")
    _add_link_flags(x)
    x.add_argument("--json", action="store_true")
    _add_quiet(x, 'link=$(tcpemu link create --network "$net" -q)')
    x = lsub.add_parser("update", help="change a live link; unset flags keep their value")
    x.add_argument("id", type=int)
    _add_link_flags(x)
    x.add_argument("--replace", action="store_true", help="reset unset settings to defaults")
    x.add_argument("--json", action="store_true")
    x = lsub.add_parser("list", help="list links")
    x.add_argument("--network", type=int, default=0)
    x.add_argument("--json", action="store_true")
    x = lsub.add_parser("show", help="show a link and its counters")
    x.add_argument("id", type=int)
    x.add_argument("--json", action="store_true")
    x = lsub.add_parser("delete", help="delete a link")
    x.add_argument("id", type=int)

    # session
    sess = sub.add_parser("session", help="TCP sessions")
    ssub = sess.add_subparsers(dest="action", required=True)
    x = ssub.add_parser("open", help="open a session across a link")
    x.add_argument("--link", type=int, required=True)
    _add_tcp_flags(x)
    x.add_argument("--client-reader", help="auto, manual or bytes/s")
    x.add_argument("--server-reader", help="auto, manual or bytes/s")
    x.add_argument("--digest", action="store_true", help="keep SHA-256 of the bytes")
    x.add_argument("--client-port", type=int, default=0)
    x.add_argument("--server-port", type=int, default=0)
    x.add_argument("--server-closed", action="store_true", help="nothing listens: RST")
    x.add_argument("--capture", action="store_true", help="keep its packets for 'tcpemu pcap'")
    x.add_argument("--json", action="store_true")
    _add_quiet(x, 'session=$(tcpemu session open --link "$link" -q)')
    x = ssub.add_parser("connect", help="open a session to a real host through an interface")
    x.add_argument("--interface", type=int, required=True)
    x.add_argument("address", help="the host's IPv4 address")
    x.add_argument("port", type=int)
    _add_tcp_flags(x)
    x.add_argument("--reader", help="auto, manual or bytes/s")
    x.add_argument("--digest", action="store_true", help="keep SHA-256 of the bytes")
    x.add_argument("--capture", action="store_true", help="keep its packets for 'tcpemu pcap'")
    x.add_argument("--local-port", type=int, default=0)
    x.add_argument("--json", action="store_true")
    _add_quiet(x, 'session=$(tcpemu session connect --interface "$iface" ADDRESS PORT -q)')
    x = ssub.add_parser("write", help="write to an endpoint")
    x.add_argument("id", type=int)
    x.add_argument("data", nargs="?", help="text to write")
    x.add_argument("--file", help="write this file's bytes ('-': stdin)")
    x.add_argument("--fill", help="write this many generated bytes, e.g. 1MiB")
    x.add_argument("--endpoint", default="client", choices=("client", "server"))
    x.add_argument("--push", action="store_true")
    x.add_argument("--wait", help="wait this long for buffer space, e.g. 5s")
    x = ssub.add_parser("read", help="read what an endpoint received (manual reader)")
    x.add_argument("id", type=int)
    x.add_argument("--max", default="65536", help="at most this many bytes")
    x.add_argument("--endpoint", default="server", choices=("client", "server"))
    x.add_argument("--wait", help="wait this long for data")
    x.add_argument("--output", help="append the bytes to this file instead of stdout")
    x = ssub.add_parser("close", help="close an endpoint with FIN or RST")
    x.add_argument("id", type=int)
    x.add_argument("--endpoint", default="client", choices=("client", "server"))
    x.add_argument("--rst", action="store_true")
    x = ssub.add_parser("show", help="state, TCB and counters")
    x.add_argument("id", type=int)
    x.add_argument("--json", action="store_true")
    x = ssub.add_parser("list", help="list sessions")
    x.add_argument("--network", type=int, default=0)
    x.add_argument("--link", type=int, default=0)
    x.add_argument("--json", action="store_true")
    x = ssub.add_parser("delete", help="forget a session")
    x.add_argument("id", type=int)
    x = ssub.add_parser("wait", help="wait for an endpoint's state (or 'destroyed')")
    x.add_argument("id", type=int)
    x.add_argument("state")
    x.add_argument("--endpoint", default="client", choices=("client", "server"))
    x.add_argument("--timeout", type=float, default=10.0, dest="timeout")

    # interface
    iface = sub.add_parser("interface", help="TAP interfaces to real hosts")
    isub = iface.add_subparsers(dest="action", required=True)
    x = isub.add_parser("create", help="create a TAP interface (needs root)")
    x.add_argument("address", help="the engine's address and prefix, e.g. 10.7.0.2/24")
    x.add_argument("--network", type=int, default=0, help="REALTIME network (0: the default)")
    x.add_argument("--name", help="TAP device name (default: tcpemuN)")
    x.add_argument("--mac")
    x.add_argument("--mtu", help="576 to 9000 (default 1500)")
    x.add_argument("--gateway", help="next hop outside the prefix")
    x.add_argument("--egress", metavar="KEY=VALUE,...", help="engine-to-host impairment")
    x.add_argument("--ingress", metavar="KEY=VALUE,...", help="host-to-engine impairment")
    x.add_argument("--json", action="store_true")
    _add_quiet(x, "iface=$(tcpemu interface create 10.7.0.2/24 -q)")
    x = isub.add_parser(
        "update", help="change an interface's impairments live; settings left out stay"
    )
    x.add_argument("id", type=int)
    x.add_argument("--egress", metavar="KEY=VALUE,...", help="engine-to-host, e.g. delay=20ms")
    x.add_argument("--ingress", metavar="KEY=VALUE,...", help="host-to-engine, e.g. loss=1%%")
    x.add_argument(
        "--replace", action="store_true", help="reset settings left out to defaults (MTU stays)"
    )
    x.add_argument("--json", action="store_true")
    x = isub.add_parser("list", help="list interfaces")
    x.add_argument("--network", type=int, default=0)
    x.add_argument("--json", action="store_true")
    x = isub.add_parser("show", help="show an interface and its counters")
    x.add_argument("id", type=int)
    x.add_argument("--json", action="store_true")
    x = isub.add_parser("delete", help="delete an interface (its sessions are aborted)")
    x.add_argument("id", type=int)
    x = isub.add_parser("listen", help="accept connections from hosts on a port")
    x.add_argument("id", type=int)
    x.add_argument("port", type=int)
    _add_tcp_flags(x)
    x.add_argument("--reader", help="auto, manual or bytes/s")
    x.add_argument("--digest", action="store_true", help="keep SHA-256 of the bytes")
    x.add_argument("--capture", action="store_true", help="keep packets for 'tcpemu pcap'")
    x.add_argument("--backlog", type=int, default=0)
    x = isub.add_parser("unlisten", help="stop listening on a port")
    x.add_argument("id", type=int)
    x.add_argument("port", type=int)

    # pcap
    x = sub.add_parser("pcap", help="write a captured session's packets as a pcap file")
    x.add_argument("session", type=int)
    x.add_argument("--output", "-o", required=True, help="pcap file ('-': stdout)")

    # fault
    fault = sub.add_parser("fault", help="fault rules on links or sessions")
    fsub = fault.add_subparsers(dest="action", required=True)
    for name in ("inject", "clear"):
        x = fsub.add_parser(name, help=f"{name} fault rules")
        x.add_argument("--link", type=int)
        x.add_argument("--session", type=int)
        if name == "inject":
            x.add_argument(
                "--action",
                dest="action_name",
                default="drop",
                choices=("drop", "delay", "duplicate", "corrupt", "reorder"),
            )
            x.add_argument("--direction", default="both", choices=("forward", "reverse", "both"))
            x.add_argument("--count", type=int, default=0, help="segments to hit (0: no limit)")
            x.add_argument("--payload-only", action="store_true")
            x.add_argument("--flags-all", help="flags that must be set, e.g. SYN,ACK or SA")
            x.add_argument("--flags-none", help="flags that must not be set")
            x.add_argument("--seq", metavar="LO:HI", help="sequence range (relative for sessions)")
            x.add_argument("--nth", type=int, default=0, help="only the nth matching segment")
            x.add_argument("--delay", help="for --action delay")
            x.add_argument("--probability")
            x.add_argument("--duration", help="remove the rule after this long")

    # watch
    x = sub.add_parser("watch", help="print events as they happen, one per line")
    x.add_argument("--network", type=int, default=0)
    x.add_argument("--session", type=int, action="append", help="repeat for several")
    x.add_argument("--kind", action="append", help="e.g. segment_sent; repeat for several")
    x.add_argument("--endpoint", choices=("client", "server"))
    x.add_argument("--replay", action="store_true", help="start with the retained history")
    x.add_argument(
        "--until-destroyed",
        type=int,
        metavar="SESSION",
        help="stop after this session is destroyed",
    )
    x.add_argument("--count", type=int, default=0, help="stop after this many events")
    x.add_argument("--json", action="store_true", help="JSON Lines (tcpemu-sim --events form)")
    x.add_argument("--output", "-o", help="write to this file instead of stdout")

    # proxy
    add_proxy_parser(sub)
    add_scenario_parser(sub)

    # plot
    x = sub.add_parser("plot", help="time-sequence graph of a JSON Lines events file")
    x.add_argument("events", help="events file (tcpemu watch --json, tcpemu-sim --events); '-'")
    x.add_argument("--output", "-o", help="image file (default: EVENTS with .png)")
    x.add_argument("--session", type=int, help="session id (needed if the file has several)")
    x.add_argument(
        "--direction", default="client", choices=("client", "server"), help="whose data to show"
    )
    x.add_argument("--title")

    # run
    x = sub.add_parser("run", help="transfer bytes over a new link and print a summary")
    x.add_argument("--bytes", default="10MiB", help="bytes the client sends")
    x.add_argument("--virtual", action="store_true", help="on a new virtual network")
    x.add_argument("--seed", type=int, default=0, help="on a new network with this seed")
    x.add_argument("--network", type=int, default=0, help="existing network (default: 0)")
    x.add_argument("--step", default="10ms", help="virtual time per progress update")
    x.add_argument("--reader-rate", help="server application reads this many bytes/s")
    x.add_argument("--no-digest", action="store_true", help="skip SHA-256 of the data")
    x.add_argument(
        "--wall-timeout",
        type=_wall_seconds,
        default=600.0,
        metavar="SECONDS",
        help="give up after this much wall-clock time: seconds, or 90s, 10m (default 600)",
    )
    x.add_argument(
        "--time-limit",
        action=_Renamed,
        new="--wall-timeout",
        why="the wall-clock time to wait, where tcpemu-sim's --time-limit is virtual time",
    )
    x.add_argument("--events", help="write the session's events (JSON Lines) here")
    x.add_argument("--plot", help="write its time-sequence graph here (PNG)")
    x.add_argument("--no-progress", dest="progress", action="store_false")
    x.add_argument("--keep", action="store_true", help="keep the link (and network)")
    x.add_argument("--json", action="store_true")
    _add_link_flags(x)
    _add_tcp_flags(x)
    return p


def _wall_seconds(text: str) -> float:
    """--wall-timeout: a number of seconds or a duration (90s, 10m)."""
    try:
        seconds = float(text)
    except ValueError:
        try:
            seconds = parse_duration(text) / 1e9
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return seconds


class _Renamed(argparse.Action):
    """An option that was renamed: using it is an error naming the new one."""

    def __init__(self, option_strings: Sequence[str], dest: str, new: str, why: str) -> None:
        super().__init__(option_strings, dest, nargs="?", help=argparse.SUPPRESS)
        self.new = new
        self.why = why

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: Optional[str] = None,
    ) -> None:
        parser.error(f"{option_string} is now {self.new}: {self.why}")


def security_args(args: argparse.Namespace) -> Tuple[Optional[TLS], Optional[str]]:
    """The TLS settings and token the flags (or $TCPEMU_TOKEN) ask for;
    ValueError names a flag whose file is unusable."""
    tls: Optional[TLS] = None
    if args.tls or args.tls_ca or args.tls_cert or args.tls_key or args.tls_server_name:
        if (args.tls_cert is None) != (args.tls_key is None):
            raise ValueError("--tls-cert and --tls-key go together")
        tls = TLS(
            ca=args.tls_ca, cert=args.tls_cert, key=args.tls_key, server_name=args.tls_server_name
        )
        for flag, path in (
            ("--tls-ca", args.tls_ca),
            ("--tls-cert", args.tls_cert),
            ("--tls-key", args.tls_key),
        ):
            if path is not None and not os.access(path, os.R_OK):
                raise ValueError(f"{flag} {path}: not a readable file")
    token: Optional[str] = None
    if args.token_file:
        try:
            token = read_token_file(args.token_file)
        except ValueError as e:
            raise ValueError(f"--token-file: {e}") from None
    elif os.environ.get("TCPEMU_TOKEN"):
        try:
            token = check_token(os.environ["TCPEMU_TOKEN"].strip())
        except ValueError as e:
            raise ValueError(f"$TCPEMU_TOKEN: {e}") from None
    return tls, token


# The exit status of a command whose reader went away (`tcpemu ... | head`):
# that of a process killed by SIGPIPE as the shell reports it, 128 + 13, as
# cat or seq would end; the shell shows nothing, and without pipefail the
# pipeline's status is the reader's.
EXIT_BROKEN_PIPE = 141


def _stdout_closed() -> int:
    """The reader of stdout went away: quiet, as a command killed by SIGPIPE.
    What is left in the buffer goes to /dev/null, so that Python's flush at
    exit does not fail again and print a warning."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, io.UnsupportedOperation):
        pass  # stdout is no file (a test's capture): nothing to quiet
    return EXIT_BROKEN_PIPE


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "plot":
        return cmd_plot(args)
    if args.command == "scenario" and args.action == "validate":
        return cmd_scenario_validate(args)
    tls, token = security_args(args)
    with Client(args.target, timeout=args.timeout, tls=tls, token=token) as client:
        handler = {
            "network": cmd_network,
            "link": cmd_link,
            "session": cmd_session,
            "interface": cmd_interface,
            "pcap": cmd_pcap,
            "fault": cmd_fault,
            "watch": cmd_watch,
            "proxy": cmd_proxy,
            "run": cmd_run,
            "scenario": cmd_scenario_run,
        }[args.command]
        return handler(client, args)


def main(argv: Optional[Sequence[str]] = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        return _stdout_closed()


def _main(argv: Optional[Sequence[str]]) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit:
        sys.stdout.flush()  # --help into a closed pipe: quiet, as below
        raise
    try:
        rc = _dispatch(args)
        # Output still buffered goes out here, where a closed pipe is
        # handled, rather than at exit.
        sys.stdout.flush()
        return rc
    except BrokenPipeError:
        raise
    except TcpemuError as e:
        print(f"tcpemu: {e.message}", file=sys.stderr)
        return 1
    except (ValueError, TimeoutError, OSError) as e:
        print(f"tcpemu: {e}", file=sys.stderr)
        return 2 if isinstance(e, ValueError) else 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
