from __future__ import annotations

from conformance.results import FAILED, PASSED, classify, error_context, first_error_line

PACKET_ERR = (
    'sysctl: setting key "net.ipv4.tcp_congestion_control": Operation not permitted\n'
    "a.pkt:33: error handling packet: timing error: expected outbound packet at 0.018 sec "
    "but happened at 0.023 sec; tolerance 0.004 sec\n"
    "script packet:  0.018 F. 1:1(0) ack 1\n"
    "actual packet:  0.023 F. 1:1(0) ack 1\n"
)


def test_pass() -> None:
    assert classify(0, "noise\n") == (PASSED, "", "")


def test_first_error_line_is_packetdrills() -> None:
    outcome, detail, category = classify(1, PACKET_ERR)
    assert outcome == FAILED
    assert detail.startswith("a.pkt:33: error handling packet: timing error")
    assert category == "timing"


def test_categories() -> None:
    assert classify(1, "a.pkt:27: error handling packet: live packet payload: x\n")[2] == "packet"
    assert (
        classify(1, "a.pkt:24: runtime error in write call: Expected result 1 but got 0\n")[2]
        == "syscall"
    )
    assert (
        classify(1, "a.pkt:37: error executing `true` command: non-zero status 1\n")[2] == "command"
    )
    assert classify(1, "whatever went wrong\n")[2] == "other"


def test_unknown_sysctl_is_reported_as_needed() -> None:
    err = (
        "sysctl: unknown oid 'net.inet.tcp.foo'\n"
        "a.pkt:3: error executing `sysctl -w net.inet.tcp.foo=1` command: non-zero status 1\n"
    )
    outcome, detail, category = classify(1, err)
    assert outcome == FAILED
    assert category == "needs-sysctl"
    assert detail.startswith("needs sysctl net.inet.tcp.foo: a.pkt:3:")


def test_timeout_and_signal() -> None:
    assert classify(None, "", timeout_s=60) == (FAILED, "timeout after 60 s", "timeout")
    outcome, detail, category = classify(-11, "")
    assert (outcome, category) == (FAILED, "crash")
    assert detail == "killed by signal 11"


def test_first_error_line_fallbacks() -> None:
    assert first_error_line("first\nan error here\n") == "an error here"
    assert first_error_line("", "only stdout\n") == "only stdout"
    assert classify(3, "")[1] == "exit status 3"


def test_error_context_is_the_packets_after_the_error() -> None:
    first = first_error_line(PACKET_ERR)
    assert error_context(PACKET_ERR, first) == [
        "script packet:  0.018 F. 1:1(0) ack 1",
        "actual packet:  0.023 F. 1:1(0) ack 1",
    ]
    assert error_context(PACKET_ERR, "not there") == []
