from __future__ import annotations

import json
from typing import List

from conformance.report import code, render_markdown, rows_of, to_json
from conformance.results import FAILED, NORMALISED, ORIGINAL, PASSED, SKIPPED, Result


def r(
    script: str,
    outcome: str,
    variant: str = ORIGINAL,
    detail: str = "",
    category: str = "",
    rules: List[str] | None = None,
) -> Result:
    parts = script.split("/")
    group = parts[1] if len(parts) > 2 else parts[0]
    return Result(
        "freebsd", script, parts[0], group, variant, outcome, detail, category, rules or []
    )


RESULTS = [
    r("state-event-engine/rcv-rst-listen/a-ipv4.pkt", PASSED),
    r(
        "state-event-engine/rcv-rst-listen/a-ipv6.pkt",
        SKIPPED,
        detail="IPv6 script",
        category="ipv6",
    ),
    r(
        "state-event-engine/rcv-syn-listen/b-ipv4.pkt",
        FAILED,
        detail="b-ipv4.pkt:40: error handling packet: bad outbound TCP options",
        category="packet",
    ),
    r(
        "state-event-engine/rcv-syn-listen/b-ipv4.pkt",
        PASSED,
        variant=NORMALISED,
        rules=["freebsd-syn-options-full"],
    ),
    r("snd-syn/c-ipv4.pkt", FAILED, detail="c.pkt:1: `sysctl -w x=1` failed", category="command"),
]


def test_rows_per_subdirectory_with_a_total() -> None:
    originals = [x for x in RESULTS if x.variant == ORIGINAL and x.directory != "snd-syn"]
    rows = rows_of(originals)
    assert [row.cells() for row in rows] == [
        ["rcv-rst-listen", "2", "1", "1", "0", "1"],
        ["rcv-syn-listen", "1", "1", "0", "1", "0"],
        ["**total**", "3", "2", "1", "1", "1"],
    ]


def test_single_group_has_no_total_row() -> None:
    rows = rows_of([RESULTS[-1]])
    assert [row.name for row in rows] == ["snd-syn"]


def test_markdown_never_counts_a_normalised_pass() -> None:
    md = render_markdown(RESULTS, {"stack": "so"})
    summary = md.split("## Summary (scripts as written)")[1].split("##")[0]
    # 4 scripts: 1 passed, 2 failed, 1 skipped; the normalised pass is apart.
    assert "| FreeBSD tcp-testsuite | 4 | 3 | 1 | 2 | 1 | 33.3 % |" in summary
    normalised = md.split("## Normalised scripts")[1]
    assert "| freebsd/state-event-engine | 1 | 1 | 0 |" in normalised
    assert "[freebsd-syn-options-full]: passed" in normalised


def test_markdown_lists_failures_and_skips() -> None:
    md = render_markdown(RESULTS, {"stack": "so"})
    assert "### state-event-engine" in md and "### snd-syn" in md
    assert (
        "- `state-event-engine/rcv-syn-listen/b-ipv4.pkt` (packet): "
        "`b-ipv4.pkt:40: error handling packet: bad outbound TCP options`"
    ) in md
    assert "`` c.pkt:1: `sysctl -w x=1` failed ``" in md
    assert "- IPv6 script (ipv6): 1" in md


def test_code_span() -> None:
    assert code("a") == "`a`"
    assert code("a `b`") == "`` a `b` ``"


def test_json_has_every_result() -> None:
    doc = json.loads(to_json(RESULTS, {"stack": "kernel"}))
    assert doc["meta"]["stack"] == "kernel"
    assert len(doc["results"]) == len(RESULTS)
    assert doc["results"][3]["rules"] == ["freebsd-syn-options-full"]
    assert set(doc["results"][0]) >= {"script", "outcome", "detail", "rules", "variant"}


def test_header_names_commits_and_warnings() -> None:
    md = render_markdown(
        RESULTS,
        {
            "stack": "so",
            "suites": {"FreeBSD tcp-testsuite": "04b8c73"},
            "warnings": ["warning: packetdrill at /x is at commit abc"],
        },
    )
    assert "- FreeBSD tcp-testsuite: `04b8c73`" in md
    assert "- warning: packetdrill at /x is at commit abc" in md


def test_rules_table_is_left_aligned_and_escapes_option_lists() -> None:
    md = render_markdown(RESULTS, {"stack": "so"})
    rules = md.split("## Normalised scripts")[1]
    assert (
        "| rule | suites | for stacks laying out options as | reason |\n|---|---|---|---|" in rules
    )
    assert "&lt;mss,nop,wscale,sackOK,TS>" in rules
    assert "<mss" not in rules.split("Runs:")[0]
