"""The sysctl stand-in, run as scripts run it. Linux names are only tried
without TCPEMU_PD_SYSCTL, where the stand-in must refuse them: the tests
never change a setting of the host."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, Optional

from conformance.runner import SYSCTL_STANDIN


def run(*args: str, state: Optional[Path]) -> subprocess.CompletedProcess[str]:
    env: Dict[str, str] = {k: v for k, v in os.environ.items() if k != "TCPEMU_PD_SYSCTL"}
    if state is not None:
        env["TCPEMU_PD_SYSCTL"] = str(state)
    return subprocess.run(
        [sys.executable, SYSCTL_STANDIN, *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_freebsd_names_are_recorded(tmp_path: Path) -> None:
    state = tmp_path / "sysctl.txt"
    assert run("-w", "net.inet.tcp.rfc1323=0", state=state).returncode == 0
    assert (
        run(
            "-w", "net.inet.tcp.sack.enable=0", "kern.ipc.maxsockbuf=4194304", state=state
        ).returncode
        == 0
    )
    assert run("-q", "net.inet.tcp.delacktime=40", state=state).returncode == 0
    assert state.read_text().splitlines() == [
        "net.inet.tcp.rfc1323=0",
        "net.inet.tcp.sack.enable=0",
        "kern.ipc.maxsockbuf=4194304",
        "net.inet.tcp.delacktime=40",
    ]
    read = run("net.inet.tcp.rfc1323", state=state)
    assert read.stdout.strip() == "net.inet.tcp.rfc1323: 0"
    assert run("-n", "net.inet.tcp.keepinit", state=state).stdout.strip() == "75000"


def test_unknown_name_fails_with_its_oid(tmp_path: Path) -> None:
    out = run("-w", "net.inet.tcp.no_such_thing=1", state=tmp_path / "s")
    assert out.returncode == 1
    assert "sysctl: unknown oid 'net.inet.tcp.no_such_thing'" in out.stderr


def test_linux_names_are_refused_outside_the_runner() -> None:
    out = run("-q", "net.ipv4.tcp_sack=1", state=None)
    assert out.returncode == 1
    assert "refusing" in out.stderr
