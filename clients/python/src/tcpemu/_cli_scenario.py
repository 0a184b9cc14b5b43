"""`tcpemu scenario validate FILE`, `tcpemu scenario run FILE --out DIR [--plots]`
and `tcpemu scenario sweep FILE --param KEY=v1,v2 --seeds N --out DIR`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from tcpemu import scenario, sweep
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
    x.add_argument(
        "--plots", action="store_true", help="also write PNG plots into DIR (needs matplotlib)"
    )
    x = ssub.add_parser(
        "sweep",
        help="run a file for every combination of --param values and seeds; "
        "write DIR/runs/*.json, DIR/sweep.csv, DIR/sweep.json",
    )
    x.add_argument("file")
    x.add_argument("--out", required=True, metavar="DIR")
    x.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=V1,V2",
        help="an override key and its values, e.g. sessions[0].tcp.cc=newreno,cubic (repeatable)",
    )
    x.add_argument("--seeds", type=int, default=1, metavar="N", help="seeds 1..N per combination")
    x.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one value in every run (repeatable)",
    )
    x.add_argument(
        "--daemon",
        action="append",
        default=[],
        metavar="ADDR",
        help="a daemon to run on (repeatable; default: --target)",
    )
    x.add_argument(
        "--per-daemon",
        type=int,
        default=2,
        metavar="N",
        help="runs at once per daemon (default 2, tcpemud's limit)",
    )
    x.add_argument("--no-plots", action="store_true", help="no scatter plot")
    x.add_argument(
        "--delay",
        choices=["queueing", "one-way"],
        default="queueing",
        help="the scatter plot's x axis: p95 queueing (default) or one-way delay",
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
    if args.action == "sweep":
        return cmd_scenario_sweep(client, args)
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
    if args.plots:
        try:
            from tcpemu.scenario_report import write_report

            for p in write_report(json.loads(summary), out):
                print(p)
        except ImportError as e:
            print(f"tcpemu: {e}", file=sys.stderr)
            return 2
    return 0


def cmd_scenario_sweep(client: Client, args: argparse.Namespace) -> int:
    errors = scenario.validate_file(args.file)
    if errors:
        for e in errors:
            print(f"{args.file}: {e}", file=sys.stderr)
        return 2
    try:
        params = dict(sweep.parse_param(p) for p in args.param)
        runs = sweep.matrix(params, args.seeds)
    except ValueError as e:
        print(f"tcpemu: {e}", file=sys.stderr)
        return 2
    daemons = args.daemon or [client.target]
    from tcpemu.cli import security_args  # the daemons take --target's credentials

    tls, token = security_args(args)

    def progress(done: int, total: int, run: sweep.Run) -> None:
        if not args.quiet:
            print(f"\rruns {done} / {total}", end="", file=sys.stderr)

    result = sweep.run_sweep(
        args.file,
        runs,
        args.out,
        daemons=daemons,
        per_daemon=args.per_daemon,
        overrides=args.set,
        on_progress=progress,
        client_options={"timeout": args.timeout, "tls": tls, "token": token},
    )
    if not args.quiet:
        print(file=sys.stderr)
        print(f"ran {result['ran']}, skipped {result['skipped']} (already done)", file=sys.stderr)
    rows = sweep.load_rows(args.out, runs)
    for p in sweep.write_table(args.out, rows):
        print(p)
    if not args.no_plots:
        try:
            from tcpemu.scenario_report import write_sweep_scatter

            delay = "queueing_delay_p95_ms" if args.delay == "queueing" else "one_way_delay_p95_ms"
            print(write_sweep_scatter(rows, Path(args.out) / "scatter.png", delay=delay))
        except ImportError as e:
            print(f"tcpemu: {e} (no scatter plot)", file=sys.stderr)
    return 0
