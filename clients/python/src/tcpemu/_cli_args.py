"""The ``tcpemu`` command's link, TCP, reader and toxic flags, and how they
become PathSpec, TcpConfig, Reader and Toxic values."""

from __future__ import annotations

import argparse
from typing import Any, Dict, List, Optional, Tuple

from tcpemu import toxics
from tcpemu.spec import PathSpec, TcpConfig
from tcpemu.toxics import Toxic
from tcpemu.units import parse_size


def _add_link_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("link (both directions unless --reverse)")
    g.add_argument("--delay", help="one-way delay, e.g. 50ms")
    g.add_argument("--jitter", help="delay variation, e.g. 5ms")
    g.add_argument("--rate", help="link rate, e.g. 10Mbit (0: unlimited)")
    g.add_argument("--queue", help="drop-tail queue: a size (64KiB) or Np packets")
    g.add_argument("--loss", help="random loss probability, e.g. 0.01 or 1%%")
    g.add_argument("--ge-loss", metavar="P,R,H,K", help="Gilbert-Elliott loss (netem names)")
    g.add_argument("--reorder", help="reorder probability")
    g.add_argument("--duplicate", help="duplicate probability")
    g.add_argument("--corrupt", help="corrupt probability")
    g.add_argument("--mtu", help="path MTU in bytes")
    g.add_argument(
        "--reverse",
        metavar="KEY=VALUE,...",
        help="server-to-client settings that differ, e.g. rate=1Mbit,delay=80ms",
    )


def _path_spec(args: argparse.Namespace) -> PathSpec:
    ge: Optional[Tuple[float, float, float, float]] = None
    if args.ge_loss:
        parts = [float(x) for x in args.ge_loss.split(",")]
        if len(parts) != 4:
            raise ValueError(f"--ge-loss: {args.ge_loss!r} is not p,r,h,k")
        ge = (parts[0], parts[1], parts[2], parts[3])
    return PathSpec(
        delay=args.delay,
        rate=args.rate,
        loss=args.loss,
        jitter=args.jitter,
        queue=args.queue,
        ge_loss=ge,
        reorder=args.reorder,
        duplicate=args.duplicate,
        corrupt=args.corrupt,
        mtu=args.mtu,
    )


def _key_values(text: Optional[str], flag: str) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    if not text:
        return out
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"{flag}: {item!r} is not KEY=VALUE")
        key = key.strip().replace("-", "_")
        v: Any = value.strip()
        if v.lower() in ("true", "yes", "on"):
            v = True
        elif v.lower() in ("false", "no", "off"):
            v = False
        elif v.isdigit():
            v = int(v)
        out[key] = v
    return out


def _path_settings(text: Optional[str], flag: str) -> Optional[PathSpec]:
    """The PathSpec of a KEY=VALUE,... flag (--reverse, --egress, --ingress);
    None when it is not given."""
    kv = _key_values(text, flag)
    if not kv:
        return None
    if "ge_loss" in kv:
        kv["ge_loss"] = tuple(str(kv["ge_loss"]).split(";"))
    try:
        return PathSpec(**kv)
    except TypeError:
        allowed = ", ".join(PathSpec.__dataclass_fields__)
        raise ValueError(f"{flag}: unknown setting; allowed: {allowed}") from None


def _reverse(args: argparse.Namespace) -> Optional[PathSpec]:
    return _path_settings(args.reverse, "--reverse")


def _add_tcp_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("TCP (both endpoints; --client-config/--server-config per endpoint)")
    g.add_argument("--nodelay", action="store_true", default=None, help="disable Nagle")
    g.add_argument("--cork", action="store_true", default=None, help="hold partial segments")
    g.add_argument("--send-buffer", help="send buffer size, e.g. 256KiB")
    g.add_argument("--recv-buffer", help="receive buffer size")
    g.add_argument("--no-delayed-ack", dest="delayed_ack", action="store_false", default=None)
    g.add_argument("--rto-min", help="minimum retransmission timeout")
    g.add_argument("--initial-window", type=int, help="initial congestion window, segments")
    g.add_argument(
        "--cc",
        choices=("newreno", "cubic", "bbr"),
        help="congestion control (default newreno; bbr is BBR v1 and always paces)",
    )
    g.add_argument(
        "--pacing",
        action="store_true",
        default=None,
        help="pace segments over the round trip (NewReno, CUBIC)",
    )
    g.add_argument("--msl", help="maximum segment lifetime (TIME_WAIT lasts 2 MSL)")
    g.add_argument("--client-config", metavar="KEY=VALUE,...", help="client TcpConfig fields")
    g.add_argument("--server-config", metavar="KEY=VALUE,...", help="server TcpConfig fields")


def _tcp_configs(args: argparse.Namespace) -> Tuple[TcpConfig, TcpConfig]:
    common = TcpConfig(
        nodelay=args.nodelay,
        cork=args.cork,
        send_buffer=args.send_buffer,
        recv_buffer=args.recv_buffer,
        delayed_ack=args.delayed_ack,
        rto_min=args.rto_min,
        initial_window=args.initial_window,
        congestion_control=args.cc,
        pacing=args.pacing,
        msl=args.msl,
    )
    out = []
    for flag, text in (
        ("--client-config", args.client_config),
        ("--server-config", args.server_config),
    ):
        try:
            out.append(common.merged(TcpConfig(**_key_values(text, flag))))
        except TypeError:
            allowed = ", ".join(TcpConfig.__dataclass_fields__)
            raise ValueError(f"{flag}: unknown field; allowed: {allowed}") from None
    return out[0], out[1]


def _reader(text: Optional[str]) -> Any:
    if text is None:
        return None
    return text if text in ("auto", "manual") else parse_size(text)


def _tcp_settings(text: Optional[str], flag: str) -> Optional[TcpConfig]:
    """The TcpConfig of a KEY=VALUE,... flag; None when it is not given."""
    kv = _key_values(text, flag)
    if not kv:
        return None
    try:
        return TcpConfig(**kv)
    except TypeError:
        allowed = ", ".join(TcpConfig.__dataclass_fields__)
        raise ValueError(f"{flag}: unknown field; allowed: {allowed}") from None


def _add_proxy_tcp_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("proxy settings")
    g.add_argument(
        "--downstream-tcp",
        metavar="KEY=VALUE,...",
        help="TcpConfig of the endpoint facing the application, e.g. nodelay=true",
    )
    g.add_argument(
        "--upstream-tcp",
        metavar="KEY=VALUE,...",
        help="TcpConfig of the endpoint facing the upstream host",
    )
    g.add_argument("--relay-buffer", help="bytes held per direction per connection, e.g. 64KiB")


def _toxic_attributes(items: Optional[List[str]]) -> Dict[str, str]:
    """--attr KEY=VALUE (repeated, or KEY=VALUE,KEY=VALUE): values stay text
    for the toxic to parse in its units."""
    out: Dict[str, str] = {}
    for text in items or ():
        for item in text.split(","):
            key, sep, value = item.partition("=")
            if not sep or not key.strip():
                raise ValueError(f"--attr: {item!r} is not KEY=VALUE")
            out[key.strip().replace("-", "_")] = value.strip()
    return out


def _toxic(args: argparse.Namespace) -> Toxic:
    return toxics.make(
        args.type,
        _toxic_attributes(args.attr),
        stream=args.stream,
        toxicity=args.toxicity,
        name=args.toxic_name,
    )
