"""What makes a link direction more than static impairments, in human units:
its queue management (``aqm``), a schedule of values over time
(``schedule``), a Mahimahi delivery trace (``trace``) and queue sampling.
Each converts to its tcpemu.v1 message; docs/links.md describes them."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, Mapping, Sequence, Tuple, Union

from google.protobuf import duration_pb2

from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb
from tcpemu.units import parse_duration, parse_probability, parse_rate, parse_size

__all__ = ["AqmArg", "ScheduleArg", "TraceArg", "aqm_proto", "schedule_proto", "trace_proto"]

AqmArg = Union[str, Mapping[str, Any], pb.Aqm]
ScheduleArg = Union[Sequence[Mapping[str, Any]], Mapping[str, Any], pb.LinkSchedule]
TraceArg = Union[str, Path, Tuple[str, str], pb.DeliveryTrace]

_AQM_KINDS = {
    "drop_tail": pb.Aqm.KIND_DROP_TAIL,
    "droptail": pb.Aqm.KIND_DROP_TAIL,
    "red": pb.Aqm.KIND_RED,
    "codel": pb.Aqm.KIND_CODEL,
    "fq_codel": pb.Aqm.KIND_FQ_CODEL,
}
# Keys of an aqm mapping: (message field, converter).
_AQM_FIELDS: Dict[str, Tuple[str, Callable[[Any], Any]]] = {
    "ecn": ("ecn", bool),
    "min_threshold": ("red_min_threshold", parse_size),
    "max_threshold": ("red_max_threshold", parse_size),
    "max_p": ("red_max_p", parse_probability),
    "weight": ("red_weight", float),
    "gentle": ("red_gentle", bool),
    "avpkt": ("red_avpkt", parse_size),
    "target": ("codel_target", parse_duration),
    "interval": ("codel_interval", parse_duration),
    "flows": ("fq_flows", int),
    "quantum": ("fq_quantum", parse_size),
}


def _duration(ns: int) -> duration_pb2.Duration:
    d = duration_pb2.Duration()
    d.FromNanoseconds(ns)
    return d


def aqm_proto(value: AqmArg) -> pb.Aqm:
    """``"codel"``, or ``{"kind": "codel", "ecn": True, "target": "5ms"}``
    (keys: kind, ecn, min_threshold, max_threshold, max_p, weight, gentle,
    avpkt, target, interval, flows, quantum), or a message."""
    if isinstance(value, pb.Aqm):
        return value
    spec = {"kind": value} if isinstance(value, str) else dict(value)
    kind = str(spec.pop("kind", "drop_tail")).strip().lower()
    if kind not in _AQM_KINDS:
        raise ValueError(
            f"aqm.kind: {kind!r} is not valid; allowed: drop_tail, red, codel, fq_codel"
        )
    out = pb.Aqm(kind=_AQM_KINDS[kind])
    for key, v in spec.items():
        if key not in _AQM_FIELDS:
            raise ValueError(f"aqm: unknown key {key!r}; allowed: kind, {', '.join(_AQM_FIELDS)}")
        field, convert = _AQM_FIELDS[key]
        converted = convert(v)
        if field in ("codel_target", "codel_interval"):
            getattr(out, field).CopyFrom(_duration(int(converted)))
        else:
            setattr(out, field, converted)
    return out


def _point(i: int, p: Mapping[str, Any]) -> pb.SchedulePoint:
    allowed = {"at", "ramp", "rate", "delay", "jitter", "loss", "down"}
    unknown = set(p) - allowed
    if unknown:
        raise ValueError(
            f"schedule.points[{i}]: unknown key {sorted(unknown)[0]!r}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )
    if "at" not in p:
        raise ValueError(f"schedule.points[{i}].at: required")
    out = pb.SchedulePoint(ramp=bool(p.get("ramp", False)))
    out.at.CopyFrom(_duration(parse_duration(p["at"])))
    if "rate" in p:
        out.rate_bps = parse_rate(p["rate"])
    if "delay" in p:
        out.delay.CopyFrom(_duration(parse_duration(p["delay"])))
    if "jitter" in p:
        out.jitter.CopyFrom(_duration(parse_duration(p["jitter"])))
    if "loss" in p:
        out.loss = parse_probability(p["loss"])
    if "down" in p:
        out.down = bool(p["down"])
    return out


def schedule_proto(value: ScheduleArg) -> pb.LinkSchedule:
    """A list of points (``{"at": "5s", "rate": "2mbit", "ramp": True}``,
    keys at, ramp, rate, delay, jitter, loss, down), or
    ``{"points": [...], "repeat": "10s", "ramp_step": "10ms"}``, or a
    message."""
    if isinstance(value, pb.LinkSchedule):
        return value
    if isinstance(value, Mapping):
        spec = dict(value)
        points = spec.pop("points", [])
        repeat = spec.pop("repeat", None)
        ramp_step = spec.pop("ramp_step", None)
        if spec:
            raise ValueError(
                f"schedule: unknown key {sorted(spec)[0]!r}; allowed: points, repeat, ramp_step"
            )
    else:
        points, repeat, ramp_step = list(value), None, None
    out = pb.LinkSchedule(points=[_point(i, p) for i, p in enumerate(points)])
    if repeat is not None:
        out.repeat.CopyFrom(_duration(parse_duration(repeat)))
    if ramp_step is not None:
        out.ramp_step.CopyFrom(_duration(parse_duration(ramp_step)))
    return out


def trace_proto(value: TraceArg) -> pb.DeliveryTrace:
    """A Mahimahi trace file (a path; its name is the file's), ``(name,
    text)``, or a message."""
    if isinstance(value, pb.DeliveryTrace):
        return value
    if isinstance(value, tuple):
        name, text = value
        return pb.DeliveryTrace(name=name, mahimahi=text)
    path = Path(value)
    return pb.DeliveryTrace(name=path.name, mahimahi=path.read_text())
