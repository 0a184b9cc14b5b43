"""Every query of the dashboard, against a real Prometheus scraping a real
tcpemud under load: each must return data. Also the template variables'
queries, the alert rules as Prometheus evaluates them, and that every
tcpemu_* and grpc_server_* family the daemon exports is on the dashboard."""

from __future__ import annotations

import math
import re
import time
import urllib.request
from typing import Any

import pytest

from conftest import JOB, Observed, PanelTarget, load_dashboard, panel_targets, substitute

TARGETS = panel_targets()
INTERFACE_METRIC = re.compile(r"\btcpemu_interface_\w+")


def has_data(values: list[list[Any]]) -> bool:
    return any(not math.isnan(float(v)) for _, v in values)


def describe(series: list[dict[str, Any]]) -> str:
    return ", ".join("{" + ", ".join(f"{k}={v!r}" for k, v in sorted(s["metric"].items())) + "}" for s in series[:5])


@pytest.mark.parametrize("t", TARGETS, ids=[t.name for t in TARGETS])
def test_panel_query_returns_data(observed: Observed, t: PanelTarget) -> None:
    if INTERFACE_METRIC.search(t.expr) and observed.workload.interface_skipped:
        pytest.skip(f"no TAP interface in the workload: {observed.workload.interface_skipped}")
    prom = observed.prometheus
    expr = substitute(t.expr, observed.daemon.metrics_target)
    now = time.time()

    matrix = prom.query_range(expr, observed.start, now, 1)
    with_data = [s for s in matrix if has_data(s["values"])]
    assert with_data, (
        f"panel {t.name!r} (id {t.panel_id}): no series with a value from the range query "
        f"{expr}\n(got {len(matrix)} series, all empty or NaN: {describe(matrix)})"
    )

    peak = max(float(v) for s in with_data for _, v in s["values"] if not math.isnan(float(v)))
    print(f"{t.name}: {len(with_data)} series, peak {peak:.6g}")

    if t.fmt == "heatmap" or t.panel_type == "heatmap":
        buckets = [s for s in matrix if "le" in s["metric"]]
        assert len(buckets) == len(matrix) and len(buckets) > 1, (
            f"heatmap {t.name!r}: expected bucket series (label le), got {describe(matrix)}"
        )
        # Some bucket must count something at some point.
        assert any(float(v) > 0 for s in buckets for _, v in s["values"]), (
            f"heatmap {t.name!r}: every bucket is 0 over the whole run"
        )
    else:
        vector = prom.query(expr, at=now)
        assert vector, f"panel {t.name!r}: the instant query at the end returned nothing: {expr}"


def test_template_variables(observed: Observed) -> None:
    """The job and instance variables' label_values() queries find this
    daemon's job and target."""
    prom = observed.prometheus
    variables = {v["name"]: v for v in load_dashboard()["templating"]["list"]}
    for name, expected in (("job", JOB), ("instance", observed.daemon.metrics_target)):
        query = variables[name]["definition"]
        m = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", query)
        assert m, f"variable {name}: not a label_values(metric, label) query: {query}"
        match, label = m.group(1), m.group(2)
        assert label == name
        match = match.replace("$job", re.escape(JOB))
        values = prom.api(f"label/{label}/values", **{"match[]": match, "start": observed.start})
        assert expected in values, f"variable {name}: {query} gave {values}, not {expected!r}"


def test_alert_rules_evaluate(observed: Observed) -> None:
    """Prometheus loaded every rule of deploy/prometheus/rules and evaluates
    them without error; each alert has a for:, a severity and a summary and
    description; the workload's slow subscriber puts
    TcpemuEventsDropped in pending (or firing) state, and TcpemuDown is
    inactive."""
    groups = observed.prometheus.api("rules")["groups"]
    rules = {r["name"]: r for g in groups for r in g["rules"]}
    for name in (
        "TcpemuDown",
        "TcpemuTargetMissing",
        "TcpemuEventsDropped",
        "TcpemuRetransmissionRatioHigh",
        "TcpemuGrpcErrorRatioHigh",
    ):
        assert name in rules, f"rule {name} not loaded: {sorted(rules)}"
    for name, r in rules.items():
        assert r["health"] == "ok", f"rule {name}: health {r['health']}: {r.get('lastError')}"
        if r["type"] == "alerting":
            assert r["duration"] > 0, f"{name}: no for:"
            assert r["labels"].get("severity") in ("critical", "warning", "info"), f"{name}: {r['labels']}"
            assert r["annotations"].get("summary"), f"{name}: no summary"
            assert r["annotations"].get("description"), f"{name}: no description"
    assert rules["TcpemuEventsDropped"]["state"] in ("pending", "firing"), rules["TcpemuEventsDropped"]
    assert rules["TcpemuDown"]["state"] == "inactive", rules["TcpemuDown"]
    assert rules["TcpemuTargetMissing"]["state"] == "inactive", rules["TcpemuTargetMissing"]


def test_every_exported_family_is_on_the_dashboard(observed: Observed) -> None:
    """Each tcpemu_* and grpc_server_* family on the daemon's /metrics is
    queried by some panel: a new metric needs a panel (or a reason here)."""
    with urllib.request.urlopen(f"http://{observed.daemon.metrics_target}/metrics", timeout=10) as r:
        text = r.read().decode()
    families = set(re.findall(r"^# TYPE ((?:tcpemu|grpc_server)_\w+) ", text, re.M))
    assert families, "no tcpemu_* family on /metrics"
    exprs = " ".join(t.expr for t in TARGETS)
    used = {f for f in families if re.search(rf"\b{f}(_bucket|_sum|_count)?\b", exprs)}
    assert families == used, f"exported but on no panel: {sorted(families - used)}"


def test_workload_ran_cleanly(observed: Observed) -> None:
    w = observed.workload
    assert not w.errors, "\n".join(w.errors)
    assert w.counts["sessions"] > 5 and w.counts["failed_calls"] > 3, w.counts
    if not w.interface_skipped:
        assert w.counts["accepted"] > 0, f"the host never connected over the TAP device: {w.counts}"
