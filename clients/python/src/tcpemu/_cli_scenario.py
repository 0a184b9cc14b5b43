"""`tcpemu scenario validate FILE` and `tcpemu scenario run FILE --out DIR`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from tcpemu import scenario
from tcpemu.client import Client


def add_scenario_parser(sub: Any) -> None:
    p = sub.add_parser("scenario", help="scenario files (docs/experiments.md)")
    ssub = p.add_subparsers(dest="action", required=True)
    x = ssub.add_parser("validate", help="check a file against the JSON Schema (no daemon)")
    x.add_argument("file")
    x = ssub.add_parser("run", help="run a file on the daemon; write DIR/summary.json")
    x.add_argument("file")
    x.add_argument("--out", required=True, metavar="DIR", help="where summary.json goes")
    x.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one value, e.g. sessions[0].tcp.cc=cubic (repeatable)",
    )
    x.add_argument("--seed", type=int, help="replace the file's seed")
    x.add_argument(
        "--run-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="wall-clock limit of the whole run (default: none)",
    )
    x.add_argument("--quiet", action="store_true", help="no progress on stderr")


def cmd_scenario_validate(args: argparse.Namespace) -> int:
    errors = scenario.validate_file(args.file)
    for e in errors:
        print(f"{args.file}: {e}", file=sys.stderr)
    if errors:
        return 2
    print(f"{args.file}: valid (schema)")
    return 0


def cmd_scenario_run(client: Client, args: argparse.Namespace) -> int:
    errors = scenario.validate_file(args.file)
    if errors:
        for e in errors:
            print(f"{args.file}: {e}", file=sys.stderr)
        return 2

    def progress(now: float, duration: float) -> None:
        if not args.quiet:
            print(f"\r{now:9.3f} / {duration:.3f} s virtual", end="", file=sys.stderr)

    summary = scenario.run_file(
        client,
        args.file,
        overrides=args.set,
        seed=args.seed,
        on_progress=progress,
        timeout=args.run_timeout,
    )
    if not args.quiet:
        print(file=sys.stderr)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(summary)
    print(out / "summary.json")
    return 0
