"""Markdown tables and the JSON file of a run's results."""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Sequence

from conformance.normalise import RULES, describe
from conformance.results import FAILED, NORMALISED, ORIGINAL, PASSED, SKIPPED, Result
from conformance.suites import SUITES


@dataclass
class Row:
    name: str
    total: int = 0
    run: int = 0
    passed: int = 0
    failed: int = 0
    skipped: int = 0

    def add(self, result: Result) -> None:
        self.total += 1
        if result.outcome == SKIPPED:
            self.skipped += 1
            return
        self.run += 1
        if result.outcome == PASSED:
            self.passed += 1
        else:
            self.failed += 1

    def cells(self) -> List[str]:
        return [
            self.name,
            *(str(n) for n in (self.total, self.run, self.passed, self.failed, self.skipped)),
        ]


def code(text: str) -> str:
    """text as a markdown code span, whatever backticks it holds."""
    if "`" not in text:
        return f"`{text}`"
    return f"`` {text} ``"


def table(header: Sequence[str], rows: Iterable[Sequence[str]], numeric: bool = True) -> List[str]:
    """A markdown table; columns after the first right-aligned when numeric."""
    align = "---:" if numeric else "---"
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] + [align] * (len(header) - 1)) + "|",
    ]
    for row in rows:
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    return lines


def text(value: str) -> str:
    """Plain text for markdown: `<` would open an HTML tag."""
    return value.replace("<", "&lt;")


def rows_of(results: Sequence[Result]) -> List[Row]:
    """One row per group (subdirectory) in order of appearance, plus a total
    row when there is more than one group."""
    groups: OrderedDict[str, Row] = OrderedDict()
    total = Row("**total**")
    for result in results:
        groups.setdefault(result.group, Row(result.group)).add(result)
        total.add(result)
    rows = list(groups.values())
    if len(rows) > 1:
        rows.append(total)
    return rows


def _by(results: Iterable[Result], **fields: str) -> List[Result]:
    return [r for r in results if all(getattr(r, k) == v for k, v in fields.items())]


def _ordered(values: Iterable[str]) -> List[str]:
    return list(OrderedDict.fromkeys(values))


def render_directory(results: Sequence[Result], directory: str) -> List[str]:
    out = [f"### {directory}", ""]
    out += table(
        ["directory", "total", "run", "passed", "failed", "skipped"],
        (row.cells() for row in rows_of(results)),
    )
    failures = [r for r in results if r.outcome == FAILED]
    if failures:
        out += ["", f"Failures ({len(failures)}):", ""]
        out += [f"- {code(r.script)} ({r.category}): {code(r.detail)}" for r in failures]
    skips = [r for r in results if r.outcome == SKIPPED]
    if skips:
        out += ["", f"Skipped ({len(skips)}):", ""]
        for reason in _ordered(r.detail for r in skips):
            names = [r.script for r in skips if r.detail == reason]
            out.append(f"- {reason} ({_rule(skips, reason)}): {len(names)}")
            out.append(f"  <details><summary>scripts</summary>{', '.join(names)}</details>")
    out.append("")
    return out


def _rule(skips: Sequence[Result], reason: str) -> str:
    return next(r.category for r in skips if r.detail == reason)


def summary_rows(results: Sequence[Result]) -> List[List[str]]:
    rows: List[List[str]] = []
    for suite in _ordered(r.suite for r in results):
        row = Row(SUITES[suite].title if suite in SUITES else suite)
        for r in _by(results, suite=suite, variant=ORIGINAL):
            row.add(r)
        rate = f"{100.0 * row.passed / row.run:.1f} %" if row.run else "-"
        rows.append([*row.cells(), rate])
    return rows


def render_markdown(results: Sequence[Result], meta: Mapping[str, Any]) -> str:
    """The whole report: a summary, a table per suite directory for the
    scripts as written, then the normalised runs apart."""
    out: List[str] = [f"# packetdrill conformance: stack {meta.get('stack', '?')}", ""]
    for key in ("command", "packetdrill", "library", "so_flags", "date"):
        if meta.get(key):
            out.append(f"- {key}: {code(str(meta[key]))}")
    for suite, commit in dict(meta.get("suites", {})).items():
        out.append(f"- {suite}: {code(str(commit))}")
    for warning in meta.get("warnings", []):
        out.append(f"- {warning}")
    out.append("")
    originals = [r for r in results if r.variant == ORIGINAL]
    out += ["## Summary (scripts as written)", ""]
    out += table(
        ["suite", "total", "run", "passed", "failed", "skipped", "passed/run"],
        summary_rows(originals),
    )
    out.append("")
    for suite in _ordered(r.suite for r in originals):
        title = SUITES[suite].title if suite in SUITES else suite
        out += [f"## {title}", ""]
        of_suite = _by(originals, suite=suite)
        for directory in _ordered(r.directory for r in of_suite):
            out += render_directory(_by(of_suite, directory=directory), directory)
    out += render_normalised([r for r in results if r.variant == NORMALISED])
    return "\n".join(out).rstrip("\n") + "\n"


def render_normalised(results: Sequence[Result]) -> List[str]:
    out = [
        "## Normalised scripts (not packetdrill passes)",
        "",
        "Scripts that failed as written and that a rule of "
        "`tests/packetdrill/conformance/normalise.py` changes, run again "
        "normalised. These results are never counted as passes above.",
        "",
    ]
    out += table(
        ["rule", "suites", "for stacks laying out options as", "reason"],
        ([code(n), s, lay, text(r)] for n, s, lay, r in describe(RULES)),
        numeric=False,
    )
    out.append("")
    if not results:
        out += ["No normalised runs.", ""]
        return out
    rows: List[List[str]] = []
    for suite in _ordered(r.suite for r in results):
        for directory in _ordered(r.directory for r in _by(results, suite=suite)):
            row = Row(f"{suite}/{directory}")
            for r in _by(results, suite=suite, directory=directory):
                row.add(r)
            rows.append([row.name, str(row.run), str(row.passed), str(row.failed)])
    out += table(["directory", "normalised runs", "passed", "failed"], rows)
    out += ["", "Runs:", ""]
    for r in results:
        line = f"- {code(r.script)} [{', '.join(r.rules)}]: {r.outcome}"
        if r.outcome == FAILED:
            line += f" ({r.category}): {code(r.detail)}"
        out.append(line)
    out.append("")
    return out


def to_json(results: Sequence[Result], meta: Mapping[str, Any]) -> str:
    doc: Dict[str, Any] = {"meta": dict(meta), "results": [r.to_json() for r in results]}
    return json.dumps(doc, indent=1, sort_keys=False) + "\n"
