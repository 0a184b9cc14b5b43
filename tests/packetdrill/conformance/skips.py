"""Every reason a script is not run, in one place.

A skipped script is reported with the reason of the first rule that matches;
it never counts as run. Rules listing `stacks` apply only to those stacks
("so": the tcpemu shim library, "kernel": the Linux kernel baseline).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, FrozenSet, List, Optional, Sequence

from conformance.script import Script

ALL_STACKS: FrozenSet[str] = frozenset({"so", "kernel"})


@dataclass(frozen=True)
class SkipRule:
    name: str
    reason: str
    matches: Callable[[Script], bool]
    stacks: FrozenSet[str] = ALL_STACKS


def _text(pattern: str) -> Callable[[Script], bool]:
    regex = re.compile(pattern, re.MULTILINE)
    return lambda s: regex.search(s.text) is not None


def _is_ipv6(s: Script) -> bool:
    return s.header.ip_version == "ipv6" or s.name.endswith(("-ipv6.pkt", "_ipv6.pkt", "v6.pkt"))


def _command_uses(*tools: str) -> Callable[[Script], bool]:
    def matches(s: Script) -> bool:
        return any(
            word in tools
            for command in s.header.commands
            for word in re.split(r"[\s|;&]+", command)
        )

    return matches


SKIP_RULES: Sequence[SkipRule] = (
    SkipRule(
        "ipv6",
        "IPv6 script (the engine and the shim speak IPv4 only)",
        _is_ipv6,
    ),
    SkipRule(
        "ipv4-mapped-ipv6",
        "IPv4-mapped IPv6 script (AF_INET6 sockets are not offered)",
        lambda s: s.header.ip_version == "ipv4-mapped-ipv6",
    ),
    SkipRule(
        "fast-open",
        "TCP Fast Open (not implemented by the engine)",
        lambda s: (
            "fast-open" in s.rel.split("/")
            or "fastopen" in s.rel.split("/")
            or re.search(r"FASTOPEN|\bFO\b", s.text) is not None
        ),
    ),
    SkipRule(
        "tcp-over-udp",
        "TCP over UDP encapsulation (RFC 8261 style tunnelling is not offered)",
        lambda s: (
            "udp_encapsulation" in s.header.options
            or "tcp-over-udp" in s.rel.split("/")
            or any(name.startswith("net.inet.tcp.udp_tunneling") for name, _ in s.header.sysctls)
        ),
    ),
    SkipRule(
        "udp-sctp",
        "UDP or SCTP socket (the engine is TCP only)",
        _text(r"SOCK_DGRAM|IPPROTO_UDP|IPPROTO_SCTP|SOCK_SEQPACKET"),
    ),
    SkipRule(
        "tcp-md5",
        "TCP MD5 signatures (RFC 2385) are not offered",
        lambda s: (
            "tcp_md5_secret" in s.header.options
            or re.search(r"TCP_MD5SIG|\bmd5\b", s.text) is not None
        ),
    ),
    SkipRule(
        "packetdrill-syntax",
        "syntax the pinned google/packetdrill does not parse (`(0)!`: nplab's fork)",
        _text(r"^[^/]*\(\d+\)!"),
    ),
    SkipRule(
        "freebsd-only-symbol",
        "a FreeBSD-only socket option (TCP_KEEPINIT, TCP_NOOPT) that packetdrill "
        "built on Linux has no symbol for",
        _text(r"^[^/\n]*\b(?:TCP_KEEPINIT|TCP_NOOPT)\b"),
    ),
    SkipRule(
        "bound-only-socket",
        "segments for a socket that is bound but neither listening nor "
        "connecting: google/packetdrill's shared-object mode knows no address "
        "for such a socket and sends them to 0.0.0.0:0",
        lambda s: (
            re.search(r"\bbind\(", s.text) is not None
            and re.search(r"\b(?:listen|connect)\(", s.text) is None
        ),
        frozenset({"so"}),
    ),
    SkipRule(
        "nplab-preprocessor",
        "preprocessor directives (#ifdef) that only nplab's packetdrill reads; "
        "run normalised (rule nplab-ifdef-standard)",
        _text(r"^#\s*(?:ifdef|ifndef|else|endif)\b"),
    ),
    SkipRule(
        "freebsd-sockstat-kernel",
        "asks FreeBSD's sockstat for socket states, which Linux cannot answer "
        "(the shim answers through the project's sockstat stand-in)",
        _command_uses("sockstat"),
        frozenset({"kernel"}),
    ),
    SkipRule(
        "freebsd-socket-tools",
        "drops or keys kernel sockets with FreeBSD's tcpdrop/setkey",
        _command_uses("tcpdrop", "setkey"),
    ),
)

# Skips that a normalisation lifts: the script is reported skipped as
# written, and its normalised copy is run.
NORMALISABLE = frozenset({"nplab-preprocessor"})


def skip_reason(
    script: Script, stack: str, rules: Sequence[SkipRule] = SKIP_RULES
) -> Optional[SkipRule]:
    """The first rule that skips the script on this stack, if any."""
    for rule in rules:
        if stack in rule.stacks and rule.matches(script):
            return rule
    return None


def rule_names(rules: Sequence[SkipRule] = SKIP_RULES) -> List[str]:
    return [r.name for r in rules]
