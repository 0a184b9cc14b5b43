"""The mechanical normalisations of packetdrill scripts: the one reviewed file.

A script is always run as written first. Only when that run fails and a rule
below changes its text is the normalised copy run too, from a temporary
directory, and its result is reported apart, under the names of the rules
that changed it. A normalised pass is never a pass of the original script.

Every rule rewrites only what a stack is free to choose without changing
the protocol's meaning (e.g. the order of TCP options and their padding), and
only on the segments the stack under test sends (`>` lines): what the script
injects (`<` lines) is left as the script's author wrote it.

A rule also names the option layouts of the stack under test it is for.
Linux's layout: MSS; SACK-permitted in the two bytes before the timestamps,
or NOP NOP SACK-permitted without them; NOP NOP before timestamps without
SACK; NOP window scale last. FreeBSD puts the window scale right after the
MSS and pads with EOL at the end. The engine lays out options as the shim's
profile says (TcpConfig::flavor), so with `profile=freebsd` FreeBSD
scripts need none of the FreeBSD rules; they serve runs where the stack
lays options out as Linux does: `--stack kernel`, or `--profile linux`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import FrozenSet, List, Sequence, Tuple

# A packet line the stack under test sends: a time, then `>`.
_OUTBOUND = re.compile(r"^\s*\S+\s+>")

_NUM = r"(\d+)"
_TS = r"TS\s+val\s+(\S+)\s+ecr\s+(\S+)"


@dataclass(frozen=True)
class Rule:
    name: str
    reason: str
    pattern: re.Pattern[str]
    replacement: str
    suites: FrozenSet[str]  # the suites whose scripts it rewrites
    layouts: FrozenSet[str]  # the option layouts of the stack under test it is for
    outbound_only: bool = True

    def apply_line(self, line: str) -> str:
        if self.outbound_only and not _OUTBOUND.match(line):
            return line
        return self.pattern.sub(self.replacement, line)


def _opt(body: str) -> re.Pattern[str]:
    """A whole option list, allowing the spaces scripts put after commas."""
    return re.compile("<" + body.replace(",", r"\s*,\s*") + ">")


RULES: Sequence[Rule] = (
    Rule(
        name="freebsd-syn-options-full",
        reason=(
            "FreeBSD sends MSS, window scale, SACK-permitted, timestamps as "
            "<mss,nop,wscale,sackOK,TS>; Linux sends the same "
            "options as <mss,sackOK,TS,nop,wscale>. Same options, same values, "
            "same length."
        ),
        pattern=_opt(rf"mss {_NUM},nop,wscale {_NUM},sackOK,{_TS}"),
        replacement=r"<mss \1,sackOK,TS val \3 ecr \4,nop,wscale \2>",
        suites=frozenset({"freebsd"}),
        layouts=frozenset({"linux"}),
    ),
    Rule(
        name="freebsd-syn-options-no-sack",
        reason=(
            "FreeBSD without SACK sends <mss,nop,wscale,nop,nop,TS>; Linux "
            "sends <mss,nop,nop,TS,nop,wscale>."
        ),
        pattern=_opt(rf"mss {_NUM},nop,wscale {_NUM},nop,nop,{_TS}"),
        replacement=r"<mss \1,nop,nop,TS val \3 ecr \4,nop,wscale \2>",
        suites=frozenset({"freebsd"}),
        layouts=frozenset({"linux"}),
    ),
    Rule(
        name="freebsd-syn-options-mss-sack",
        reason=(
            "FreeBSD pads MSS and SACK-permitted with two EOLs at the end "
            "(<mss,sackOK,eol,eol>); Linux pads with two NOPs in front of "
            "SACK-permitted (<mss,nop,nop,sackOK>)."
        ),
        pattern=_opt(rf"mss {_NUM},sackOK,eol,eol"),
        replacement=r"<mss \1,nop,nop,sackOK>",
        suites=frozenset({"freebsd"}),
        layouts=frozenset({"linux"}),
    ),
)


# The FreeBSD suite's scripts are written for nplab's packetdrill, which runs
# them through the C preprocessor: `#ifdef STANDARD` blocks hold what the
# RFCs require, `#ifdef FreeBSD` blocks what FreeBSD does instead. The
# pinned google/packetdrill cannot parse the directives, so the original
# scripts are skipped and this rule keeps the STANDARD blocks (the engine
# follows the RFCs) and drops the others.
IFDEF_RULE = "nplab-ifdef-standard"
IFDEF_REASON = (
    "nplab's packetdrill preprocesses scripts; keeps the `#ifdef STANDARD` "
    "blocks (the RFCs' behaviour) and drops the `#ifdef FreeBSD` ones"
)
IFDEF_KEEP = frozenset({"STANDARD"})
_DIRECTIVE = re.compile(r"^#\s*(ifdef|ifndef|else|endif)\b\s*(\w*)")


def has_directives(text: str) -> bool:
    return any(_DIRECTIVE.match(line) for line in text.split("\n"))


def select_ifdef_blocks(text: str, keep: FrozenSet[str] = IFDEF_KEEP) -> str:
    """The text with preprocessor blocks resolved: a block is kept when its
    symbol is in `keep` (for #ifdef; not in it for #ifndef). Directive lines
    become empty lines, so line numbers in errors still point at the
    original script."""
    out: List[str] = []
    active: List[bool] = []  # one entry per open block: is its body kept
    for line in text.split("\n"):
        m = _DIRECTIVE.match(line)
        if m is None:
            out.append(line if all(active) else "")
            continue
        kind, name = m.group(1), m.group(2)
        if kind == "ifdef":
            active.append(name in keep)
        elif kind == "ifndef":
            active.append(name not in keep)
        elif kind == "else":
            if not active:
                raise ValueError("#else without #ifdef")
            active[-1] = not active[-1]
        else:
            if not active:
                raise ValueError("#endif without #ifdef")
            active.pop()
        out.append("")
    if active:
        raise ValueError("#ifdef without #endif")
    return "\n".join(out)


def applicable(suite: str, layout: str, rules: Sequence[Rule] = RULES) -> List[Rule]:
    return [r for r in rules if suite in r.suites and layout in r.layouts]


def normalise(
    text: str, suite: str, layout: str = "linux", rules: Sequence[Rule] = RULES
) -> Tuple[str, List[str]]:
    """The normalised text and the names of the rules that changed it, for
    a script of `suite` run against a stack with option layout `layout`."""
    used: List[str] = []
    if suite == "freebsd" and has_directives(text):
        text = select_ifdef_blocks(text)
        used.append(IFDEF_RULE)
    lines = text.split("\n")
    for rule in applicable(suite, layout, rules):
        changed = False
        for i, line in enumerate(lines):
            new = rule.apply_line(line)
            if new != line:
                lines[i] = new
                changed = True
        if changed:
            used.append(rule.name)
    return "\n".join(lines), used


def describe(rules: Sequence[Rule] = RULES) -> List[Tuple[str, str, str, str]]:
    """(name, suites, layouts, reason) of each rule, for the report."""
    return [(IFDEF_RULE, "freebsd", "any", IFDEF_REASON)] + [
        (r.name, ",".join(sorted(r.suites)), ",".join(sorted(r.layouts)), r.reason) for r in rules
    ]
