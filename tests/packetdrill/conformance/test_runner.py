from __future__ import annotations

import argparse
import os
from pathlib import Path

from conformance.runner import Options, build_parser, packetdrill_command, select, so_flags
from conformance.script import Script, parse_header
from conformance.suites import pin_warning, read_subset


def opts(stack: str) -> Options:
    return Options(
        stack=stack,
        packetdrill="/pd",
        library="/lib.so",
        jobs=2,
        timeout=60.0,
        tolerance_usecs=None,
        extra_so_flags=[],
        profile=None,
        normalise=True,
        verbose=False,
    )


def test_so_flags_default_mtu_and_overrides() -> None:
    flags = so_flags("freebsd", None, "/tmp/s", [])
    assert flags.split() == [
        "profile=freebsd",
        "mtu=1500",
        "sysctl_file=/tmp/s",
        "local_ip=192.168.0.1",
    ]
    flags = so_flags("linux", 9000, "/tmp/s", ["mtu=1280", "rto_min_ms=200"])
    assert "mtu=9000" not in flags.split()
    assert flags.split()[-2:] == ["mtu=1280", "rto_min_ms=200"]


def test_script_mtu_reaches_the_shim() -> None:
    text = "--ip_version=ipv4\n--mtu=9000\n"
    script = Script(
        "freebsd", "snd-syn/a-ipv4.pkt", "/s/snd-syn/a-ipv4.pkt", text, parse_header(text)
    )
    cmd = packetdrill_command(opts("so"), script, script.path, "/tmp/sysctl")
    so = [a for a in cmd if a.startswith("--so_flags=")]
    assert so == [
        "--so_flags=profile=freebsd mtu=9000 sysctl_file=/tmp/sysctl local_ip=192.168.0.1"
    ]
    assert "--so_filename=/lib.so" in cmd
    assert cmd[0] == "/pd" and cmd[-1] == script.path


def test_kernel_stack_has_no_shim_and_linux_gets_run_all_args() -> None:
    script = Script("linux", "close/a.pkt", "/l/close/a.pkt", "", parse_header(""))
    cmd = packetdrill_command(opts("kernel"), script, script.path, "/tmp/sysctl")
    assert not any(a.startswith("--so_") for a in cmd)
    assert "--ip_version=ipv4" in cmd and "--remote_ip=192.0.2.1" in cmd


def test_read_subset() -> None:
    text = "# header\n\nsnd-syn/a-ipv4.pkt  # why\n  close/b.pkt\n"
    assert read_subset(text) == ["snd-syn/a-ipv4.pkt", "close/b.pkt"]


def test_subset_resolves_against_suite_roots(tmp_path: Path) -> None:
    fb = tmp_path / "fb"
    (fb / "snd-syn").mkdir(parents=True)
    (fb / "snd-syn" / "a-ipv4.pkt").write_text("--ip_version=ipv4\n")
    subset = tmp_path / "subset.txt"
    subset.write_text("snd-syn/a-ipv4.pkt\nsnd-syn/missing.pkt\n")
    args = build_parser().parse_args(["--subset", str(subset)])
    scripts, errors = select(args, {"freebsd": str(fb)})
    assert [s.rel for s in scripts] == ["snd-syn/a-ipv4.pkt"]
    assert errors == ["snd-syn/missing.pkt: found in no suite root"]


def test_select_directories_and_filter(tmp_path: Path) -> None:
    root = tmp_path / "tcp"
    for rel in ("close/a.pkt", "close/b.pkt", "sack/c.pkt", "cubic/d.pkt"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("")
    args: argparse.Namespace = build_parser().parse_args([])
    assert [s.rel for s in select(args, {"linux": str(root)})[0]] == [
        "close/a.pkt",
        "close/b.pkt",
        "sack/c.pkt",
    ]
    args = build_parser().parse_args(["--dir", "close", "--filter", "b."])
    assert [s.rel for s in select(args, {"linux": str(root)})[0]] == ["close/b.pkt"]


def test_pin_warning() -> None:
    assert pin_warning("x", "/p", "a" * 40, "a" * 40) is None
    warning = pin_warning("x", "/p", "a" * 40, "b" * 40)
    assert warning is not None and "bbbbbbbbbbbb" in warning
    note = pin_warning("x", "/p", "a" * 40, None)
    assert note is not None and "not a git checkout" in note


def test_repo_paths_exist() -> None:
    from conformance.runner import SYSCTL_STANDIN

    assert os.access(SYSCTL_STANDIN, os.X_OK)


def test_shown_path() -> None:
    from conformance.runner import DEFAULT_LIB, shown_path

    assert shown_path(DEFAULT_LIB) == "build/tests/packetdrill/libtcpemu_packetdrill.so"
    assert shown_path("/tmp/x/lib.so") == "/tmp/x/lib.so"
