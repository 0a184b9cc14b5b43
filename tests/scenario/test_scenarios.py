"""Scenario files: the JSON Schema (docs/scenario.schema.json) and the C++
loader (tcpemu-sim --scenario F --validate) agree on every example in
docs/scenarios/ (valid) and on every file in tests/scenario/bad/ (invalid),
and the loader's message holds the file's expected substring.

A bad file starts with `# expect: SUBSTRING` and, when only the loader can
see the mistake (cross-references, times against the duration), with
`# schema: accepts (why)`.

tcpemu-sim is $TCPEMU_SIM, else build/engine/cli/tcpemu-sim.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "docs" / "scenario.schema.json").read_text())
SIM = Path(os.environ.get("TCPEMU_SIM", ROOT / "build" / "engine" / "cli" / "tcpemu-sim"))
EXAMPLES = sorted((ROOT / "docs" / "scenarios").glob("*.yaml"))
BAD = sorted((ROOT / "tests" / "scenario" / "bad").glob("*.yaml"))
# Engine features another change is building: an example that uses one is
# skipped (and says so) while the engine refuses it.
NOT_BUILT = ("only drop_tail is built",)


def schema_errors(path: Path) -> list[str]:
    doc = yaml.safe_load(path.read_text())
    validator = jsonschema.Draft202012Validator(SCHEMA)
    return [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(doc)]


def loader(path: Path) -> subprocess.CompletedProcess[str]:
    if not SIM.exists():
        pytest.skip(f"{SIM} is not built")
    return subprocess.run(
        [str(SIM), "--scenario", str(path), "--validate"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_schema_is_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_corpus_is_there() -> None:
    assert len(EXAMPLES) >= 4
    assert len(BAD) >= 10


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_are_valid_for_both(path: Path) -> None:
    assert schema_errors(path) == []
    run = loader(path)
    if run.returncode != 0 and any(s in run.stderr for s in NOT_BUILT):
        pytest.skip(f"the engine does not build this yet: {run.stderr.strip()}")
    assert run.returncode == 0, run.stderr
    assert "valid" in run.stdout


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.name)
def test_bad_files_are_invalid_for_both(path: Path) -> None:
    text = path.read_text()
    header = dict(
        line[2:].split(": ", 1)
        for line in text.splitlines()
        if line.startswith("# ") and ": " in line
    )
    expect = header["expect"]
    run = loader(path)
    assert run.returncode == 2, run.stdout + run.stderr
    assert expect in run.stderr
    errors = schema_errors(path)
    if header.get("schema", "").startswith("accepts"):
        assert errors == [], "the schema now catches this: drop the `# schema: accepts` line"
    else:
        assert errors, "the schema accepts a file the loader refuses"


def test_tcp_stack_choices_load(tmp_path: Path) -> None:
    path = tmp_path / "stack.yaml"
    path.write_text(
        "duration: 1s\n"
        "links: [{}]\n"
        "sessions:\n"
        "  - tcp: {window_scale: -1, flavor: freebsd, rfc5961_rst: false,\n"
        "          rfc5961_syn: false, ecn: true, ecn_syn_retries: 1}\n"
        "    server_tcp: {window_scale: 14, flavor: linux}\n"
        "    workload: {kind: bulk}\n"
    )
    assert schema_errors(path) == []
    run = loader(path)
    assert run.returncode == 0, run.stderr
    assert "valid" in run.stdout
