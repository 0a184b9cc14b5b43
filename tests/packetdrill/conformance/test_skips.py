from __future__ import annotations

from typing import Optional

import pytest

from conformance.script import Script, parse_header
from conformance.skips import SKIP_RULES, skip_reason

PLAIN = "--ip_version=ipv4\n+0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"


def make(rel: str, text: str = PLAIN) -> Script:
    return Script("freebsd", rel, "/" + rel, text, parse_header(text))


def rule_of(script: Script, stack: str = "so") -> Optional[str]:
    rule = skip_reason(script, stack)
    return rule.name if rule else None


def test_plain_ipv4_script_runs() -> None:
    assert rule_of(make("snd-syn/a-ipv4.pkt")) is None
    assert rule_of(make("snd-syn/a-ipv4.pkt"), "kernel") is None


@pytest.mark.parametrize(
    ("rel", "text", "expected"),
    [
        ("snd-syn/a-ipv6.pkt", PLAIN, "ipv6"),
        ("snd-syn/a.pkt", "--ip_version=ipv6\n", "ipv6"),
        ("x/a.pkt", "--ip_version=ipv4-mapped-ipv6\n", "ipv4-mapped-ipv6"),
        ("fast-open/a-ipv4.pkt", PLAIN, "fast-open"),
        ("x/a.pkt", PLAIN + "+0 setsockopt(3, SOL_TCP, TCP_FASTOPEN, [1], 4) = 0\n", "fast-open"),
        ("x/a.pkt", "--udp_encapsulation=tcp\n" + PLAIN, "tcp-over-udp"),
        (
            "x/a.pkt",
            PLAIN + "+0 `sysctl -w net.inet.tcp.udp_tunneling_port=9811`\n",
            "tcp-over-udp",
        ),
        ("x/a.pkt", "0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3\n", "udp-sctp"),
        ("x/a.pkt", "0 socket(..., SOCK_STREAM, IPPROTO_SCTP) = 3\n", "udp-sctp"),
        ("x/a.pkt", "--tcp_md5_secret=abc\n" + PLAIN, "tcp-md5"),
        ("x/a.pkt", PLAIN + "+0 `tcpdrop -s TIME_WAIT`\n", "freebsd-socket-tools"),
        ("x/a.pkt", PLAIN + "#ifdef FreeBSD\n+0 close(3) = 0\n#endif\n", "nplab-preprocessor"),
        (
            "x/a.pkt",
            PLAIN + "+0 bind(3, ..., ...) = 0\n+0.1 < . 1:1(0) ack 1 win 100\n",
            "bound-only-socket",
        ),
        (
            "x/a.pkt",
            PLAIN + "+0 setsockopt(3, IPPROTO_TCP, TCP_NOOPT, [1], 4) = 0\n",
            "freebsd-only-symbol",
        ),
        (
            "x/a.pkt",
            PLAIN + "+0.00 > (tos 0x20) R.    0:0(0)!      ack    1 win     0\n",
            "packetdrill-syntax",
        ),
    ],
)
def test_skip_rules(rel: str, text: str, expected: str) -> None:
    assert rule_of(make(rel, text)) == expected


def test_sockstat_runs_on_the_shim_only() -> None:
    script = make("x/a.pkt", PLAIN + "+0 `sockstat -4 -P tcp -s | grep -c TIME_WAIT | grep 1`\n")
    assert rule_of(script) is None
    assert rule_of(script, "kernel") == "freebsd-sockstat-kernel"


def test_a_bound_socket_that_listens_runs() -> None:
    text = PLAIN + "+0 bind(3, ..., ...) = 0\n+0 listen(3, 1) = 0\n"
    assert rule_of(make("x/a.pkt", text)) is None
    assert (
        rule_of(make("x/a.pkt", text.replace("listen(3, 1)", "bind(3, ..., ...)")), "kernel")
        is None
    )


def test_comments_do_not_skip() -> None:
    assert rule_of(make("x/a.pkt", PLAIN + "// sockstat would show TIME_WAIT here\n")) is None
    assert rule_of(make("x/a.pkt", PLAIN + "// unlike TCP_KEEPINIT on FreeBSD\n")) is None


def test_rules_have_unique_names_and_reasons() -> None:
    names = [r.name for r in SKIP_RULES]
    assert len(names) == len(set(names))
    assert all(r.reason for r in SKIP_RULES)
