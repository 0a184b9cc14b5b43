"""Scenario files (docs/experiments.md): checking one against the published
JSON Schema, gathering the trace files it names, and running it on a daemon.

    import tcpemu, tcpemu.scenario
    errors = tcpemu.scenario.validate_file("two-flows.yaml")   # [] when valid
    with tcpemu.Client() as client:
        summary = tcpemu.scenario.run_file(client, "two-flows.yaml", seed=3)

The daemon's C++ loader is the one authority on a file's meaning; the schema
catches most mistakes without a daemon (cross-references and the engine's
value ranges only the loader checks).
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

import jsonschema
import yaml

from tcpemu._sync.client import Client
from tcpemu._sync.scenarios import ProgressFn, run_scenario

__all__ = ["run_file", "run_scenario", "schema", "trace_files", "validate_file", "validate_text"]


def schema() -> Dict[str, Any]:
    """The scenario file's JSON Schema (draft 2020-12)."""
    text = resources.files("tcpemu").joinpath("scenario.schema.json").read_text()
    loaded: Dict[str, Any] = json.loads(text)
    return loaded


def validate_text(text: str) -> List[str]:
    """The schema's complaints about a scenario's YAML text, each as
    "key/path: message"; [] when it conforms."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        return [f"not valid YAML: {e}"]
    validator = jsonschema.Draft202012Validator(schema())
    return [
        f"{'/'.join(str(p) for p in e.absolute_path) or '(top level)'}: {e.message}"
        for e in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    ]


def validate_file(path: str | Path) -> List[str]:
    return validate_text(Path(path).read_text())


def trace_files(path: str | Path, text: Optional[str] = None) -> Dict[str, str]:
    """The trace files a scenario file names (links' `trace`), read relative
    to the file, by the name it uses: the `files` the daemon needs, since it
    reads nothing from the client's disk."""
    path = Path(path)
    doc = yaml.safe_load(text if text is not None else path.read_text()) or {}
    out: Dict[str, str] = {}
    for link in doc.get("links") or []:
        if not isinstance(link, dict):
            continue
        for direction in ("both", "forward", "reverse"):
            spec = link.get(direction)
            if isinstance(spec, dict) and isinstance(spec.get("trace"), str):
                name = spec["trace"]
                out[name] = (path.parent / name).read_text()
    return out


def run_file(
    client: Client,
    path: str | Path,
    *,
    overrides: Sequence[str] = (),
    seed: Optional[int] = None,
    on_progress: Optional[ProgressFn] = None,
    timeout: Optional[float] = None,
    files: Optional[Mapping[str, str]] = None,
) -> str:
    """Runs the scenario file at `path` on the daemon and returns its
    summary.json text. Trace files it names are read and sent along; an
    override naming another trace file needs it in `files`."""
    text = Path(path).read_text()
    sent = trace_files(path, text)
    sent.update(files or {})
    return run_scenario(
        client,
        text,
        overrides=overrides,
        seed=seed,
        files=sent,
        on_progress=on_progress,
        timeout=timeout,
    )
