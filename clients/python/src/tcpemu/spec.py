"""Configuration objects in human units: a TCP endpoint's configuration, one
direction of a link, jitter, and an application reader. Each converts to its
tcpemu.v1 message with ``to_proto()``; a field left as None keeps the
daemon's default."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, List, Mapping, Optional, Tuple, Union

from google.protobuf import duration_pb2

from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb
from tcpemu.link_dynamics import (
    AqmArg,
    ScheduleArg,
    TraceArg,
    aqm_proto,
    schedule_proto,
    trace_proto,
)
from tcpemu.units import (
    Duration,
    Probability,
    Rate,
    Size,
    parse_duration,
    parse_probability,
    parse_rate,
    parse_size,
)

__all__ = ["Jitter", "PathSpec", "ReaderArg", "TcpConfig", "duration_proto", "reader_proto"]


def duration_proto(value: Duration) -> duration_pb2.Duration:
    ns = parse_duration(value)
    return duration_pb2.Duration(seconds=ns // 1_000_000_000, nanos=ns % 1_000_000_000)


def seconds(d: duration_pb2.Duration) -> float:
    """A google.protobuf.Duration as float seconds."""
    return d.seconds + d.nanos / 1e9


_SIZE_FIELDS = ("send_buffer", "recv_buffer", "mtu")
_BOOL_FIELDS = (
    "nodelay",
    "cork",
    "delayed_ack",
    "window_scaling",
    "keepalive",
    "limited_transmit",
    "timestamps",
    "sack",
    "rack",
    "hystart",
    "pacing",
    "ecn",
    "rfc5961_rst",
    "rfc5961_syn",
)
_INT_FIELDS = (
    "max_retransmissions",
    "syn_retries",
    "synack_retries",
    "keepalive_probes",
    "initial_window",
    "challenge_ack_limit",
    "window_scale",
    "ecn_syn_retries",
)
_DURATION_FIELDS = (
    "cork_timeout",
    "rto_initial",
    "rto_min",
    "rto_max",
    "delayed_ack_timeout",
    "msl",
    "keepalive_idle",
    "keepalive_interval",
    "persist_min",
    "persist_max",
    "invalid_ack_interval",
)


@dataclass
class TcpConfig:
    """One endpoint's TCP configuration (tcpemu.v1.TcpConfig).

    Sizes take ``"256KiB"`` or bytes, durations ``"200ms"`` or seconds.
    """

    send_buffer: Optional[Size] = None
    recv_buffer: Optional[Size] = None
    mtu: Optional[Size] = None
    nodelay: Optional[bool] = None
    cork: Optional[bool] = None
    cork_timeout: Optional[Duration] = None
    rto_initial: Optional[Duration] = None
    rto_min: Optional[Duration] = None
    rto_max: Optional[Duration] = None
    max_retransmissions: Optional[int] = None
    syn_retries: Optional[int] = None
    synack_retries: Optional[int] = None
    delayed_ack: Optional[bool] = None
    delayed_ack_timeout: Optional[Duration] = None
    msl: Optional[Duration] = None
    window_scaling: Optional[bool] = None
    keepalive: Optional[bool] = None
    keepalive_idle: Optional[Duration] = None
    keepalive_interval: Optional[Duration] = None
    keepalive_probes: Optional[int] = None
    congestion_control: Optional[str] = None  # "newreno", "cubic" or "bbr"
    initial_window: Optional[int] = None
    limited_transmit: Optional[bool] = None
    timestamps: Optional[bool] = None
    sack: Optional[bool] = None
    rack: Optional[bool] = None  # RACK-TLP loss detection (RFC 8985), with SACK
    hystart: Optional[bool] = None  # HyStart++ slow start (RFC 9406)
    # Segments spaced over the round trip (BBR always paces).
    pacing: Optional[bool] = None
    # ECN (RFC 3168): requested in the SYN and accepted in the SYN-ACK when
    # the peer requested it (as Linux's net.ipv4.tcp_ecn=1). Counters
    # ce_received, ece_received, ecn_reductions, cwr_sent; Tcb.ecn_ok.
    ecn: Optional[bool] = None
    # With ecn: retransmitted SYNs that still request ECN before falling
    # back to SYNs without it (RFC 3168 6.1.1.1), 0..255; 0 as Linux, 1 as
    # FreeBSD's net.inet.tcp.ecn.maxretries.
    ecn_syn_retries: Optional[int] = None
    # The window scale shift offered in the SYN: -1 (the default) for the
    # smallest that covers recv_buffer, 0..14 as given.
    window_scale: Optional[int] = None
    # "linux" (the default) or "freebsd": whose rules apply where the RFCs
    # leave stacks a choice (option layout, buffers rounded to the MSS, the
    # window from the free buffer; docs/tcp.md).
    flavor: Optional[str] = None
    # RFC 5961's defences (default true): an RST resets only at exactly
    # RCV.NXT, and a SYN in a synchronized state gets a challenge ACK. False
    # applies RFC 793's rules, as FreeBSD's insecure_rst / insecure_syn.
    rfc5961_rst: Optional[bool] = None
    rfc5961_syn: Optional[bool] = None
    invalid_ack_interval: Optional[Duration] = None
    challenge_ack_limit: Optional[int] = None
    persist_min: Optional[Duration] = None
    persist_max: Optional[Duration] = None

    def to_proto(self) -> pb.TcpConfig:
        out = pb.TcpConfig()
        for name in _SIZE_FIELDS:
            v = getattr(self, name)
            if v is not None:
                setattr(out, name, parse_size(v))
        for name in _BOOL_FIELDS:
            v = getattr(self, name)
            if v is not None:
                setattr(out, name, bool(v))
        for name in _INT_FIELDS:
            v = getattr(self, name)
            if v is not None:
                setattr(out, name, int(v))
        for name in _DURATION_FIELDS:
            v = getattr(self, name)
            if v is not None:
                getattr(out, name).CopyFrom(duration_proto(v))
        if self.congestion_control is not None:
            cc = self.congestion_control.strip().upper()
            if not cc.startswith("CONGESTION_CONTROL_"):
                cc = "CONGESTION_CONTROL_" + cc
            try:
                out.congestion_control = pb.CongestionControl.Value(cc)  # type: ignore[assignment]
            except ValueError:
                raise ValueError(
                    f"congestion_control: {self.congestion_control!r} is not valid; "
                    "allowed: newreno, cubic, bbr"
                ) from None
        if self.flavor is not None:
            flavor = self.flavor.strip().upper()
            if not flavor.startswith("STACK_FLAVOR_"):
                flavor = "STACK_FLAVOR_" + flavor
            try:
                out.flavor = pb.StackFlavor.Value(flavor)  # type: ignore[assignment]
            except ValueError:
                raise ValueError(
                    f"flavor: {self.flavor!r} is not valid; allowed: linux, freebsd"
                ) from None
        return out

    @classmethod
    def of(cls, value: TcpConfigArg) -> pb.TcpConfig:
        """A TcpConfig message from a TcpConfig, a mapping of its fields, a
        message, or None (all defaults)."""
        if value is None:
            return pb.TcpConfig()
        if isinstance(value, pb.TcpConfig):
            return value
        if isinstance(value, TcpConfig):
            return value.to_proto()
        return cls(**dict(value)).to_proto()

    def merged(self, other: TcpConfig) -> TcpConfig:
        """This config with every field `other` sets taken from `other`."""
        changes = {
            f.name: getattr(other, f.name)
            for f in dataclasses.fields(other)
            if getattr(other, f.name) is not None
        }
        return dataclasses.replace(self, **changes)


TcpConfigArg = Union[TcpConfig, Mapping[str, Any], pb.TcpConfig, None]


@dataclass
class Jitter:
    """Random delay variation of one link direction (netem's jitter)."""

    jitter: Duration
    distribution: str = "uniform"  # or "normal"
    correlation: float = 0.0
    keep_order: bool = False

    def to_proto(self) -> pb.Jitter:
        dist = self.distribution.strip().upper()
        if not dist.startswith("DISTRIBUTION_"):
            dist = "DISTRIBUTION_" + dist
        try:
            pb.Jitter.Distribution.Value(dist)
        except ValueError:
            raise ValueError(
                f"jitter distribution: {self.distribution!r} is not valid; allowed: uniform, normal"
            ) from None
        return pb.Jitter(
            jitter=duration_proto(self.jitter),
            distribution=dist,
            correlation=float(self.correlation),
            keep_order=bool(self.keep_order),
        )


@dataclass
class PathSpec:
    """One direction of a link, netem-style; None leaves a field as it is (the
    daemon's default on create, the current value on update).

    ``queue`` is a size in bytes (``"64KiB"``) or a packet count as ``"100p"``;
    ``ge_loss`` is Gilbert-Elliott ``(p, r, h, k)``: p = P(good→bad),
    r = P(bad→good), h and k = probability a packet gets through in the bad
    and in the good state. ``reorder`` is a probability or ``(probability, gap)``.
    ``aqm`` is the queue management (``"codel"`` or a mapping, see
    tcpemu.link_dynamics), ``schedule`` values that change over time,
    ``trace`` a Mahimahi delivery trace (a file path or ``(name, text)``),
    ``queue_sample_interval`` how often the queue emits QUEUE_SAMPLE events.
    """

    delay: Optional[Duration] = None
    rate: Optional[Rate] = None
    loss: Optional[Probability] = None
    jitter: Optional[Union[Duration, Jitter]] = None
    queue: Optional[Size] = None
    ge_loss: Optional[Tuple[float, float, float, float]] = None
    reorder: Optional[Union[Probability, Tuple[Probability, int]]] = None
    duplicate: Optional[Probability] = None
    corrupt: Optional[Probability] = None
    mtu: Optional[Size] = None
    aqm: Optional[AqmArg] = None
    schedule: Optional[ScheduleArg] = None
    trace: Optional[TraceArg] = None
    queue_sample_interval: Optional[Duration] = None

    def to_proto(self, base: Optional[pb.PathSpec] = None) -> pb.PathSpec:
        """The message, starting from `base` (a copy) when given."""
        out = pb.PathSpec()
        if base is not None:
            out.CopyFrom(base)
        if self.loss is not None and self.ge_loss is not None:
            raise ValueError("loss and ge_loss: set one loss model, not both")
        if self.delay is not None:
            out.delay.CopyFrom(duration_proto(self.delay))
        if self.rate is not None:
            out.rate_bps = parse_rate(self.rate)
        if self.loss is not None:
            out.loss.random = parse_probability(self.loss)
        if self.ge_loss is not None:
            values = tuple(self.ge_loss)
            if len(values) != 4:
                raise ValueError(f"ge_loss: expected (p, r, h, k), got {self.ge_loss!r}")
            p, r, h, k = (parse_probability(v) for v in values)
            out.loss.gilbert_elliott.CopyFrom(pb.GilbertElliott(p=p, r=r, h=h, k=k))
        if self.jitter is not None:
            j = self.jitter if isinstance(self.jitter, Jitter) else Jitter(self.jitter)
            out.jitter.CopyFrom(j.to_proto())
        if self.queue is not None:
            q = self.queue
            if isinstance(q, str) and q.strip().endswith("p"):
                text = q.strip()[:-1]
                if not text.isdigit():
                    raise ValueError(f"queue: {q!r} is not valid; expected e.g. 100p or 64KiB")
                out.queue_limit_packets = int(text)
                out.queue_limit_bytes = 0
            else:
                out.queue_limit_bytes = parse_size(q)
                out.queue_limit_packets = 0
        if self.reorder is not None:
            if isinstance(self.reorder, tuple):
                prob, gap = self.reorder
                out.reorder = parse_probability(prob)
                out.reorder_gap = int(gap)
            else:
                out.reorder = parse_probability(self.reorder)
        if self.duplicate is not None:
            out.duplicate = parse_probability(self.duplicate)
        if self.corrupt is not None:
            out.corrupt = parse_probability(self.corrupt)
        if self.mtu is not None:
            out.mtu = parse_size(self.mtu)
        if self.aqm is not None:
            out.aqm.CopyFrom(aqm_proto(self.aqm))
        if self.schedule is not None:
            out.schedule.CopyFrom(schedule_proto(self.schedule))
        if self.trace is not None:
            out.trace.CopyFrom(trace_proto(self.trace))
        if self.queue_sample_interval is not None:
            out.queue_sample_interval.CopyFrom(duration_proto(self.queue_sample_interval))
        return out

    def is_empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in dataclasses.fields(self))

    def mask_paths(self) -> List[str]:
        """The PathSpec message fields this spec sets: what an update of a
        link direction names in its field mask."""
        paths: List[str] = []
        for name, fields in _MASK_PATHS:
            if getattr(self, name) is not None:
                paths.extend(f for f in fields if f not in paths)
        if isinstance(self.reorder, tuple):
            paths.append("reorder_gap")
        return paths


# PathSpec's settings and the message fields each one sets.
_MASK_PATHS: Tuple[Tuple[str, Tuple[str, ...]], ...] = (
    ("delay", ("delay",)),
    ("rate", ("rate_bps",)),
    ("loss", ("loss",)),
    ("ge_loss", ("loss",)),
    ("jitter", ("jitter",)),
    ("queue", ("queue_limit_packets", "queue_limit_bytes")),
    ("reorder", ("reorder",)),
    ("duplicate", ("duplicate",)),
    ("corrupt", ("corrupt",)),
    ("mtu", ("mtu",)),
    ("aqm", ("aqm",)),
    ("schedule", ("schedule",)),
    ("trace", ("trace",)),
    ("queue_sample_interval", ("queue_sample_interval",)),
)


PathArg = Union[PathSpec, Mapping[str, Any], pb.PathSpec]


def path_spec(value: PathArg) -> Union[PathSpec, pb.PathSpec]:
    if isinstance(value, (PathSpec, pb.PathSpec)):
        return value
    return PathSpec(**dict(value))


ReaderArg = Union[str, int, float, pb.Reader, None]


def reader_proto(value: ReaderArg) -> Optional[pb.Reader]:
    """A Reader from "auto", "manual", a rate in bytes/s (number or size
    such as ``"1MiB"``), or a message; None for the daemon's default (auto)."""
    if value is None:
        return None
    if isinstance(value, pb.Reader):
        return value
    if isinstance(value, str):
        name = value.strip().lower()
        if name == "auto":
            return pb.Reader(mode=pb.Reader.MODE_AUTO)
        if name == "manual":
            return pb.Reader(mode=pb.Reader.MODE_MANUAL)
        try:
            rate = parse_size(value[:-2] if value.endswith("/s") else value)
        except ValueError:
            raise ValueError(
                f"reader: {value!r} is not valid; use 'auto', 'manual' or a rate in "
                "bytes/s such as 1000000 or '1MiB'"
            ) from None
        return pb.Reader(mode=pb.Reader.MODE_RATE, rate_bytes_per_sec=rate)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"reader: {value!r} is not valid")
    return pb.Reader(mode=pb.Reader.MODE_RATE, rate_bytes_per_sec=round(value))
