"""The tcpemu command, in-process through main() and as the installed script."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest

import tcpemu
from tcpemu.cli import main

from conftest import transfer


def run(capsys, target, *argv):
    rc = main(["--target", target, *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_link_commands(capsys, target, vnet):
    n = str(vnet.id)
    rc, out, _ = run(
        capsys,
        target,
        "link",
        "create",
        "--network",
        n,
        "--delay",
        "50ms",
        "--rate",
        "10Mbit",
        "--loss",
        "1%",
        "--reverse",
        "rate=1Mbit",
    )
    assert rc == 0
    m = re.match(r"link (\d+) \(network (\d+), 0 sessions\)", out)
    assert m and m.group(2) == n
    link_id = m.group(1)
    assert "forward: delay 50ms, rate 10Mbit, loss 1%" in out
    assert "reverse: delay 50ms, rate 1Mbit, loss 1%" in out

    rc, out, _ = run(capsys, target, "link", "update", link_id, "--loss", "0.02", "--json")
    assert rc == 0
    d = json.loads(out)
    assert d["forward"]["loss"]["random"] == pytest.approx(0.02)
    assert d["forward"]["rate_bps"] == 10_000_000  # a number, not proto JSON's string

    rc, out, _ = run(capsys, target, "link", "list", "--network", n)
    assert rc == 0 and f"link {link_id} " in out
    rc, out, _ = run(capsys, target, "link", "delete", link_id)
    assert rc == 0 and out.strip() == f"link {link_id} deleted"
    rc, _, err = run(capsys, target, "link", "show", link_id)
    assert rc == 1 and err.strip() == f"tcpemu: link_id {link_id} not found"


def test_session_commands(capsys, target, rnet):
    link = rnet.create_link(delay="2ms")
    rc, out, _ = run(
        capsys,
        target,
        "session",
        "open",
        "--link",
        str(link.id),
        "--server-reader",
        "manual",
        "--nodelay",
        "--digest",
    )
    assert rc == 0
    sid = re.match(r"session (\d+) opened on link", out).group(1)
    rc, out, _ = run(capsys, target, "session", "wait", sid, "ESTABLISHED", "--endpoint", "server")
    assert rc == 0 and out.strip() == f"session {sid}: server is ESTABLISHED"
    rc, out, _ = run(capsys, target, "session", "write", sid, "hello over tcpemu", "--push")
    assert rc == 0 and out.strip() == "accepted 17 of 17 bytes"
    rc, out, err = run(capsys, target, "session", "read", sid, "--wait", "5s")
    assert rc == 0 and out == "hello over tcpemu" and "read 17 bytes" in err
    rc, out, _ = run(capsys, target, "session", "show", sid)
    assert rc == 0
    assert f"session {sid} (network {rnet.id}, link {link.id}), live" in out
    assert "written 17, read 0" in out and "written 0, read 17" in out
    sack_line = r"    sack: sacked \d+, lost \d+, retransmitted \d+, pipe \d+; dsacks 0, "
    assert len(re.findall(sack_line + "rack losses 0, tail loss probes 0\n", out)) == 2
    rc, out, _ = run(capsys, target, "session", "list", "--link", str(link.id))
    assert (
        rc == 0 and f"session {sid}: network {rnet.id}, link {link.id}, client ESTABLISHED" in out
    )
    rc, out, _ = run(capsys, target, "session", "close", sid)
    assert rc == 0 and out.strip() == f"session {sid}: client is FIN_WAIT_1"
    rc, out, _ = run(capsys, target, "session", "show", sid, "--json")
    shown = json.loads(out)
    assert shown["client"]["counters"]["bytes_written"] == 17
    assert shown["client"]["tcb"]["state"] in ("FIN_WAIT_1", "FIN_WAIT_2", "TIME_WAIT")
    assert shown["server"]["tcb"]["state"] in ("CLOSE_WAIT", "LAST_ACK", "CLOSED")
    assert shown["client"]["write_sha256"] == shown["server"]["read_sha256"]
    assert len(shown["client"]["write_sha256"]) == 64  # hex, as `session show` prints it


def test_fault_commands(capsys, target, vnet):
    link = vnet.create_link(delay="1ms")
    rc, out, _ = run(
        capsys,
        target,
        "fault",
        "inject",
        "--link",
        str(link.id),
        "--action",
        "drop",
        "--flags-all",
        "SYN",
        "--count",
        "1",
        "--direction",
        "forward",
    )
    assert rc == 0 and re.fullmatch(rf"fault \d+ installed on link {link.id}\n", out)
    session = link.open_session()
    vnet.advance("10ms")
    assert link.refresh().forward_counters.dropped_fault == 1
    rc, out, _ = run(capsys, target, "fault", "clear", "--link", str(link.id))
    assert rc == 0 and out.strip() == "faults cleared"
    session.wait_for("ESTABLISHED", timeout=10)
    rc, _, err = run(capsys, target, "fault", "inject", "--action", "drop")
    assert rc == 2 and "give --link or --session" in err


def test_watch_json_and_plot(capsys, target, vnet, tmp_path):
    link = vnet.create_link(delay="5ms", rate="20Mbit", loss=0.02)
    session = link.open_session(client={"msl": "10ms"})
    session.write(fill=150_000)
    session.close()
    vnet.advance_until_idle()
    path = tmp_path / "events.jsonl"
    # The session is over: its retained history (the last 256 events) replays.
    rc, _, _ = run(
        capsys,
        target,
        "watch",
        "--session",
        str(session.id),
        "--replay",
        "--json",
        "--until-destroyed",
        str(session.id),
        "-o",
        str(path),
    )
    assert rc == 0
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert 0 < len(records) <= 256
    assert records[-1]["kind"] == "session_destroyed"
    rc, out, _ = run(
        capsys, target, "watch", "--session", str(session.id), "--replay", "--count", "3"
    )
    assert rc == 0 and len(out.splitlines()) == 3


def test_run_virtual_writes_events_and_plot(capsys, target, tmp_path):
    events = tmp_path / "run.jsonl"
    png = tmp_path / "run.png"
    rc, out, err = run(
        capsys,
        target,
        "run",
        "--virtual",
        "--seed",
        "9",
        "--bytes",
        "2MiB",
        "--delay",
        "20ms",
        "--rate",
        "20Mbit",
        "--loss",
        "0.01",
        "--events",
        str(events),
        "--plot",
        str(png),
        "--json",
    )
    assert rc == 0, err
    summary = json.loads(out)
    assert summary["bytes_read"] == 2 * 1024 * 1024
    assert summary["digest_match"] is True
    assert 0 < summary["goodput_bps"] < 20e6
    lines = events.read_text().splitlines()
    kinds = {json.loads(x)["kind"] for x in lines}
    assert {"segment_sent", "segment_dropped", "session_destroyed"} <= kinds
    assert png.read_bytes()[:4] == b"\x89PNG"
    # The summary speaks as the events do: numbers, and states as FIN_WAIT_1.
    states = {json.loads(x).get("new_state") for x in lines} - {None}
    assert summary["client"]["tcb"]["state"] in states
    assert summary["server"]["tcb"]["state"] in states
    assert _proto_json_leftovers(summary) == []
    assert isinstance(summary["client"]["counters"]["bytes_written"], int)
    assert isinstance(summary["forward_counters"]["packets_sent"], int)

    rc, out, _ = (
        main(["plot", str(events), "-o", str(tmp_path / "again.png")]),
        *capsys.readouterr(),
    )
    assert rc == 0 and "wrote" in out and (tmp_path / "again.png").stat().st_size > 10_000


def test_session_show_of_a_bbr_sender(capsys, target, vnet):
    link = vnet.create_link(delay="10ms", rate="20Mbit")
    session = link.open_session(client={"congestion_control": "bbr", "msl": "10ms"})
    transfer(session, vnet, 1_000_000)
    rc, out, _ = run(capsys, target, "session", "show", str(session.id))
    assert rc == 0
    line = r"    cc (startup|drain|probe_bw|probe_rtt), pacing [\d.]+Mbit/s, "
    line += r"bandwidth [\d.]+Mbit/s, min rtt 2\d\.\d{3}ms\n"
    # The client paces; the server, NewReno and not pacing, shows no such line.
    assert len(re.findall(line, out)) == 1, out


def test_run_with_bbr_and_pacing(capsys, target):
    common = ["run", "--virtual", "--seed", "3", "--bytes", "4MiB", "--delay", "20ms"]
    common += ["--rate", "20Mbit", "--json"]
    rc, out, err = run(capsys, target, *common, "--cc", "bbr")
    assert rc == 0, err
    tcb = json.loads(out)["client"]["tcb"]
    assert tcb["cc_phase"] in ("startup", "drain", "probe_bw", "probe_rtt")
    assert tcb["pacing_rate"] > 0 and tcb["bandwidth_estimate"] > 0
    assert isinstance(tcb["pacing_rate"], int) and isinstance(tcb["min_rtt_ns"], int)
    rc, out, err = run(capsys, target, *common, "--cc", "cubic", "--pacing")
    assert rc == 0, err
    tcb = json.loads(out)["client"]["tcb"]
    assert tcb["cc_phase"] in ("slow_start", "congestion_avoidance", "recovery")
    assert tcb["pacing_rate"] > 0 and tcb["bandwidth_estimate"] == 0
    with pytest.raises(SystemExit) as exit_:
        run(capsys, target, *common, "--cc", "vegas")
    assert exit_.value.code == 2 and "--cc: invalid choice" in capsys.readouterr().err


def _proto_json_leftovers(obj, path=""):
    """Values in proto JSON's own spelling: 64-bit integers as strings, enum
    values by their full names."""
    if isinstance(obj, dict):
        return [x for k, v in obj.items() for x in _proto_json_leftovers(v, f"{path}.{k}")]
    if isinstance(obj, list):
        return [x for i, v in enumerate(obj) for x in _proto_json_leftovers(v, f"{path}[{i}]")]
    full = ("TCP_STATE_", "CLOCK_KIND_", "ERROR_CODE_", "CONGESTION_CONTROL_", "ENDPOINT_")
    if isinstance(obj, str) and (obj.lstrip("-").isdigit() or obj.startswith(full)):
        return [f"{path}={obj!r}"]
    return []


def test_json_output_of_every_command(capsys, target, vnet):
    link = vnet.create_link(delay="5ms", rate="10Mbit")
    session = link.open_session(digest=True)
    session.write(fill=100_000)
    vnet.advance("1s")
    for argv in (
        ("network", "show", str(vnet.id)),
        ("network", "list"),
        ("link", "show", str(link.id)),
        ("link", "list", "--network", str(vnet.id)),
        ("session", "show", str(session.id)),
        ("session", "list", "--network", str(vnet.id)),
    ):
        rc, out, err = run(capsys, target, *argv, "--json")
        assert rc == 0, err
        assert _proto_json_leftovers(json.loads(out)) == [], argv
    rc, out, _ = run(capsys, target, "session", "show", str(session.id), "--json")
    shown = json.loads(out)
    assert shown["client"]["tcb"]["state"] == "ESTABLISHED"
    assert shown["client"]["error"] is None  # as EndpointSnapshot.error
    assert shown["client"]["counters"]["bytes_written"] == 100_000
    rc, out, _ = run(capsys, target, "network", "show", str(vnet.id), "--json")
    assert json.loads(out)["clock"] == "virtual"


def test_run_realtime_summary(capsys, target):
    rc, out, err = run(
        capsys,
        target,
        "run",
        "--bytes",
        "300KiB",
        "--delay",
        "5ms",
        "--rate",
        "50Mbit",
        "--seed",
        "4",
    )
    assert rc == 0, err
    assert re.search(r"session \d+: 300KiB of 300KiB in \d+\.\d+s of network time", out)
    assert "sha256 written/read: match" in out


def test_target_from_environment(capsys, target, monkeypatch):
    monkeypatch.setenv("TCPEMU_TARGET", target)
    assert main(["network", "list"]) == 0
    out, _ = capsys.readouterr()
    assert "network 1: realtime" in out


def test_bad_values_exit_2(capsys, target):
    rc, _, err = run(capsys, target, "link", "create", "--delay", "soon")
    assert rc == 2 and "'soon' is not a valid duration" in err


def test_console_script(target, vnet):
    exe = _console_script()
    env = dict(os.environ, TCPEMU_TARGET=target)
    proc = subprocess.run(
        [exe, "network", "show", str(vnet.id), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["clock"] == "virtual"
    proc = subprocess.run(
        [sys.executable, "-m", "tcpemu", "--help"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0 and "watch" in proc.stdout
    assert tcpemu.__version__


def test_run_shows_sizes_in_the_units_typed(capsys, target):
    rc, out, err = run(
        capsys, target, "run", "--virtual", "--bytes", "1MB", "--delay", "5ms", "--rate", "100Mbit"
    )
    assert rc == 0, err
    assert re.search(r"session \d+: 1MB of 1MB in ", out), out
    assert "iB" not in out, out  # 1000-based throughout: kB, MB
    rc, out, err = run(capsys, target, "run", "--virtual", "--bytes", "1MiB", "--delay", "5ms")
    assert rc == 0, err
    assert re.search(r"session \d+: 1MiB of 1MiB in ", out), out


def _console_script() -> str:
    exe = shutil.which("tcpemu", path=os.path.dirname(sys.executable))
    assert exe, "the tcpemu console script is not installed next to this Python"
    return exe


@pytest.mark.parametrize(
    "argv", [["link", "list"], ["link", "list", "--json"], ["--help"]], ids=" ".join
)
def test_output_into_a_closed_pipe_is_quiet(target, vnet, argv):
    # `tcpemu link list | head` once head has gone: no traceback, no
    # "[Errno 32] Broken pipe", and the status of a command SIGPIPE ended.
    vnet.create_link(delay="1ms")
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            [_console_script(), "--target", target, *argv],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert proc.stderr == ""
    # argparse ignores a failed write of --help itself, and exits 0.
    assert proc.returncode == (0 if argv == ["--help"] else 141)


def test_piped_into_head(target, vnet):
    for _ in range(400):  # twice the output a pipe holds
        vnet.create_link(delay="1ms")
    script = f"set -o pipefail; {shlex.quote(_console_script())} --target {target} "
    script += f"link list --network {vnet.id} | head -n 1"
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.stderr == ""
    assert re.fullmatch(rf"link \d+ \(network {vnet.id}, 0 sessions\)\n", proc.stdout)
    assert proc.returncode == 141


def test_run_wall_timeout(capsys, target):
    # Wall-clock time, unlike tcpemu-sim's virtual --time-limit: the old
    # name is refused, pointing to the new one.
    with pytest.raises(SystemExit) as info:
        main(["--target", target, "run", "--virtual", "--time-limit", "60"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "--time-limit is now --wall-timeout" in err and "virtual time" in err
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    help_text = capsys.readouterr().out
    assert "--wall-timeout" in help_text and "--time-limit" not in help_text
    for network in (["--virtual"], ["--seed", "5"]):  # a VIRTUAL one, a REALTIME one
        rc, _, err = run(
            capsys,
            target,
            "run",
            *network,
            "--bytes",
            "100MB",
            "--rate",
            "1Mbit",
            "--wall-timeout",
            "0.5s",
        )
        assert rc == 1 and "run: not done after --wall-timeout 0.5s" in err, err
    with pytest.raises(SystemExit):
        main(["--target", target, "run", "--wall-timeout", "0"])
    assert "not a positive number of seconds" in capsys.readouterr().err
