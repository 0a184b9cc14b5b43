"""Human units for durations, rates, sizes and probabilities.

The spellings are those of the tcpemu command-line tools:

- durations: ``"25ms"``, ``"1.5s"``, ``"100us"``, ``"2m"``, ``"1h30m"``, ``"0"``;
  a Python number is seconds and a :class:`datetime.timedelta` is taken as is;
- rates in bit/s (1000-based, case-insensitive): ``"800bit"``, ``"100kbit"``,
  ``"20Mbit"``, ``"1.5Mbit"``, ``"1Gbit"``, ``"10Mbps"``; a number is bit/s;
- sizes in bytes: ``"64KiB"``, ``"1MiB"`` (1024-based), ``"10kB"``, ``"10MB"``
  (1000-based), ``"1500B"``; a number is bytes;
- probabilities: a number in [0, 1] or a percentage such as ``"1%"``.
"""

from __future__ import annotations

import datetime
import math
import re
from typing import Union

__all__ = [
    "Duration",
    "Probability",
    "Rate",
    "Size",
    "format_duration",
    "format_rate",
    "format_size",
    "is_si_size",
    "parse_duration",
    "parse_probability",
    "parse_rate",
    "parse_size",
]

Duration = Union[str, int, float, datetime.timedelta]
Rate = Union[str, int, float]
Size = Union[str, int]
Probability = Union[str, int, float]

_NUMBER = r"(\d+(?:\.\d*)?|\.\d+)"
_DURATION_UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "min": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_DURATION_PART = re.compile(_NUMBER + r"(ns|us|µs|ms|min|s|m|h)")
_RATE = re.compile(_NUMBER + r"\s*([kmgt]?)(bit|bps|bit/s|b/s)?", re.IGNORECASE)
_RATE_PREFIX = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12}
_SIZE = re.compile(_NUMBER + r"\s*(B|KiB|MiB|GiB|TiB|kB|KB|MB|GB|TB)?")
_SIZE_UNITS = {
    None: 1,
    "B": 1,
    "KiB": 1024,
    "MiB": 1024**2,
    "GiB": 1024**3,
    "TiB": 1024**4,
    "kB": 1000,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "TB": 1000**4,
}
_SI_UNITS = ("kB", "KB", "MB", "GB", "TB")
_BINARY_FORMAT = (("GiB", 1024.0**3), ("MiB", 1024.0**2), ("KiB", 1024.0))
_SI_FORMAT = (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3))


def _bad(kind: str, value: object, expected: str) -> ValueError:
    return ValueError(f"{value!r} is not a valid {kind}; expected {expected}")


def parse_duration(value: Duration) -> int:
    """Returns nanoseconds. A plain number is seconds."""
    if isinstance(value, datetime.timedelta):
        ns = (value.days * 86_400 + value.seconds) * 1_000_000_000 + value.microseconds * 1_000
    elif isinstance(value, bool):
        raise _bad("duration", value, "a number of seconds or a string like '25ms'")
    elif isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise _bad("duration", value, "a finite number of seconds")
        ns = round(value * 1_000_000_000)
    elif isinstance(value, str):
        text = value.strip()
        if text == "0":
            return 0
        pos = 0
        total = 0.0
        for m in _DURATION_PART.finditer(text):
            if m.start() != pos:
                break
            total += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
            pos = m.end()
        if pos == 0 or pos != len(text):
            raise _bad("duration", value, "a number with a unit, e.g. 25ms, 1.5s, 100us, 2m")
        ns = round(total)
    else:
        raise TypeError(f"duration: expected str, number or timedelta, got {type(value).__name__}")
    if ns < 0:
        raise ValueError(f"duration {value!r} is negative")
    return ns


def parse_rate(value: Rate) -> int:
    """Returns bits per second. A plain number is bit/s."""
    if isinstance(value, bool):
        raise _bad("rate", value, "bit/s")
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or value < 0:
            raise _bad("rate", value, "a non-negative number of bit/s")
        return round(value)
    if not isinstance(value, str):
        raise TypeError(f"rate: expected str or number, got {type(value).__name__}")
    m = _RATE.fullmatch(value.strip())
    if m is None or (m.group(2) and not m.group(3)):
        raise _bad("rate", value, "a rate in bit/s, e.g. 800bit, 100kbit, 20Mbit, 1.5Mbit, 1Gbit")
    return round(float(m.group(1)) * _RATE_PREFIX[m.group(2).lower()])


def parse_size(value: Size) -> int:
    """Returns bytes. A plain number is bytes."""
    if isinstance(value, bool):
        raise _bad("size", value, "bytes")
    if isinstance(value, int):
        if value < 0:
            raise _bad("size", value, "a non-negative number of bytes")
        return value
    if isinstance(value, float):
        if not math.isfinite(value) or value < 0 or value != int(value):
            raise _bad("size", value, "a whole non-negative number of bytes")
        return int(value)
    if not isinstance(value, str):
        raise TypeError(f"size: expected str or int, got {type(value).__name__}")
    m = _SIZE.fullmatch(value.strip())
    if m is None:
        raise _bad("size", value, "a size in bytes, e.g. 65536, 64KiB, 1MiB, 10kB or 10MB")
    return round(float(m.group(1)) * _SIZE_UNITS[m.group(2)])


def parse_probability(value: Probability) -> float:
    """Returns a float; accepts ``"1%"``. The daemon checks the range [0, 1]
    and names the field when a value is outside it."""
    if isinstance(value, bool):
        raise _bad("probability", value, "a number in [0, 1]")
    if isinstance(value, str):
        text = value.strip()
        try:
            p = float(text[:-1]) / 100 if text.endswith("%") else float(text)
        except ValueError:
            raise _bad("probability", value, "a number in [0, 1] or a percentage") from None
    elif isinstance(value, (int, float)):
        p = float(value)
    else:
        raise TypeError(f"probability: expected str or number, got {type(value).__name__}")
    if p != p:
        raise _bad("probability", value, "a number in [0, 1]")
    return p


def format_duration(ns: float) -> str:
    """Formats nanoseconds with a fitting unit, e.g. ``'25ms'``, ``'1.5s'``."""
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if abs(ns) >= scale:
            return f"{ns / scale:.6g}{unit}"
    return f"{ns:.6g}ns" if ns else "0"


def format_rate(bps: float) -> str:
    """Formats bit/s, e.g. ``'20Mbit'``."""
    for unit, scale in (("Gbit", 1e9), ("Mbit", 1e6), ("kbit", 1e3)):
        if bps >= scale:
            return f"{bps / scale:.4g}{unit}"
    return f"{bps:.4g}bit"


def format_size(n: float, *, si: bool = False) -> str:
    """Formats bytes with a 1024-based unit, e.g. ``'64KiB'``, or with
    ``si=True`` a 1000-based one, e.g. ``'10MB'``."""
    units = _SI_FORMAT if si else _BINARY_FORMAT
    for unit, scale in units:
        if n >= scale:
            return f"{n / scale:.4g}{unit}"
    return f"{n:.0f}B"


def is_si_size(value: Size) -> bool:
    """Whether a size was written with a 1000-based unit (``"10kB"``,
    ``"1MB"``), so that sizes shown back can be in the same units
    (:func:`format_size` with ``si=True``); False for 1024-based units and
    plain numbers."""
    if not isinstance(value, str):
        return False
    m = _SIZE.fullmatch(value.strip())
    return m is not None and m.group(2) in _SI_UNITS
