"""Scenario sweeps over one and two daemons (tcpemu.sweep, `tcpemu scenario
sweep`) and the scenario report plots (tcpemu.scenario_report)."""

from __future__ import annotations

import asyncio
import csv
import importlib.util
import json
import pathlib
import subprocess
import sys
import threading
from typing import Dict, List

import pytest

from tcpemu import sweep
from tcpemu._async.client import Client as AsyncClient
from tcpemu._async.scenarios import run_scenario
from tcpemu.cli import main

from conftest import Daemon, tcpemud_path

# Short in virtual time and slow links: each run is a few ms of CPU. Random
# loss makes the seed matter.
SCENARIO = """\
version: 1
name: sweep-test
seed: 1
duration: 2s
links:
  - name: bottleneck
    both:
      delay: 10ms
    forward:
      rate: 2mbit
      queue_packets: 20
      loss: 1%
sessions:
  - name: a
    link: bottleneck
    tcp: {cc: newreno}
    workload: {kind: bulk}
  - name: b
    link: bottleneck
    start: 500ms
    tcp: {cc: newreno}
    workload: {kind: bulk}
"""

PARAM2 = "links[0].forward.queue_packets"
# 2 cc x 2 queue sizes x 10 seeds = 40 runs.
PARAMS = [
    "--param",
    "sessions[0].tcp.cc=newreno,cubic",
    "--param",
    "links[0].forward.queue_packets=10,40",
    "--seeds",
    "10",
]
N_RUNS = 40

HAVE_MPL = importlib.util.find_spec("matplotlib") is not None


def _files(out: pathlib.Path) -> Dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / "runs").glob("*.json"))}


def _sweep(scenario: pathlib.Path, out: pathlib.Path, daemons: List[str]) -> int:
    args = ["scenario", "sweep", str(scenario), "--out", str(out), *PARAMS, "--quiet"]
    for d in daemons:
        args += ["--daemon", d]
    return main(["--target", daemons[0], *args])


def test_matrix_and_run_ids() -> None:
    runs = sweep.matrix({"a.b": ["x", "y"], "c": ["1"]}, 3)
    assert len(runs) == 6
    assert runs[0].overrides == ["a.b=x", "c=1"] and runs[0].seed == 1
    assert len({r.run_id for r in runs}) == 6
    assert runs[0].run_id == sweep.matrix({"a.b": ["x"], "c": ["1"]}, 1)[0].run_id
    with pytest.raises(ValueError, match="--param"):
        sweep.parse_param("novalues")
    with pytest.raises(ValueError, match="empty value"):
        sweep.parse_param("k=a,,b")


def test_sweep_one_vs_two_daemons_and_resume(
    target: str, replicas: List[Daemon], tmp_path: pathlib.Path
) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(SCENARIO)
    two = tmp_path / "two"
    one = tmp_path / "one"
    assert _sweep(scenario, two, [d.target for d in replicas]) == 0
    assert _sweep(scenario, one, [target]) == 0

    got_two = _files(two)
    got_one = _files(one)
    assert len(got_two) == N_RUNS
    assert got_two == got_one  # byte for byte, whichever daemon ran a run
    # The seed and the parameters reach the daemon: runs differ.
    assert len(set(got_one.values())) == N_RUNS
    s = json.loads(next(iter(got_one.values())))
    assert s["scenario"]["overrides"][0].startswith("sessions[0].tcp.cc=")

    # A run's file is what tcpemu-sim writes for the same overrides and seed.
    sim = tcpemud_path().parent.parent / "engine" / "cli" / "tcpemu-sim"
    if sim.exists():
        run = sweep.matrix({"sessions[0].tcp.cc": ["cubic"], PARAM2: ["40"]}, [7])[0]
        sets = [a for o in run.overrides for a in ("--set", o)]
        out = tmp_path / "sim"
        cmd = [str(sim), "--scenario", str(scenario), "--out", str(out), *sets, "--seed", "7"]
        subprocess.run([*cmd, "--quiet"], check=True)
        assert (out / "summary.json").read_bytes() == got_one[f"{run.run_id}.json"]

    rows = json.loads((one / "sweep.json").read_text())
    assert len(rows) == N_RUNS
    with (one / "sweep.csv").open() as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == N_RUNS
    assert {r["sessions[0].tcp.cc"] for r in table} == {"newreno", "cubic"}
    assert all(float(r["goodput_bps:a"]) > 0 for r in table)
    assert any(int(r["drops"]) > 0 for r in table)

    # Resume: delete half the run files; only those run again, with the
    # same bytes as before.
    names = sorted(got_two)
    deleted = names[::2]
    for n in deleted:
        (two / "runs" / n).unlink()
    stamps = {n: (two / "runs" / n).stat().st_mtime_ns for n in names if n not in deleted}
    runs = sweep.matrix(
        {
            "sessions[0].tcp.cc": ["newreno", "cubic"],
            "links[0].forward.queue_packets": ["10", "40"],
        },
        10,
    )
    (two / "runs" / f"{deleted[0]}.tmp1").write_text("{")  # an interrupted write
    result = sweep.run_sweep(scenario, runs, two, daemons=[d.target for d in replicas])
    assert not list((two / "runs").glob("*.tmp*"))
    assert result["ran"] == len(deleted)
    assert result["skipped"] == N_RUNS - len(deleted)
    assert _files(two) == got_one
    for n, ns in stamps.items():
        assert (two / "runs" / n).stat().st_mtime_ns == ns, f"{n} was run again"
    if HAVE_MPL:
        assert (one / "scatter.png").stat().st_size > 0


@pytest.mark.skipif(not HAVE_MPL, reason="matplotlib is not installed (the [plot] extra)")
def test_run_writes_plots(target: str, tmp_path: pathlib.Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(SCENARIO)
    out = tmp_path / "out"
    args = ["--target", target, "scenario", "run", str(scenario), "--out", str(out)]
    assert main([*args, "--plots", "--quiet"]) == 0
    for name in ("summary.json", "throughput.png", "cwnd.png", "srtt.png", "queue.png"):
        p = out / name
        assert p.exists() and p.stat().st_size > 0, name
        if name.endswith(".png"):
            assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sweep_waits_while_the_daemon_is_busy(target: str, tmp_path: pathlib.Path) -> None:
    """Two endless runs hold the daemon's two scenario slots: the sweep's
    runs are refused (RESOURCE_EXHAUSTED), wait, and run once the slots are
    free again (the first refusal cancels the blockers)."""
    scenario = tmp_path / "s.yaml"
    scenario.write_text(SCENARIO)
    endless = SCENARIO.replace("duration: 2s", "duration: 24h")
    loop = asyncio.new_event_loop()
    started = [threading.Event(), threading.Event()]
    tasks: List[asyncio.Task[str]] = []

    async def blocker(i: int) -> str:
        async with AsyncClient(target) as client:
            return await run_scenario(client, endless, on_progress=lambda now, d: started[i].set())

    def serve() -> None:
        asyncio.set_event_loop(loop)
        tasks.extend(loop.create_task(blocker(i)) for i in range(2))
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    for ev in started:
        assert ev.wait(timeout=60)  # both runs are under way
    refused: List[str] = []

    def on_busy(daemon: str, run: sweep.Run) -> None:
        refused.append(daemon)
        for t in tasks:
            loop.call_soon_threadsafe(t.cancel)

    runs = sweep.matrix({"sessions[0].tcp.cc": ["cubic"]}, 2)
    result = sweep.run_sweep(scenario, runs, tmp_path / "out", daemons=[target], on_busy=on_busy)
    thread.join(timeout=60)
    loop.close()
    assert refused and refused[0] == target
    assert result["ran"] == 2 and result["busy"] == len(refused)
    assert len(_files(tmp_path / "out")) == 2


def test_plots_without_matplotlib_say_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    from tcpemu import scenario_report

    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)  # import fails
    summary = {"timeseries": {"t_s": [0.1], "flows": [{"name": "a", "throughput_bps": [1.0]}]}}
    with pytest.raises(ImportError, match=r"matplotlib.*\[plot\]"):
        scenario_report.write_report(summary, tmp_path)
    with pytest.raises(ImportError, match="matplotlib"):
        scenario_report.write_sweep_scatter([], tmp_path / "scatter.png")
