"""Scenario sweeps (docs/experiments.md, "Reports and sweeps"): one scenario
file run for every combination of parameter values and seeds, fanned out over
one or more daemons, one summary.json per run in DIR/runs/, and a combined
table (DIR/sweep.csv, DIR/sweep.json).

    import tcpemu.sweep as sw
    runs = sw.matrix({"sessions[0].tcp.cc": ["newreno", "cubic"]}, seeds=3)
    sw.run_sweep("two-flows.yaml", runs, "out", daemons=["127.0.0.1:50051"])

A parameter is an override key of the scenario loader (`--set KEY=VALUE`);
each run's file in DIR/runs/ is named after its parameters and seed, so a
sweep started again with the same arguments skips the runs already written.
Each daemon runs at most `per_daemon` (default 2, tcpemud's limit) runs at
once; a RESOURCE_EXHAUSTED answer (the daemon busy with other clients) is
retried after a pause.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import os
import queue
import re
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from tcpemu import scenario
from tcpemu._sync.client import Client
from tcpemu.errors import ResourceExhausted

__all__ = [
    "Run",
    "matrix",
    "parse_param",
    "run_sweep",
    "summarize",
    "write_table",
]

# How long a run waits after RESOURCE_EXHAUSTED before trying again, and how
# many times it tries.
_BUSY_PAUSE_S = 0.5
_BUSY_TRIES = 240


@dataclasses.dataclass(frozen=True)
class Run:
    """One run of a sweep: parameter values (override key -> YAML value, in
    the order given) and a seed."""

    params: Tuple[Tuple[str, str], ...]
    seed: int

    @property
    def overrides(self) -> List[str]:
        return [f"{k}={v}" for k, v in self.params]

    @property
    def run_id(self) -> str:
        """Stable file name: readable parameters and seed, plus a short hash
        of the exact values (two values that sanitize alike stay apart)."""
        readable = "_".join(f"{_short_key(k)}-{v}" for k, v in self.params)
        readable = re.sub(r"[^A-Za-z0-9.+-]+", "_", readable).strip("_")[:80]
        exact = json.dumps([list(self.params), self.seed])
        digest = hashlib.sha256(exact.encode()).hexdigest()[:8]
        return f"{readable + '_' if readable else ''}seed{self.seed}_{digest}"


def _short_key(key: str) -> str:
    return key.rsplit(".", 1)[-1]


def parse_param(text: str) -> Tuple[str, List[str]]:
    """`KEY=v1,v2,...` -> (KEY, [v1, v2, ...]). Values may not contain commas."""
    key, sep, values = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ValueError(
            f"--param {text!r}: expected KEY=v1,v2,... (e.g. sessions[0].tcp.cc=cubic)"
        )
    vals = [v.strip() for v in values.split(",")]
    if not vals or any(v == "" for v in vals):
        raise ValueError(f"--param {text!r}: empty value in the list")
    return key, vals


def matrix(params: Mapping[str, Sequence[str]], seeds: int | Sequence[int]) -> List[Run]:
    """Every combination of the parameters' values, times every seed (an int
    n means seeds 1..n), in a stable order."""
    seed_list = list(range(1, seeds + 1)) if isinstance(seeds, int) else list(seeds)
    if not seed_list:
        raise ValueError("seeds: at least one seed is needed")
    combos: List[Tuple[Tuple[str, str], ...]] = [()]
    for key, values in params.items():
        if not values:
            raise ValueError(f"param {key}: no values")
        combos = [(*c, (key, v)) for c in combos for v in values]
    return [Run(c, s) for c in combos for s in seed_list]


def run_path(out: str | os.PathLike[str], run: Run) -> Path:
    return Path(out) / "runs" / f"{run.run_id}.json"


ProgressFn = Callable[[int, int, Run], None]  # (done, total, run just finished)


def run_sweep(
    path: str | Path,
    runs: Sequence[Run],
    out: str | os.PathLike[str],
    *,
    daemons: Sequence[str],
    per_daemon: int = 2,
    overrides: Sequence[str] = (),
    on_progress: Optional[ProgressFn] = None,
    client_options: Optional[Mapping[str, Any]] = None,
    run_timeout: Optional[float] = None,
    on_busy: Optional[Callable[[str, Run], None]] = None,
) -> Dict[str, int]:
    """Runs every run not yet in DIR/runs/ and writes its summary.json there
    (atomically: an interrupted run leaves no file). `overrides` are applied
    to every run before the run's own parameters. Returns {"ran": n,
    "skipped": m, "busy": k}, k the RESOURCE_EXHAUSTED answers retried (each
    also reported to `on_busy(daemon address, run)`). The first failing run
    stops the sweep (runs under way finish) and its error is raised."""
    if not daemons:
        raise ValueError("daemons: at least one address is needed")
    if per_daemon < 1:
        raise ValueError(f"per_daemon must be >= 1, got {per_daemon}")
    runs_dir = Path(out) / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    for stale in runs_dir.glob("*.tmp*"):  # left by an interrupted run
        stale.unlink()
    todo: queue.Queue[Run] = queue.Queue()
    skipped = 0
    for r in runs:
        if run_path(out, r).exists():
            skipped += 1
        else:
            todo.put(r)
    total = len(runs)
    lock = threading.Lock()
    state = {"done": skipped, "ran": 0, "busy": 0}
    errors: List[BaseException] = []
    if on_progress is not None and skipped:
        on_progress(skipped, total, runs[0])

    def busy(client: Client, r: Run) -> None:
        with lock:
            state["busy"] += 1
        if on_busy is not None:
            on_busy(client.target, r)

    def worker(client: Client) -> None:
        while not errors:
            try:
                r = todo.get_nowait()
            except queue.Empty:
                return
            try:
                summary = _run_one(client, path, r, overrides, run_timeout, busy)
                dest = run_path(out, r)
                tmp = dest.with_suffix(f".tmp{threading.get_ident()}")
                tmp.write_text(summary)
                os.replace(tmp, dest)
            except BaseException as e:
                with lock:
                    errors.append(e)
                return
            with lock:
                state["done"] += 1
                state["ran"] += 1
                if on_progress is not None:
                    on_progress(state["done"], total, r)

    clients = [Client(d, **dict(client_options or {})) for d in daemons]
    try:
        threads = [
            threading.Thread(target=worker, args=(c,), daemon=True)
            for c in clients
            for _ in range(per_daemon)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for c in clients:
            c.close()
    if errors:
        raise errors[0]
    return {"ran": state["ran"], "skipped": skipped, "busy": state["busy"]}


def _run_one(
    client: Client,
    path: str | Path,
    r: Run,
    overrides: Sequence[str],
    run_timeout: Optional[float],
    busy: Callable[[Client, Run], None],
) -> str:
    for attempt in range(_BUSY_TRIES):
        try:
            return scenario.run_file(
                client,
                path,
                overrides=[*overrides, *r.overrides],
                seed=r.seed,
                timeout=run_timeout,
            )
        except ResourceExhausted:
            if attempt + 1 == _BUSY_TRIES:
                raise
            busy(client, r)
            time.sleep(_BUSY_PAUSE_S)
    raise AssertionError("unreachable")


def _drops(direction: Mapping[str, Any]) -> int:
    return sum(int(v) for v in (direction.get("drops") or {}).values())


def summarize(run: Run, summary: Mapping[str, Any]) -> Dict[str, Any]:
    """One row of the sweep table from a run's summary.json."""
    flows = summary.get("flows") or []
    links = summary.get("links") or []
    qdelay_p95 = [
        link[d]["queueing_delay_ms"]["p95"]
        for link in links
        for d in ("forward", "reverse")
        if d in link and link[d].get("queueing_delay_ms", {}).get("p95") is not None
    ]
    owd_p95 = [
        link[d]["one_way_delay_ms"]["p95"]
        for link in links
        for d in ("forward", "reverse")
        if d in link and link[d].get("one_way_delay_ms", {}).get("p95") is not None
    ]
    goodputs = [float(f.get("goodput_bps") or 0.0) for f in flows]
    s = summary.get("summary") or {}
    return {
        "run_id": run.run_id,
        "params": dict(run.params),
        "seed": run.seed,
        "total_goodput_bps": s.get("total_goodput_bps"),
        "mean_goodput_bps": sum(goodputs) / len(goodputs) if goodputs else None,
        "jain_fairness": s.get("jain_fairness"),
        "retransmissions": s.get("retransmissions"),
        "drops": sum(
            _drops(link[d]) for link in links for d in ("forward", "reverse") if d in link
        ),
        "queueing_delay_p95_ms": max(qdelay_p95) if qdelay_p95 else None,
        "one_way_delay_p95_ms": max(owd_p95) if owd_p95 else None,
        "flows": [
            {
                "name": f.get("name"),
                "goodput_bps": f.get("goodput_bps"),
                "rtt_p95_ms": (f.get("rtt_ms") or {}).get("p95"),
                "retransmissions": f.get("retransmissions"),
            }
            for f in flows
        ],
    }


def load_rows(out: str | os.PathLike[str], runs: Sequence[Run]) -> List[Dict[str, Any]]:
    """The table rows of the runs whose files exist, in the runs' order."""
    rows = []
    for r in runs:
        p = run_path(out, r)
        if p.exists():
            rows.append(summarize(r, json.loads(p.read_text())))
    return rows


def write_table(
    out: str | os.PathLike[str], rows: Sequence[Mapping[str, Any]]
) -> Tuple[Path, Path]:
    """DIR/sweep.json (the rows as a list) and DIR/sweep.csv (one line per
    run; per-flow columns `goodput_bps:<flow>` and `rtt_p95_ms:<flow>`)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    jpath = out / "sweep.json"
    jpath.write_text(json.dumps(list(rows), indent=2, sort_keys=True) + "\n")
    param_keys: List[str] = []
    flow_names: List[str] = []
    for row in rows:
        for k in row["params"]:
            if k not in param_keys:
                param_keys.append(k)
        for f in row["flows"]:
            if f["name"] not in flow_names:
                flow_names.append(f["name"])
    scalar = [
        "total_goodput_bps",
        "mean_goodput_bps",
        "jain_fairness",
        "retransmissions",
        "drops",
        "queueing_delay_p95_ms",
        "one_way_delay_p95_ms",
    ]
    header = ["run_id", *param_keys, "seed", *scalar]
    for name in flow_names:
        header += [f"goodput_bps:{name}", f"rtt_p95_ms:{name}", f"retransmissions:{name}"]
    cpath = out / "sweep.csv"
    with cpath.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for row in rows:
            by_flow = {f["name"]: f for f in row["flows"]}
            line: List[Any] = [row["run_id"]]
            line += [row["params"].get(k, "") for k in param_keys]
            line += [row["seed"], *(_cell(row[k]) for k in scalar)]
            for name in flow_names:
                f = by_flow.get(name, {})
                line += [
                    _cell(f.get("goodput_bps")),
                    _cell(f.get("rtt_p95_ms")),
                    _cell(f.get("retransmissions")),
                ]
            w.writerow(line)
    return cpath, jpath


def _cell(v: Any) -> Any:
    return "" if v is None else v
