"""Every Python block of docs/python.md and of the top-level README runs, as
written, against the live daemon, so the documentation cannot drift from the
code. Blocks marked ``# Needs root`` skip without root or /dev/net/tun. Blocks
that use ``ShardedClient`` also get ``$TCPEMU_TARGETS``: two more daemons,
separated by a comma."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

import tcpemu

from conftest import REPO_ROOT

DOC = REPO_ROOT / "docs" / "python.md"
README = REPO_ROOT / "README.md"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
# A block with this comment line creates TAP devices and configures the host:
# it runs as root with /dev/net/tun, and is skipped, saying so, elsewhere.
_NEEDS_ROOT = re.compile(r"^# Needs root", re.MULTILINE)


def _no_root_reason():
    if os.geteuid() != 0:
        return "needs root (TAP devices, ip addr)"
    if not os.path.exists("/dev/net/tun"):
        return "/dev/net/tun is missing"
    return None


def _blocks():
    if not DOC.is_file():
        return [pytest.param("", id="missing", marks=pytest.mark.xfail(reason=f"{DOC} missing"))]
    out = []
    no_root = _no_root_reason()
    for doc in (DOC, README):
        text = doc.read_text()
        for m in _BLOCK.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            marks = []
            if no_root and _NEEDS_ROOT.search(m.group(1)):
                print(f"\n*** SKIPPING {doc.name}:{line}: {no_root} ***", file=sys.stderr)
                marks.append(pytest.mark.skip(reason=no_root))
            out.append(pytest.param(m.group(1), id=f"{doc.name}:{line}", marks=marks))
    return out


def test_doc_has_python_blocks():
    assert DOC.is_file(), f"{DOC} is missing"
    assert len(_BLOCK.findall(DOC.read_text())) >= 8


@pytest.mark.parametrize("code", _blocks())
def test_doc_block_runs(code, target, tmp_path, request):
    env = dict(os.environ, TCPEMU_TARGET=target, MPLBACKEND="Agg")
    env.pop("TCPEMU_TARGETS", None)
    if "ShardedClient" in code:
        env["TCPEMU_TARGETS"] = ",".join(d.target for d in request.getfixturevalue("replicas"))
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


_SH_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.MULTILINE | re.DOTALL)
_CLI_SECTION = "## The `tcpemu` command"


def _cli_walkthroughs():
    """The shell blocks of the section on the tcpemu command."""
    text = DOC.read_text() if DOC.is_file() else ""
    start = text.find(_CLI_SECTION)
    if start < 0:
        return [pytest.param("", id="missing", marks=pytest.mark.xfail(reason="no CLI section"))]
    end = text.find("\n## ", start + len(_CLI_SECTION))
    section = text[start : end if end >= 0 else len(text)]
    line0 = text.count("\n", 0, start) + 1
    no_root = _no_root_reason()
    out = []
    for m in _SH_BLOCK.finditer(section):
        marks = []
        if no_root and _NEEDS_ROOT.search(m.group(1)):
            line = line0 + section.count("\n", 0, m.start())
            print(f"\n*** SKIPPING {DOC.name}:{line} (shell): {no_root} ***", file=sys.stderr)
            marks.append(pytest.mark.skip(reason=no_root))
        out.append(pytest.param(m.group(1), id=f"sh-{len(out) + 1}", marks=marks))
    return out


@pytest.mark.parametrize("script", _cli_walkthroughs())
def test_cli_walkthrough_runs(script, client, target, tmp_path):
    """The walk through the tcpemu command runs as written, in bash with -e,
    against a daemon that has given out ids before: networks, links and a
    session made here first, so that an id written into the text (rather
    than kept from a command's output) names the wrong resource."""
    assert "$(tcpemu" in script, "the walk-through keeps the ids it is given"
    earlier = client.create_network("virtual")
    try:
        for _ in range(3):
            earlier.create_link(delay="1ms").open_session()
        bindir = os.path.dirname(sys.executable)
        env = dict(os.environ, TCPEMU_TARGET=target, MPLBACKEND="Agg")
        env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
        # After the walk-through: the ids it kept.
        tail = '\nfor v in net link session iface; do echo "$v=${!v-}"; done\n'
        proc = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script + tail],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        kept = dict(line.split("=", 1) for line in proc.stdout.splitlines()[-4:])
        for v in ("net", "link", "session", "iface"):
            if f"{v}=$(" in script:
                assert kept[v].isdigit(), (v, kept[v])
        if kept["net"]:
            # The link was made on the walk-through's network, not the default one.
            assert f"link {kept['link']} (network {kept['net']}, " in proc.stdout
            assert int(kept["net"]) > earlier.id
            assert (tmp_path / "trace.jsonl").stat().st_size > 0
            assert (tmp_path / "trace.png").read_bytes()[:4] == b"\x89PNG"
        for png in tmp_path.glob("*.png"):
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
        if kept["iface"]:  # deleted at the end, with its TAP device
            with pytest.raises(tcpemu.NotFound):
                client.interface(int(kept["iface"]))
    finally:
        earlier.delete()


def test_install_hints_name_the_path_of_the_client():
    # The package is not on PyPI: every hint installs it from the checkout.
    package = REPO_ROOT / "clients" / "python"
    texts = [DOC, README, package / "README.md", *sorted((package / "src" / "tcpemu").glob("*.py"))]
    for path in texts:
        text = path.read_text()
        assert not re.search(r"pip install '?tcpemu\[", text), f"{path}: installs tcpemu[...]"
    installs = re.findall(r"^pip install .*$", README.read_text(), re.MULTILINE)
    assert any("[plot]" in line for line in installs), installs
    assert any("analysis" in line for line in installs), installs
