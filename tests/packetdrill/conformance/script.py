"""What the runner reads from a packetdrill script: its option lines, its
backtick commands and the sysctl names those set."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

_OPTION = re.compile(r"^\s*--([A-Za-z0-9_]+)(?:=(.*?))?\s*$")
_COMMAND = re.compile(r"`([^`]*)`")
_SYSCTL_ITEM = re.compile(r"((?:net|kern)\.[A-Za-z0-9_.]+)=(\S*)")
_COMMENT = re.compile(r"//.*$")


@dataclass
class Header:
    """Options a script gives packetdrill on its own `--name=value` lines."""

    options: Dict[str, str] = field(default_factory=dict)
    commands: List[str] = field(default_factory=list)
    sysctls: List[Tuple[str, str]] = field(default_factory=list)

    @property
    def ip_version(self) -> str:
        return self.options.get("ip_version", "ipv4")

    @property
    def mtu(self) -> Optional[int]:
        value = self.options.get("mtu")
        return int(value) if value is not None and value.isdigit() else None

    @property
    def tolerance_usecs(self) -> Optional[int]:
        value = self.options.get("tolerance_usecs")
        return int(value) if value is not None and value.isdigit() else None


def strip_comment(line: str) -> str:
    """The line without a trailing // comment (packetdrill's C++ comments)."""
    return _COMMENT.sub("", line)


def parse_header(text: str) -> Header:
    """Reads the option lines, backtick commands and sysctl settings.

    Option lines are only honoured before the first line that is neither a
    comment, blank nor an option, as packetdrill does; /* */ comments are
    not used by either suite in front of the options and are not handled.
    """
    header = Header()
    in_header = True
    for raw in text.splitlines():
        line = strip_comment(raw).strip()
        if in_header and line:
            m = _OPTION.match(line)
            if m:
                header.options[m.group(1)] = m.group(2) if m.group(2) is not None else ""
                continue
            in_header = False
        for command in _COMMAND.findall(line):
            command = command.strip()
            if not command:
                continue
            header.commands.append(command)
            if command.split()[:1] == ["sysctl"]:
                header.sysctls.extend(_SYSCTL_ITEM.findall(command))
    return header


@dataclass(frozen=True)
class Script:
    """One script of a suite: where it is and what it says."""

    suite: str  # "freebsd" or "linux"
    rel: str  # path relative to the suite root, with / separators
    path: str  # absolute path
    text: str
    header: Header

    @property
    def directory(self) -> str:
        """The suite directory it belongs to (its table)."""
        return self.rel.split("/", 1)[0]

    @property
    def group(self) -> str:
        """Its row in the directory's table: the subdirectory, or the directory."""
        parts = self.rel.split("/")
        return parts[1] if len(parts) > 2 else parts[0]

    @property
    def name(self) -> str:
        return self.rel.rsplit("/", 1)[-1]


def load_script(suite: str, root: str, rel: str) -> Script:
    path = os.path.join(root, rel)
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    return Script(
        suite=suite, rel=rel, path=os.path.abspath(path), text=text, header=parse_header(text)
    )
