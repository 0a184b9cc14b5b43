"""Scenario files from Python: the packaged schema, `tcpemu scenario validate`,
and `tcpemu scenario run` against a daemon, whose summary.json is the same
bytes as tcpemu-sim --scenario's for the same file, seed and overrides."""

from __future__ import annotations

import json
import pathlib
import subprocess

import pytest

import tcpemu
import tcpemu.scenario
from tcpemu.cli import main
from tcpemu.errors import TcpemuError

from conftest import tcpemud_path

REPO = pathlib.Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "docs" / "scenarios"


def test_packaged_schema_is_the_published_one() -> None:
    published = json.loads((REPO / "docs" / "scenario.schema.json").read_text())
    assert tcpemu.scenario.schema() == published


def test_validate_text_names_the_key() -> None:
    assert tcpemu.scenario.validate_file(EXAMPLES / "two-flows.yaml") == []
    errors = tcpemu.scenario.validate_text(
        "duration: 1s\nlinks: [{forward: {rat: 1mbit}}]\nsessions: [{workload: {kind: bulk}}]\n"
    )
    assert errors and errors[0].startswith("links/0/forward")
    assert tcpemu.scenario.validate_text("a: [") != []


def test_cli_validate(capsys: pytest.CaptureFixture[str], tmp_path: pathlib.Path) -> None:
    assert main(["scenario", "validate", str(EXAMPLES / "workloads.yaml")]) == 0
    assert "valid" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text("duration: 1s\nlinks: []\nsessions: []\n")
    assert main(["scenario", "validate", str(bad)]) == 2
    assert "links" in capsys.readouterr().err


def test_trace_files_are_read_relative_to_the_file() -> None:
    files = tcpemu.scenario.trace_files(EXAMPLES / "cellular-trace.yaml")
    assert list(files) == ["traces/sine-2-12mbit-10s.mahi"]
    assert files["traces/sine-2-12mbit-10s.mahi"].endswith("\n10000\n")  # its period


def test_run_matches_tcpemu_sim(target: str, tmp_path: pathlib.Path) -> None:
    sim = tcpemud_path().parent.parent / "engine" / "cli" / "tcpemu-sim"
    if not sim.exists():
        pytest.skip(f"{sim} is not built")
    example = EXAMPLES / "two-flows.yaml"
    same = ["--seed", "5", "--set", "duration=10s", "--quiet"]
    sim_args = [str(sim), "--scenario", str(example), "--out", str(tmp_path / "sim"), *same]
    subprocess.run(sim_args, check=True)
    rc = main(
        ["--target", target, "scenario", "run", str(example), "--out", str(tmp_path / "rpc"), *same]
    )
    assert rc == 0
    got = (tmp_path / "rpc" / "summary.json").read_bytes()
    assert got == (tmp_path / "sim" / "summary.json").read_bytes()
    summary = json.loads(got)
    assert summary["format"] == "tcpemu-scenario-summary/1"
    assert summary["scenario"]["seed"] == 5
    assert [f["name"] for f in summary["flows"]] == ["a", "b"]


def test_run_sends_trace_files_and_reports_progress(target: str) -> None:
    seen: list[float] = []
    with tcpemu.Client(target, timeout=20) as client:
        summary = tcpemu.scenario.run_file(
            client,
            EXAMPLES / "cellular-trace.yaml",
            overrides=["duration=1s"],
            on_progress=lambda now, duration: seen.append(now),
            timeout=120,
        )
    assert json.loads(summary)["end_s"] == 1.0
    assert seen == sorted(seen) and len(seen) >= 10


def test_run_errors_name_the_field(target: str) -> None:
    with tcpemu.Client(target, timeout=20) as client, pytest.raises(TcpemuError) as e:
        tcpemu.scenario.run_scenario(client, "duration: 1s\nlinks: []\n")
    assert "scenario_yaml" in e.value.message
