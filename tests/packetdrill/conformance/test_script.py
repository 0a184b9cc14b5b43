from __future__ import annotations

from conformance.script import Script, parse_header

FREEBSD = """//
// Copyright (c) 2016 Michael Tuexen
//

--ip_version=ipv4
--tolerance_usecs=150000
--mtu=9000

// Ensure that all relevant sysctl variables have their default variables.
 0.00 `sysctl -w net.inet.tcp.rfc1323=1`
+0.00 `sysctl -w net.inet.tcp.sack.enable=1 net.inet.tcp.ecn.enable=2`  // two
+0.00 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
--not_an_option=1
+0.00 `sockstat -4 -P tcp -s | grep -c TIME_WAIT | grep 1`
"""


def test_header_options_before_the_first_statement() -> None:
    h = parse_header(FREEBSD)
    assert h.ip_version == "ipv4"
    assert h.tolerance_usecs == 150000
    assert h.mtu == 9000
    assert "not_an_option" not in h.options


def test_header_defaults() -> None:
    h = parse_header("`../common/defaults.sh`\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n")
    assert h.ip_version == "ipv4"
    assert h.mtu is None
    assert h.tolerance_usecs is None
    assert h.commands == ["../common/defaults.sh"]


def test_header_commands_and_sysctls() -> None:
    h = parse_header(FREEBSD)
    assert h.sysctls == [
        ("net.inet.tcp.rfc1323", "1"),
        ("net.inet.tcp.sack.enable", "1"),
        ("net.inet.tcp.ecn.enable", "2"),
    ]
    assert h.commands[-1].startswith("sockstat -4")


def test_script_directory_and_group() -> None:
    nested = Script(
        "freebsd", "state-event-engine/rcv-rst-listen/x-ipv4.pkt", "/x", "", parse_header("")
    )
    flat = Script("freebsd", "snd-syn/y-ipv4.pkt", "/y", "", parse_header(""))
    assert (nested.directory, nested.group, nested.name) == (
        "state-event-engine",
        "rcv-rst-listen",
        "x-ipv4.pkt",
    )
    assert (flat.directory, flat.group) == ("snd-syn", "snd-syn")
