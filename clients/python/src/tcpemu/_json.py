"""Messages as JSON in the client's own vocabulary, the one of the JSON
Lines events: integers as numbers (proto JSON writes 64-bit ones as
strings), TCP states by their short upper-case names (``"FIN_WAIT_1"``),
other enums by short lower-case ones (``"virtual"``, ``"client"``,
``"timed_out"``; no error is null), bytes (SHA-256 digests) in hex. Durations stay proto
JSON strings (``"0.050s"``); every field is present, zeros included, except
unset optional ones."""

from __future__ import annotations

import base64
import re
from typing import Any, Callable, Dict, Optional, cast

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message

__all__ = ["enum_short_name", "message_to_dict"]

_INT64 = (
    FieldDescriptor.TYPE_INT64,
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_SINT64,
    FieldDescriptor.TYPE_FIXED64,
    FieldDescriptor.TYPE_SFIXED64,
)
# Enums whose values read in upper case, as the JSON Lines events write them.
_UPPER_CASE = ("tcpemu.v1.TcpState",)
# Enums whose zero value means "none", null in JSON (None in the client).
_NONE_WHEN_ZERO = ("tcpemu.v1.ErrorCode",)


def enum_short_name(enum: EnumDescriptor, name: str) -> str:
    """``TCP_STATE_FIN_WAIT_1`` -> ``FIN_WAIT_1``, ``CLOCK_KIND_VIRTUAL`` ->
    ``virtual``: the value's name without the enum's prefix."""
    prefix = re.sub(r"(?<!^)(?=[A-Z])", "_", enum.name).upper() + "_"
    short = name[len(prefix) :] if name.startswith(prefix) else name
    return short if enum.full_name in _UPPER_CASE else short.lower()


def message_to_dict(msg: Message) -> Dict[str, Any]:
    """`msg` as a JSON-ready dict, in the vocabulary above."""
    d = json_format.MessageToDict(
        msg, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    return _plain(cast(Descriptor, msg.DESCRIPTOR), d)


def _plain(desc: Descriptor, d: Dict[str, Any]) -> Dict[str, Any]:
    out: Dict[str, Any] = {}  # in the proto's order, as the text output
    for f in desc.fields:
        if f.name not in d:
            continue
        value = d[f.name]
        convert = _converter(f)
        if convert is not None:
            value = [convert(v) for v in value] if f.is_repeated else convert(value)
        out[f.name] = value
    return out


def _converter(f: FieldDescriptor) -> Optional[Callable[[Any], Any]]:
    if f.type == FieldDescriptor.TYPE_MESSAGE:
        sub = f.message_type
        if sub is None or sub.full_name.startswith("google.protobuf."):
            return None  # Duration and the like keep their JSON form
        return lambda v: _plain(sub, v)
    if f.type in _INT64:
        return int
    if f.type == FieldDescriptor.TYPE_ENUM:
        enum = f.enum_type
        if enum is None:
            return None
        none = enum.values[0].name if enum.full_name in _NONE_WHEN_ZERO else None

        def name(v: Any) -> Any:
            if not isinstance(v, str):
                return v  # a number this client does not know stays a number
            return None if v == none else enum_short_name(enum, v)

        return name
    if f.type == FieldDescriptor.TYPE_BYTES:
        return lambda v: base64.b64decode(v).hex()
    return None
