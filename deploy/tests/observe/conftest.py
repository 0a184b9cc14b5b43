"""Fixtures of the observability tests: the dashboard and its targets, a real
tcpemud, a real Prometheus scraping it every second with the project's alert
rules loaded, and a workload running through the daemon while the tests
query Prometheus. All of it on 127.0.0.1, in temporary directories, stopped
and removed at the end."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
DASHBOARD = REPO / "deploy/grafana/tcpemu.json"
RULES = REPO / "deploy/prometheus/rules/tcpemu.rules.yml"
sys.path.insert(0, str(HERE))

JOB = "tcpemu"
SCRAPE_INTERVAL_S = 1
# Grafana's $__rate_interval is max(4 x the data source's scrape interval,
# $__interval + scrape interval); 15 s is safely above both here.
RATE_INTERVAL = "15s"
# How long the workload runs before the first query: the rate window, plus
# a margin for the first scrapes and the workload's start-up.
WARMUP_S = float(os.environ.get("OBSERVE_WARMUP_S", "25"))
# The workload stops by itself after this long, whatever happens.
WORKLOAD_LIMIT_S = 300.0


# ---------------------------------------------------------------- dashboard


@dataclass
class PanelTarget:
    panel_id: int
    panel: str
    panel_type: str
    ref: str
    expr: str
    fmt: str

    @property
    def name(self) -> str:
        return f"{self.panel} [{self.ref}]"


def load_dashboard() -> dict[str, Any]:
    with open(DASHBOARD) as f:
        return json.load(f)


def all_panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel, those inside collapsed rows included."""
    out = []
    for p in dashboard.get("panels", []):
        out.append(p)
        out.extend(p.get("panels", []))
    return out


def panel_targets(dashboard: dict[str, Any] | None = None) -> list[PanelTarget]:
    d = dashboard or load_dashboard()
    return [
        PanelTarget(p["id"], p["title"], p["type"], t["refId"], t["expr"], t.get("format", "time_series"))
        for p in all_panels(d)
        if p["type"] != "row"
        for t in p.get("targets", [])
    ]


def substitute(expr: str, instance: str) -> str:
    """The query Grafana would send with job=tcpemu and instance=`instance`
    selected (both regex-escaped, as Grafana does for a single value)."""
    values = {
        "job": re.escape(JOB),
        "instance": re.escape(instance),
        "__rate_interval": RATE_INTERVAL,
        "__interval": f"{SCRAPE_INTERVAL_S}s",
        "__range": "5m",
    }

    def repl(m: re.Match) -> str:
        name = m.group(1) or m.group(2)
        if name not in values:
            raise KeyError(f"unknown variable ${name} in {expr!r}")
        # Inside a regex matcher's double-quoted string a backslash is
        # written twice.
        return values[name].replace("\\", "\\\\")

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", repl, expr)


# ---------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_get(url: str, timeout: float = 10) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read()


def wait_http(url: str, proc: subprocess.Popen, what: str, log: Path, timeout: float = 30) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            http_get(url, timeout=2)
            return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.2)
    raise RuntimeError(f"{what} did not answer {url} within {timeout} s:\n{log.read_text()[-4000:]}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def workdir() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="tcpemu-observe-"))
    yield d
    if os.environ.get("OBSERVE_KEEP") is None:
        shutil.rmtree(d, ignore_errors=True)
    else:
        print(f"\nkept {d}")


@dataclass
class Daemon:
    grpc_target: str
    metrics_target: str
    log: Path


@pytest.fixture(scope="session")
def daemon(workdir: Path) -> Iterator[Daemon]:
    binary = os.environ.get("TCPEMUD") or str(REPO / "build/server/tcpemud")
    if not os.access(binary, os.X_OK):
        pytest.fail(f"no tcpemud at {binary}: build it (cmake --build build) or set $TCPEMUD")
    grpc_port, metrics_port = free_port(), free_port()
    log = workdir / "tcpemud.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                binary,
                f"--listen=127.0.0.1:{grpc_port}",
                f"--metrics_listen=127.0.0.1:{metrics_port}",
                "--shards=2",
                "--per_session_metrics",
                # Small, so that a stream that is not read loses events soon.
                "--event_queue=256",
                # Small, so that the workload can reach it: RESOURCE_EXHAUSTED.
                "--max_networks=4",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_http(f"http://127.0.0.1:{metrics_port}/metrics", proc, "tcpemud", log)
        yield Daemon(f"127.0.0.1:{grpc_port}", f"127.0.0.1:{metrics_port}", log)
    finally:
        stop(proc)


class Prometheus:
    def __init__(self, url: str, log: Path) -> None:
        self.url = url
        self.log = log

    def api(self, path: str, **params: Any) -> Any:
        url = f"{self.url}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params, doseq=True)
        try:
            body = json.loads(http_get(url))
        except urllib.error.HTTPError as e:
            body = json.loads(e.read() or b"{}")
            raise AssertionError(f"{path} {params}: HTTP {e.code}: {body.get('error', body)}") from None
        if body.get("status") != "success":
            raise AssertionError(f"{path} {params}: {body}")
        return body["data"]

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        data = self.api("query", **params)
        assert data["resultType"] == "vector", data["resultType"]
        return data["result"]

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        data = self.api("query_range", query=expr, start=f"{start:.3f}", end=f"{end:.3f}", step=step)
        assert data["resultType"] == "matrix", data["resultType"]
        return data["result"]


@pytest.fixture(scope="session")
def prometheus(workdir: Path, daemon: Daemon) -> Iterator[Prometheus]:
    binary = os.environ.get("PROMETHEUS") or shutil.which("prometheus") or "/usr/bin/prometheus"
    if not os.access(binary, os.X_OK):
        pytest.fail(f"no prometheus at {binary}: apt-get install prometheus, or set $PROMETHEUS")
    port = free_port()
    config = workdir / "prometheus.yml"
    config.write_text(
        f"""\
global:
  scrape_interval: {SCRAPE_INTERVAL_S}s
  scrape_timeout: {SCRAPE_INTERVAL_S}s
  evaluation_interval: {SCRAPE_INTERVAL_S}s
rule_files:
  - {RULES}
scrape_configs:
  - job_name: {JOB}
    static_configs:
      - targets: ["{daemon.metrics_target}"]
"""
    )
    log = workdir / "prometheus.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=workdir,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/-/ready", proc, "prometheus", log)
        yield Prometheus(url, log)
    finally:
        stop(proc)


@dataclass
class Observed:
    """A daemon under load, scraped: query from `start` to now."""

    daemon: Daemon
    prometheus: Prometheus
    start: float
    workload: Any
    notes: list[str] = field(default_factory=list)


@pytest.fixture(scope="session")
def observed(daemon: Daemon, prometheus: Prometheus) -> Iterator[Observed]:
    from workload import Workload

    w = Workload(daemon.grpc_target, WORKLOAD_LIMIT_S, log=lambda m: print(m, file=sys.stderr))
    start = time.time()
    w.start()
    try:
        # Wait for the first successful scrape, then for the rate window.
        end = time.monotonic() + 30
        while not prometheus.query(f'up{{job="{JOB}"}} == 1'):
            if time.monotonic() > end:
                raise RuntimeError(f"prometheus never scraped tcpemud:\n{prometheus.log.read_text()[-4000:]}")
            time.sleep(0.5)
        time.sleep(WARMUP_S)
        if w.errors:
            raise RuntimeError("the workload failed:\n" + "\n".join(w.errors))
        print(f"\nworkload after {time.time() - start:.0f} s: {w.counts}", file=sys.stderr)
        yield Observed(daemon, prometheus, start, w)
    finally:
        w.stop()
