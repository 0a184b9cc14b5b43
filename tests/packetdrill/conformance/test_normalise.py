from __future__ import annotations

import pytest

from conformance.normalise import IFDEF_RULE, RULES, normalise, select_ifdef_blocks

SYN = "+0.00 > S   0:0(0) win 65535 <mss 1460,nop,wscale 6,sackOK,TS val   100 ecr 0>"


def test_full_syn_options_to_the_engine_layout() -> None:
    text, used = normalise(SYN, "freebsd")
    assert text == "+0.00 > S   0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 6>"
    assert used == ["freebsd-syn-options-full"]


def test_tos_prefix_and_spaces_after_commas() -> None:
    line = (
        "+0.00 > (tos 0x20) S. 0:0(0) ack 1 win 65535 "
        "<mss 1460, nop, wscale 6, sackOK, TS val 1 ecr 7>"
    )
    text, _ = normalise(line, "freebsd")
    assert text.endswith("<mss 1460,sackOK,TS val 1 ecr 7,nop,wscale 6>")


def test_no_sack_layout() -> None:
    line = "+0 > S 0:0(0) win 65535 <mss 1460,nop,wscale 6,nop,nop,TS val 100 ecr 0>"
    text, used = normalise(line, "freebsd")
    assert text.endswith("<mss 1460,nop,nop,TS val 100 ecr 0,nop,wscale 6>")
    assert used == ["freebsd-syn-options-no-sack"]


def test_mss_sack_eol_padding() -> None:
    line = "+0.00 > S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,eol,eol>"
    text, used = normalise(line, "freebsd")
    assert text.endswith("<mss 1460,nop,nop,sackOK>")
    assert used == ["freebsd-syn-options-mss-sack"]


def test_injected_segments_are_left_alone() -> None:
    line = "+0.00 < S 0:0(0) win 65535 <mss 1460,nop,wscale 6,sackOK,TS val 1 ecr 0>"
    assert normalise(line, "freebsd") == (line, [])


def test_linux_scripts_are_not_touched_by_freebsd_rules() -> None:
    assert normalise(SYN, "linux") == (SYN, [])


def test_idempotent_and_other_lines_kept() -> None:
    script = "\n".join(["// comment <mss 1,nop,wscale 2,sackOK,TS val 3 ecr 4>", SYN, ""])
    once, _ = normalise(script, "freebsd")
    twice, used = normalise(once, "freebsd")
    assert once == twice and used == []
    assert once.splitlines()[0] == script.splitlines()[0]


def test_rules_are_named_and_explained() -> None:
    names = [r.name for r in RULES]
    assert len(names) == len(set(names))
    assert all(len(r.reason) > 20 for r in RULES)


def test_freebsd_rules_are_not_for_a_stack_with_freebsd_layout() -> None:
    assert normalise(SYN, "freebsd", "freebsd") == (SYN, [])
    assert normalise(SYN, "freebsd", "linux")[1] == ["freebsd-syn-options-full"]


IFDEF = """+0 < S. 2:2(0) ack 0 win 32767
#ifdef STANDARD
+0.00 >  . 2:2(0) ack 2 win 65535
#endif
#ifdef FreeBSD
+0.00 `tcpdrop -s TIME_WAIT`
#endif
+0 close(4) = 0"""


def test_ifdef_keeps_standard_blocks_and_line_numbers() -> None:
    text, used = normalise(IFDEF, "freebsd", "freebsd")
    assert used == [IFDEF_RULE]
    lines = text.split("\n")
    assert len(lines) == len(IFDEF.split("\n"))
    assert lines[2] == "+0.00 >  . 2:2(0) ack 2 win 65535"
    assert "tcpdrop" not in text
    assert lines[-1] == "+0 close(4) = 0"


def test_ifdef_else_and_nesting() -> None:
    text = "#ifdef FreeBSD\na\n#else\nb\n#ifndef STANDARD\nc\n#endif\n#endif"
    assert select_ifdef_blocks(text).split("\n") == ["", "", "", "b", "", "", "", ""]


def test_ifdef_unbalanced_is_an_error() -> None:
    with pytest.raises(ValueError, match="without #endif"):
        select_ifdef_blocks("#ifdef STANDARD\na")
    with pytest.raises(ValueError, match="#endif without"):
        select_ifdef_blocks("a\n#endif")


def test_ifdef_is_for_the_freebsd_suite_only() -> None:
    _, used = normalise(IFDEF, "linux", "linux")
    assert IFDEF_RULE not in used
