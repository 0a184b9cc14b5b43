"""The outcome of one packetdrill run and how it is read from the process."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional, Tuple

PASSED = "passed"
FAILED = "failed"
SKIPPED = "skipped"

ORIGINAL = "original"
NORMALISED = "normalised"

# packetdrill's own error lines: "<script>:<line>: <message>".
_SCRIPT_ERROR = re.compile(r"^\S+?\.pkt:\d+: .+")
_UNKNOWN_SYSCTL = re.compile(r"sysctl: unknown oid '([^']+)'")

# Failure categories, from the first error line; the first that matches.
_CATEGORIES: Tuple[Tuple[str, re.Pattern[str]], ...] = (
    ("timing", re.compile(r"timing error")),
    ("packet", re.compile(r"error handling packet|bad outbound|live packet")),
    ("code", re.compile(r"error in Python code|runtime error in code")),
    ("syscall", re.compile(r"runtime error in \S+ call|Expected .* but got")),
    ("command", re.compile(r"error executing")),
    ("parse", re.compile(r"syntax error|parse error")),
)


@dataclass
class Result:
    suite: str
    script: str  # relative to the suite root
    directory: str
    group: str
    variant: str  # ORIGINAL or NORMALISED
    outcome: str  # PASSED, FAILED or SKIPPED
    detail: str = ""  # first error line, "timeout ...", or the skip reason
    category: str = ""  # failure category or skip rule name
    rules: List[str] = field(default_factory=list)  # normalisation rules applied
    seconds: float = 0.0
    # packetdrill's lines after the first error (the script's and the actual
    # packet, a Python traceback's last line), for classifying failures.
    context: List[str] = field(default_factory=list)

    def to_json(self) -> Dict[str, Any]:
        return asdict(self)


def first_error_line(stderr: str, stdout: str = "") -> str:
    """packetdrill's first `script.pkt:N: ...` line, else the first line of
    stderr (then stdout) that says something."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    for line in lines:
        if _SCRIPT_ERROR.match(line):
            return line
    for line in lines:
        if "error" in line.lower():
            return line
    if lines:
        return lines[0]
    for line in stdout.splitlines():
        if line.strip():
            return line.strip()
    return ""


def error_context(stderr: str, first: str, limit: int = 4) -> List[str]:
    """Up to `limit` lines of stderr after the first error line."""
    lines = [ln.rstrip() for ln in stderr.splitlines() if ln.strip()]
    stripped = [ln.strip() for ln in lines]
    if first not in stripped:
        return []
    start = stripped.index(first) + 1
    return lines[start : start + limit]


def classify(
    returncode: Optional[int], stderr: str, stdout: str = "", timeout_s: Optional[float] = None
) -> Tuple[str, str, str]:
    """(outcome, detail, category) of a finished run; returncode None means
    it was killed after timeout_s seconds."""
    if returncode is None:
        limit = f" after {timeout_s:g} s" if timeout_s is not None else ""
        return FAILED, f"timeout{limit}", "timeout"
    if returncode == 0:
        return PASSED, "", ""
    line = first_error_line(stderr, stdout)
    sysctl = _UNKNOWN_SYSCTL.search(stderr)
    if sysctl:
        return FAILED, f"needs sysctl {sysctl.group(1)}: {line}", "needs-sysctl"
    if returncode < 0:
        return FAILED, f"killed by signal {-returncode}: {line}".rstrip(": "), "crash"
    category = "other"
    for name, pattern in _CATEGORIES:
        if pattern.search(line):
            category = name
            break
    return FAILED, line or f"exit status {returncode}", category
