"""The ``tcpemu proxy`` commands: create, list, get, update, delete, sessions,
watch and toxic, and their parser."""

from __future__ import annotations

import argparse
from typing import Any, Dict

from tcpemu import _requests as rq
from tcpemu._cli_args import (
    _add_link_flags,
    _add_proxy_tcp_flags,
    _path_settings,
    _path_spec,
    _reverse,
    _tcp_settings,
    _toxic,
)
from tcpemu._cli_output import (
    _print_json,
    _print_proxy,
    _print_proxy_session,
    _proxy_line,
    _to_dict,
    _write_events,
)
from tcpemu.client import Client
from tcpemu.proxy import Proxy
from tcpemu.toxics import _ATTRIBUTES, STREAMS, TOXIC_TYPES

_TOXIC_HELP = "; ".join(f"{kind} ({', '.join(attrs)})" for kind, attrs in _ATTRIBUTES.items())


def cmd_proxy(client: Client, args: argparse.Namespace) -> int:
    a = args.action
    if a == "create":
        spec = _path_spec(args)
        proxy = client.create_proxy(
            args.name,
            args.listen,
            args.upstream,
            network=args.network,
            link=args.link,
            **{k: v for k, v in vars(spec).items() if v is not None},
            forward=_path_settings(args.forward, "--forward"),
            reverse=_reverse(args),
            downstream_tcp=_tcp_settings(args.downstream_tcp, "--downstream-tcp"),
            upstream_tcp=_tcp_settings(args.upstream_tcp, "--upstream-tcp"),
            relay_buffer=args.relay_buffer,
            enabled=not args.disabled,
        )
        if args.quiet:
            print(proxy.listen_address or proxy.listen)
        elif args.json:
            _print_json(_to_dict(proxy.proto))
        else:
            _print_proxy(proxy, client.link(proxy.link_id))
    elif a == "list":
        proxies = client.proxies(args.network)
        if args.json:
            _print_json([_to_dict(x.proto) for x in proxies])
        else:
            for each in proxies:
                print(_proxy_line(each.proto))
    elif a in ("get", "show"):
        proxy = client.proxy(args.name)
        if args.json:
            _print_json(_to_dict(proxy.proto))
        else:
            _print_proxy(proxy, client.link(proxy.link_id))
    elif a == "update":
        proxy = _update_proxy(client, args)
        if args.json:
            _print_json(_to_dict(proxy.proto))
        else:
            _print_proxy(proxy, client.link(proxy.link_id))
    elif a == "delete":
        client.delete_proxy(args.name)
        print(f"proxy {args.name} deleted")
    elif a == "sessions":
        sessions = client.proxy(args.name).sessions()
        if args.json:
            _print_json([_to_dict(x.proto) for x in sessions])
        else:
            for session in sessions:
                _print_proxy_session(session.proto)
    elif a == "watch":
        stream = client.proxy(args.name).events(
            kinds=args.kind or None, endpoint=args.endpoint, replay=args.replay
        )
        return _write_events(stream, args)
    elif a == "toxic":
        return _cmd_toxic(client, args)
    return 0


def _update_proxy(client: Client, args: argparse.Namespace) -> Proxy:
    """proxy update: the proxy's settings given, then its link's paths."""
    spec = _path_spec(args)
    reverse = _reverse(args)
    forward = _path_settings(args.forward, "--forward")
    changes: Dict[str, Any] = {
        "listen": args.listen,
        "upstream": args.upstream,
        "enabled": args.enabled,
        "downstream_tcp": _tcp_settings(args.downstream_tcp, "--downstream-tcp"),
        "upstream_tcp": _tcp_settings(args.upstream_tcp, "--upstream-tcp"),
        "relay_buffer": args.relay_buffer,
    }
    changes = {k: v for k, v in changes.items() if v is not None}
    paths = not spec.is_empty() or forward is not None or reverse is not None
    if not changes and not paths:
        raise ValueError("proxy update: nothing to change; see tcpemu proxy update --help")
    proxy = client.update_proxy(args.name, **changes) if changes else client.proxy(args.name)
    if paths:
        req = rq.update_link(proxy.link_id, spec, reverse, forward)
        if req is not None:
            client._call("UpdateLink", req)
    return proxy


def _cmd_toxic(client: Client, args: argparse.Namespace) -> int:
    proxy = client.proxy(args.name)
    if args.toxic_action == "add":
        toxic = proxy.add_toxic(_toxic(args))
        if args.json:
            _print_json(_to_dict(next(t for t in proxy.proto.toxics if t.name == toxic.name)))
        else:
            print(f"proxy {proxy.name}: toxic {toxic.describe()}")
    elif args.toxic_action == "remove":
        proxy.remove_toxic(args.toxic)
        print(f"proxy {proxy.name}: toxic {args.toxic} removed")
    elif args.toxic_action == "list":
        if args.json:
            _print_json([_to_dict(t) for t in proxy.proto.toxics])
        else:
            for t in proxy.toxics:
                print(t.describe())
    return 0


def add_proxy_parser(sub: Any) -> None:
    """Adds ``proxy`` and its subcommands to the subparsers `sub`."""
    proxy = sub.add_parser(
        "proxy", help="relay real applications' connections across an emulated path"
    )
    psub = proxy.add_subparsers(dest="action", required=True)
    x = psub.add_parser(
        "create",
        help="listen on an address and relay each connection to an upstream host",
        description=(
            "Listens on --listen and relays every connection accepted, through an emulated "
            "TCP session across the proxy's link, to --upstream. The link flags make a link "
            "for the proxy (forward: application to upstream, --reverse: upstream to "
            "application); --link uses an existing one."
        ),
    )
    x.add_argument("name", help="[A-Za-z0-9._-], 1 to 64 characters, unique in the daemon")
    x.add_argument(
        "--listen", default="127.0.0.1:0", help="host:port (default 127.0.0.1:0: a free port)"
    )
    x.add_argument("--upstream", required=True, help="host:port to relay to")
    x.add_argument("--network", type=int, default=0, help="REALTIME network (0: the default)")
    x.add_argument("--link", type=int, default=0, help="an existing link instead of link flags")
    _add_link_flags(x)
    x.add_argument(
        "--forward",
        metavar="KEY=VALUE,...",
        help="application-to-upstream settings that differ, e.g. loss=2%%",
    )
    _add_proxy_tcp_flags(x)
    x.add_argument("--disabled", action="store_true", help="create it without listening")
    x.add_argument("--json", action="store_true")
    x.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print the address it listens on only: "
        "addr=$(tcpemu proxy create redis --upstream 127.0.0.1:6379 -q)",
    )
    x = psub.add_parser("list", help="list proxies")
    x.add_argument("--network", type=int, default=0)
    x.add_argument("--json", action="store_true")
    x = psub.add_parser("get", aliases=["show"], help="a proxy, its counters, toxics and paths")
    x.add_argument("name")
    x.add_argument("--json", action="store_true")
    x = psub.add_parser(
        "update",
        help="change a proxy; settings left out stay",
        description=(
            "Changes the settings given; link flags change the proxy's link live (forward: "
            "application to upstream)."
        ),
    )
    x.add_argument("name")
    on = x.add_mutually_exclusive_group()
    on.add_argument("--enable", dest="enabled", action="store_true", default=None)
    on.add_argument(
        "--disable",
        dest="enabled",
        action="store_false",
        help="stop listening and close its connections",
    )
    x.add_argument("--listen", help="host:port to listen on instead (re-binds)")
    x.add_argument("--upstream", help="host:port to relay new connections to")
    _add_link_flags(x)
    x.add_argument("--forward", metavar="KEY=VALUE,...", help="application-to-upstream settings")
    _add_proxy_tcp_flags(x)
    x.add_argument("--json", action="store_true")
    x = psub.add_parser("delete", help="delete a proxy (its connections are closed)")
    x.add_argument("name")
    x = psub.add_parser("sessions", help="the sessions of a proxy's connections")
    x.add_argument("name")
    x.add_argument("--json", action="store_true")
    x = psub.add_parser("watch", help="print the events of a proxy's connections as they happen")
    x.add_argument("name")
    x.add_argument("--kind", action="append", help="e.g. segment_sent; repeat for several")
    x.add_argument(
        "--endpoint",
        choices=("client", "server"),
        help="client: the application's side, server: the upstream's",
    )
    x.add_argument("--replay", action="store_true", help="start with the retained history")
    x.add_argument("--count", type=int, default=0, help="stop after this many events")
    x.add_argument("--json", action="store_true", help="JSON Lines (tcpemu-sim --events form)")
    x.add_argument("--output", "-o", help="write to this file instead of stdout")
    x = psub.add_parser("toxic", help="toxiproxy's toxics on a proxy")
    tsub = x.add_subparsers(dest="toxic_action", required=True)
    t = tsub.add_parser(
        "add",
        help="add a toxic",
        description=(
            f"Toxic types and their attributes: {_TOXIC_HELP}. Durations take units "
            "(50ms), rates bit/s units (1Mbit), sizes bytes (1KiB)."
        ),
    )
    t.add_argument("name", help="the proxy")
    t.add_argument("--type", "-t", required=True, choices=TOXIC_TYPES)
    t.add_argument(
        "--attr",
        "-a",
        action="append",
        metavar="KEY=VALUE",
        help="an attribute, e.g. latency=50ms; repeat, or separate with commas",
    )
    t.add_argument(
        "--toxic-name", "-n", help="its name (default: TYPE_STREAM, e.g. latency_downstream)"
    )
    t.add_argument(
        "--stream",
        "-s",
        default="downstream",
        choices=STREAMS,
        help="downstream: upstream to application (default); upstream: the other way",
    )
    t.add_argument("--toxicity", help="share of connections it applies to, e.g. 0.5 (default 1)")
    t.add_argument("--json", action="store_true")
    t = tsub.add_parser("remove", help="remove a toxic")
    t.add_argument("name", help="the proxy")
    t.add_argument("toxic")
    t = tsub.add_parser("list", help="list a proxy's toxics")
    t.add_argument("name", help="the proxy")
    t.add_argument("--json", action="store_true")
