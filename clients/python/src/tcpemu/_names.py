"""Names <-> tcpemu.v1 enum values, accepting the short lower-case spellings
the client uses ("client", "forward", "drop", "ESTABLISHED", "segment_sent")
as well as the proto names and numbers."""

from __future__ import annotations

from typing import Iterable, Optional, Union

from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb

EnumArg = Union[str, int]

_FLAG_BITS = {"F": 1, "S": 2, "R": 4, "P": 8, "A": 16, "U": 32, "E": 64, "C": 128}
_FLAG_NAMES = {
    "FIN": 1,
    "SYN": 2,
    "RST": 4,
    "PSH": 8,
    "ACK": 16,
    "URG": 32,
    "ECE": 64,
    "CWR": 128,
}

KIND_NAMES: dict[int, str] = {
    v: k[len("EVENT_KIND_") :].lower() for k, v in pb.EventKind.items() if v != 0
}
KINDS_BY_NAME: dict[str, int] = {v: k for k, v in KIND_NAMES.items()}
STATE_NAMES: dict[int, str] = {v: k[len("TCP_STATE_") :] for k, v in pb.TcpState.items()}
# Congestion control phases as the engine's trace names them: "slow_start",
# "probe_bw", and "none" for UNSPECIFIED (before the handshake).
CC_PHASE_NAMES: dict[int, str] = {
    v: k[len("CC_PHASE_") :].lower() if v != 0 else "none" for k, v in pb.CcPhase.items()
}
CC_PHASES_BY_NAME: dict[str, int] = {v: k for k, v in CC_PHASE_NAMES.items()}
ENDPOINT_NAMES: dict[int, str] = {pb.ENDPOINT_CLIENT: "client", pb.ENDPOINT_SERVER: "server"}
ERROR_NAMES: dict[int, str] = {
    pb.ERROR_CODE_TIMED_OUT: "timed_out",
    pb.ERROR_CODE_RESET: "reset",
    pb.ERROR_CODE_REFUSED: "refused",
    pb.ERROR_CODE_ABORTED: "aborted",
}


def _norm(value: str) -> str:
    return value.strip().upper().replace("-", "_").replace(" ", "_")


def _enum(wrapper: object, prefix: str, value: EnumArg, what: str, allowed: Iterable[str]) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{what}: {value!r} is not valid")
    if isinstance(value, int):
        return value
    name = _norm(value)
    if not name.startswith(prefix):
        name = prefix + name
    try:
        return int(wrapper.Value(name))  # type: ignore[attr-defined]
    except ValueError:
        raise ValueError(f"{what}: {value!r} is not valid; allowed: {', '.join(allowed)}") from None


def endpoint(value: EnumArg) -> int:
    return _enum(pb.Endpoint, "ENDPOINT_", value, "endpoint", ("client", "server"))


def endpoint_or_none(value: Optional[EnumArg]) -> int:
    return pb.ENDPOINT_UNSPECIFIED if value is None else endpoint(value)


# An interface's link: egress (engine to host) is its forward path.
_DIRECTION_ALIASES = {"EGRESS": "FORWARD", "INGRESS": "REVERSE"}


def direction(value: Optional[EnumArg]) -> int:
    if value is None:
        return pb.DIRECTION_BOTH
    if isinstance(value, str):
        value = _DIRECTION_ALIASES.get(_norm(value), value)
    return _enum(
        pb.Direction,
        "DIRECTION_",
        value,
        "direction",
        ("forward", "reverse", "both", "egress", "ingress"),
    )


def action(value: EnumArg) -> int:
    return _enum(
        pb.FaultAction,
        "FAULT_ACTION_",
        value,
        "action",
        ("drop", "delay", "duplicate", "corrupt", "reorder"),
    )


def clock(value: EnumArg) -> int:
    return _enum(pb.ClockKind, "CLOCK_KIND_", value, "clock", ("realtime", "virtual"))


def state(value: EnumArg) -> int:
    return _enum(pb.TcpState, "TCP_STATE_", value, "state", list(STATE_NAMES.values())[1:])


def cc_phase(value: EnumArg) -> int:
    if isinstance(value, str) and _norm(value) == "NONE":
        return pb.CC_PHASE_UNSPECIFIED
    return _enum(pb.CcPhase, "CC_PHASE_", value, "cc_phase", CC_PHASES_BY_NAME)


def kind(value: EnumArg) -> int:
    return _enum(pb.EventKind, "EVENT_KIND_", value, "kind", KINDS_BY_NAME)


def flags(value: Union[str, int, Iterable[str], None]) -> int:
    """TCP flag bits from an int, letters ("SA"), or names ("SYN,ACK", ["syn"])."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text and all(c in _FLAG_BITS for c in text):
            bits = 0
            for c in text:
                bits |= _FLAG_BITS[c]
            return bits
        parts: Iterable[str] = text.replace("|", ",").replace("+", ",").split(",")
    else:
        parts = value
    bits = 0
    for part in parts:
        name = _norm(part)
        if name.startswith("TCP_FLAG_"):
            name = name[len("TCP_FLAG_") :]
        if name not in _FLAG_NAMES:
            raise ValueError(
                f"flags: {part!r} is not a TCP flag; "
                f"use {', '.join(_FLAG_NAMES)} or letters like 'SA'"
            )
        bits |= _FLAG_NAMES[name]
    return bits


def flags_letters(bits: int) -> str:
    """The letters FSRPAUEC of the set bits, in bit order (as in JSON Lines traces)."""
    return "".join(c for c, b in _FLAG_BITS.items() if bits & b)


def flags_from_letters(text: str) -> int:
    bits = 0
    for c in text:
        bits |= _FLAG_BITS.get(c, 0)
    return bits


def state_name(value: int) -> str:
    return STATE_NAMES.get(value, str(value))


def cc_phase_name(value: int) -> str:
    return CC_PHASE_NAMES.get(value, str(value))


def kind_name(value: int) -> str:
    return KIND_NAMES.get(value, str(value))


def endpoint_name(value: int) -> str:
    return ENDPOINT_NAMES.get(value, "unspecified")


def error_name(value: int) -> Optional[str]:
    return ERROR_NAMES.get(value)
