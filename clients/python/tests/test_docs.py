"""Every Python block of docs/python.md and of the top-level README runs, as
written, against the live daemon, so the documentation cannot drift from the
code."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from conftest import REPO_ROOT

DOC = REPO_ROOT / "docs" / "python.md"
README = REPO_ROOT / "README.md"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _blocks():
    if not DOC.is_file():
        return [pytest.param("", id="missing", marks=pytest.mark.xfail(reason=f"{DOC} missing"))]
    out = []
    for doc in (DOC, README):
        text = doc.read_text()
        for m in _BLOCK.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            out.append(pytest.param(m.group(1), id=f"{doc.name}:{line}"))
    return out


def test_doc_has_python_blocks():
    assert DOC.is_file(), f"{DOC} is missing"
    assert len(_BLOCK.findall(DOC.read_text())) >= 8


@pytest.mark.parametrize("code", _blocks())
def test_doc_block_runs(code, target, tmp_path):
    env = dict(os.environ, TCPEMU_TARGET=target, MPLBACKEND="Agg")
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    for png in tmp_path.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
