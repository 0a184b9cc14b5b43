"""Toxics: the connection-level faults of a proxy, in toxiproxy's vocabulary.

    proxy.add_toxic(tcpemu.toxics.latency("100ms", jitter="10ms"))
    proxy.add_toxic(tcpemu.toxics.bandwidth("1Mbit", stream="upstream"))

A toxic acts on one stream: ``"downstream"`` (the default: upstream host to
application, the proxy link's reverse direction) or ``"upstream"``
(application to upstream host, the forward direction), on the share
`toxicity` of the connections (drawn per connection; None is 1). Values take
the package's units: durations ``"50ms"`` or seconds, rates ``"1Mbit"`` or
bit/s, sizes ``"1KiB"`` or bytes; unlike toxiproxy's JSON, a bare number is
never milliseconds or KB/s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

from tcpemu import _names
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb
from tcpemu.spec import duration_proto, seconds
from tcpemu.units import (
    Duration,
    Probability,
    Rate,
    Size,
    format_duration,
    format_rate,
    format_size,
    parse_probability,
    parse_rate,
    parse_size,
)

__all__ = [
    "TOXIC_TYPES",
    "Toxic",
    "ToxicArg",
    "bandwidth",
    "latency",
    "limit_data",
    "reset_peer",
    "slicer",
    "slow_close",
    "timeout",
]

# How an attribute is written in the message and read back: "duration" is a
# google.protobuf.Duration (seconds in Python), "rate" bit/s, "size" bytes.
_Kind = str
# Per toxic type (the name of its field in Toxic's oneof): attribute ->
# (field of the type's message, kind).
_ATTRIBUTES: Dict[str, Dict[str, Tuple[str, _Kind]]] = {
    "latency": {"latency": ("latency", "duration"), "jitter": ("jitter", "duration")},
    "bandwidth": {"rate": ("rate_bps", "rate")},
    "slow_close": {"delay": ("delay", "duration")},
    "timeout": {"timeout": ("timeout", "duration")},
    "reset_peer": {"timeout": ("timeout", "duration")},
    "limit_data": {"bytes": ("bytes", "size")},
    "slicer": {
        "average_size": ("average_size", "size"),
        "size_variation": ("size_variation", "size"),
        "delay": ("delay", "duration"),
    },
}
TOXIC_TYPES: Tuple[str, ...] = tuple(_ATTRIBUTES)
STREAMS = ("downstream", "upstream")


def toxic_stream(value: Union[str, int, None]) -> int:
    """A ToxicStream from "downstream", "upstream", a proto name or number."""
    if value is None:
        return pb.TOXIC_STREAM_DOWNSTREAM
    return _names._enum(pb.ToxicStream, "TOXIC_STREAM_", value, "stream", STREAMS)


def stream_name(value: int) -> str:
    """The stream's name: "upstream", else "downstream" (the default)."""
    return "upstream" if value == pb.TOXIC_STREAM_UPSTREAM else "downstream"


def _set(msg: Any, attr: str, fieldname: str, kind: _Kind, value: Any) -> None:
    try:
        if kind == "duration":
            getattr(msg, fieldname).CopyFrom(duration_proto(value))
        elif kind == "rate":
            setattr(msg, fieldname, parse_rate(value))
        else:
            setattr(msg, fieldname, parse_size(value))
    except (ValueError, TypeError) as e:
        raise ValueError(f"{attr}: {e}") from None


def _get(msg: Any, fieldname: str, kind: _Kind) -> Union[int, float]:
    value = getattr(msg, fieldname)
    if kind == "duration":
        return seconds(value)
    return int(value)


@dataclass
class Toxic:
    """One toxic of a proxy (tcpemu.v1.Toxic) in toxiproxy's terms: its
    `type` (one of :data:`TOXIC_TYPES`), its `attributes` by toxiproxy's
    names, `name` (empty: the daemon names it ``"<type>_<stream>"``),
    `stream` ("downstream" or "upstream") and `toxicity` (None: 1).

    Attributes as the daemon returns them are numbers: durations in
    seconds, ``rate`` in bit/s, sizes in bytes.
    """

    type: str
    attributes: Dict[str, Any] = field(default_factory=dict)
    name: str = ""
    stream: str = "downstream"
    toxicity: Optional[float] = None

    def to_proto(self) -> pb.Toxic:
        kind = self.type.strip().lower()
        if kind not in _ATTRIBUTES:
            raise ValueError(
                f"toxic type {self.type!r} is not valid; allowed: {', '.join(TOXIC_TYPES)}"
            )
        out = pb.Toxic(name=self.name or "", stream=toxic_stream(self.stream))  # type: ignore[arg-type]
        if self.toxicity is not None:
            out.toxicity = parse_probability(self.toxicity)
        body = getattr(out, kind)
        body.SetInParent()  # the oneof is set even when every attribute is zero
        allowed = _ATTRIBUTES[kind]
        for attr, value in self.attributes.items():
            if attr not in allowed:
                raise ValueError(
                    f"{kind} toxic: unknown attribute {attr!r}; allowed: {', '.join(allowed)}"
                )
            if value is not None:
                fieldname, vkind = allowed[attr]
                _set(body, attr, fieldname, vkind, value)
        return out

    @classmethod
    def from_proto(cls, p: pb.Toxic) -> Toxic:
        kind = p.WhichOneof("kind") or ""
        attributes: Dict[str, Any] = {}
        if kind in _ATTRIBUTES:
            body = getattr(p, kind)
            for attr, (fieldname, vkind) in _ATTRIBUTES[kind].items():
                attributes[attr] = _get(body, fieldname, vkind)
        return cls(
            type=kind,
            attributes=attributes,
            name=p.name,
            stream=stream_name(p.stream),
            toxicity=p.toxicity if p.HasField("toxicity") else None,
        )

    def describe(self) -> str:
        """One line, e.g. ``latency_downstream: latency downstream, latency
        50ms, jitter 5ms``."""
        parts = []
        kinds = _ATTRIBUTES.get(self.type, {})
        for attr, value in self.attributes.items():
            vkind = kinds[attr][1] if attr in kinds else ""
            parts.append(f"{attr} {_format(value, vkind)}")
        if self.toxicity is not None:
            parts.append(f"toxicity {self.toxicity:g}")
        head = f"{self.name}: " if self.name else ""
        return f"{head}{self.type} {self.stream}" + (", " + ", ".join(parts) if parts else "")


def _format(value: Any, kind: _Kind) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return str(value)
    if kind == "duration":
        return format_duration(round(value * 1e9))
    if kind == "rate":
        return format_rate(int(value))
    if kind == "size":
        return format_size(int(value))
    return str(value)


ToxicArg = Union[Toxic, pb.Toxic]


def toxic_proto(value: ToxicArg) -> pb.Toxic:
    if isinstance(value, pb.Toxic):
        return value
    if isinstance(value, Toxic):
        return value.to_proto()
    raise TypeError(
        f"expected a tcpemu.toxics.Toxic (e.g. tcpemu.toxics.latency('50ms')), "
        f"got {type(value).__name__}"
    )


def toxic_list(values: Optional[Any]) -> List[pb.Toxic]:
    if values is None:
        return []
    if isinstance(values, (Toxic, pb.Toxic)):
        values = [values]
    return [toxic_proto(v) for v in values]


def _make(
    kind: str,
    attributes: Mapping[str, Any],
    stream: Union[str, int],
    toxicity: Optional[Probability],
    name: Optional[str],
) -> Toxic:
    t = Toxic(
        type=kind,
        attributes=dict(attributes),
        name=name or "",
        stream=stream_name(toxic_stream(stream)),
        toxicity=None if toxicity is None else parse_probability(toxicity),
    )
    t.to_proto()  # values the daemon would refuse to parse fail here, at once
    return t


def latency(
    latency: Duration,
    jitter: Duration = 0,
    *,
    stream: Union[str, int] = "downstream",
    toxicity: Optional[Probability] = None,
    name: Optional[str] = None,
) -> Toxic:
    """Adds `latency` (± a uniform `jitter`) to every segment of the stream."""
    return _make("latency", {"latency": latency, "jitter": jitter}, stream, toxicity, name)


def bandwidth(
    rate: Rate,
    *,
    stream: Union[str, int] = "downstream",
    toxicity: Optional[Probability] = None,
    name: Optional[str] = None,
) -> Toxic:
    """Limits the proxy link's rate in the stream's direction (``"1Mbit"``,
    or bit/s), one queue shared by the proxy's connections."""
    return _make("bandwidth", {"rate": rate}, stream, toxicity, name)


def slow_close(
    delay: Duration,
    *,
    stream: Union[str, int] = "downstream",
    toxicity: Optional[Probability] = None,
    name: Optional[str] = None,
) -> Toxic:
    """Delays the close of the socket the stream flows to by `delay`."""
    return _make("slow_close", {"delay": delay}, stream, toxicity, name)


def timeout(
    timeout: Duration = 0,
    *,
    stream: Union[str, int] = "downstream",
    toxicity: Optional[Probability] = None,
    name: Optional[str] = None,
) -> Toxic:
    """A black hole: nothing of the stream gets through; the connection is
    closed after `timeout` (0: never, until the toxic is removed)."""
    return _make("timeout", {"timeout": timeout}, stream, toxicity, name)


def reset_peer(
    timeout: Duration = 0,
    *,
    stream: Union[str, int] = "downstream",
    toxicity: Optional[Probability] = None,
    name: Optional[str] = None,
) -> Toxic:
    """Resets the connection `timeout` after it opened (or after the toxic
    was added)."""
    return _make("reset_peer", {"timeout": timeout}, stream, toxicity, name)


def limit_data(
    limit: Size,
    *,
    stream: Union[str, int] = "downstream",
    toxicity: Optional[Probability] = None,
    name: Optional[str] = None,
) -> Toxic:
    """Closes the connection once `limit` bytes of the stream were delivered
    (toxiproxy's ``bytes`` attribute)."""
    return _make("limit_data", {"bytes": limit}, stream, toxicity, name)


def slicer(
    average_size: Size,
    size_variation: Size = 0,
    delay: Duration = 0,
    *,
    stream: Union[str, int] = "downstream",
    toxicity: Optional[Probability] = None,
    name: Optional[str] = None,
) -> Toxic:
    """Small segments: the stream's sender uses an MSS of `average_size`
    (at least 88) with Nagle off, on connections opened afterwards.
    `size_variation` and `delay` are kept but not acted on."""
    return _make(
        "slicer",
        {"average_size": average_size, "size_variation": size_variation, "delay": delay},
        stream,
        toxicity,
        name,
    )


def make(
    kind: str,
    attributes: Mapping[str, Any],
    *,
    stream: Union[str, int] = "downstream",
    toxicity: Optional[Probability] = None,
    name: Optional[str] = None,
) -> Toxic:
    """A toxic from its type name and attributes by toxiproxy's names
    (``make("latency", {"latency": "50ms"})``)."""
    norm = kind.strip().lower().replace("-", "_")
    if norm not in _ATTRIBUTES:
        raise ValueError(f"toxic type {kind!r} is not valid; allowed: {', '.join(TOXIC_TYPES)}")
    return _make(norm, attributes, stream, toxicity, name)
