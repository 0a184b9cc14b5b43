"""Checks that need no daemon: promtool on the Prometheus configuration and
rules (and the rules' unit tests), and the dashboard's JSON: fixed uid,
templated data source, job and instance variables, every query filtered by
$job and $instance, every rate() and increase() over $__rate_interval,
counters only through rate(), heatmaps on histogram buckets."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from conftest import DASHBOARD, HERE, REPO, all_panels, load_dashboard, panel_targets

PROM_DIR = REPO / "deploy/prometheus"
DS_UIDS = {"${datasource}", "$datasource"}
TARGETS = panel_targets()
IDS = [t.name for t in TARGETS]


def promtool(*args: str) -> subprocess.CompletedProcess:
    binary = os.environ.get("PROMTOOL") or shutil.which("promtool")
    if binary is None:
        pytest.fail("promtool is missing: apt-get install prometheus, or set $PROMTOOL")
    return subprocess.run([binary, *args], capture_output=True, text=True, cwd=REPO)


def ok(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, f"{' '.join(proc.args)}:\n{proc.stdout}\n{proc.stderr}"


# ---------------------------------------------------------------- promtool


def test_promtool_check_config() -> None:
    ok(promtool("check", "config", str(PROM_DIR / "prometheus.yml")))


def strict() -> bool:
    """Under test.sh (OBSERVE_STRICT=1) or CI, a missing tool fails instead of
    skipping."""
    return os.environ.get("OBSERVE_STRICT") == "1" or os.environ.get("CI") == "true"


def test_promtool_check_config_kubernetes() -> None:
    """prometheus-kubernetes.yml needs a promtool with Kubernetes service
    discovery, which Debian's lacks: $PROMTOOL_KUBERNETES, the upstream
    promtool test.sh builds (pinned, from the Go module proxy)."""
    config = str(PROM_DIR / "prometheus-kubernetes.yml")
    binary = os.environ.get("PROMTOOL_KUBERNETES")
    if binary:
        proc = subprocess.run([binary, "check", "config", config], capture_output=True, text=True, cwd=REPO)
    else:
        proc = promtool("check", "config", config)
    if proc.returncode != 0 and "field kubernetes_sd_configs not found" in proc.stdout + proc.stderr:
        why = (
            f"{proc.args[0]} is built without Kubernetes service discovery (Debian's is): "
            "run deploy/tests/observe/test.sh, which builds one, or set $PROMTOOL_KUBERNETES"
        )
        if binary or strict():
            pytest.fail(why)
        pytest.skip(why)
    ok(proc)


def test_promtool_check_rules() -> None:
    files = sorted(str(p) for p in (PROM_DIR / "rules").glob("*.yml"))
    assert files, "no rule files in deploy/prometheus/rules"
    ok(promtool("check", "rules", *files))


def test_promtool_test_rules() -> None:
    ok(promtool("test", "rules", str(HERE / "tcpemu.rules.test.yml")))


# ---------------------------------------------------------------- dashboard


def test_dashboard_identity() -> None:
    d = load_dashboard()
    assert d["uid"] == "tcpemu"
    assert d["title"]
    assert d["schemaVersion"] >= 36
    assert d.get("id") is None, "a provisioned dashboard carries no database id"
    ids = [p["id"] for p in all_panels(d)]
    assert len(ids) == len(set(ids)), f"duplicate panel ids: {ids}"
    for p in all_panels(d):
        g = p["gridPos"]
        assert 0 <= g["x"] and g["x"] + g["w"] <= 24 and g["h"] > 0, p["title"]
    assert DASHBOARD.read_text().endswith("\n")


def _variables() -> dict[str, dict]:
    return {v["name"]: v for v in load_dashboard()["templating"]["list"]}


def test_datasource_variable() -> None:
    v = _variables().get("datasource")
    assert v is not None, "no $datasource variable"
    assert v["type"] == "datasource" and v["query"] == "prometheus", v


@pytest.mark.parametrize("name", ["job", "instance"])
def test_job_and_instance_variables(name: str) -> None:
    v = _variables().get(name)
    assert v is not None, f"no ${name} variable"
    assert v["type"] == "query"
    assert v["datasource"]["uid"] in DS_UIDS
    assert v["multi"] and v["includeAll"] and v["allValue"] == ".+", v
    assert v["refresh"] == 2, "refresh on time range change"
    assert re.fullmatch(rf"label_values\(.+,\s*{name}\)", v["definition"]), v["definition"]
    assert v["query"]["query"] == v["definition"]
    if name == "instance":
        assert "$job" in v["definition"], "the instances of the selected jobs"


def test_every_panel_uses_the_datasource_variable() -> None:
    for p in all_panels(load_dashboard()):
        if p["type"] == "row":
            continue
        assert p["datasource"]["uid"] in DS_UIDS, p["title"]
        assert p["datasource"]["type"] == "prometheus", p["title"]
        assert p.get("targets"), f"{p['title']}: no targets"
        assert p.get("description"), f"{p['title']}: no description"
        for t in p["targets"]:
            assert t["datasource"]["uid"] in DS_UIDS, f"{p['title']} [{t['refId']}]"


# PromQL words that are not metric names.
KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right",
    "and", "or", "unless", "bool", "offset", "inf", "nan",
    # Aggregation operators, which may come before their by/without clause.
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
    "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio",
}  # fmt: skip


def selectors(expr: str) -> list[str]:
    """Every vector selector of `expr` as 'name{matchers}'; raises on a bare
    metric name (one with no braces, hence no job and instance matchers)."""
    found = [m.group(0) for m in re.finditer(r"[a-zA-Z_:][\w:]*\s*\{[^}]*\}", expr)]
    # What is left once strings, matchers, ranges and grouping clauses go.
    rest = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    rest = re.sub(r"\{[^}]*\}", "{}", rest)
    rest = re.sub(r"\[[^\]]*\]", "[]", rest)
    rest = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", r"\1", rest)
    for m in re.finditer(r"(?<![\w.])([a-zA-Z_:][\w:]*)\s*(\S?)", rest):
        word, following = m.group(1), m.group(2)
        if word in KEYWORDS or following in ("(", "{"):
            continue
        raise AssertionError(f"bare metric name {word!r} (no job and instance matchers) in {expr}")
    return found


@pytest.mark.parametrize("t", TARGETS, ids=IDS)
def test_query_filters_job_and_instance(t) -> None:
    sels = selectors(t.expr)
    assert sels, f"no selector in {t.expr}"
    for s in sels:
        assert 'job=~"$job"' in s, f'{t.name}: {s} lacks job=~"$job"'
        assert 'instance=~"$instance"' in s, f'{t.name}: {s} lacks instance=~"$instance"'


# Counters, and histograms whose series are counters: only through rate().
COUNTER = re.compile(r"\b(\w+_total|tcpemu_rtt_seconds_\w+|grpc_server_handling_seconds_\w+)\{")


@pytest.mark.parametrize("t", TARGETS, ids=IDS)
def test_ranges_use_rate_interval(t) -> None:
    ranges = re.findall(r"\[([^\]]*)\]", t.expr)
    for r in ranges:
        assert r == "$__rate_interval", f"{t.name}: range [{r}] instead of [$__rate_interval]: {t.expr}"
    for fn in re.finditer(r"\b(rate|irate|increase|delta|idelta|deriv|\w+_over_time)\s*\(", t.expr):
        assert fn.group(1) in ("rate", "increase"), f"{t.name}: {fn.group(1)}() in {t.expr}"
    n_calls = len(re.findall(r"\b(rate|increase)\s*\(", t.expr))
    assert n_calls == len(ranges), f"{t.name}: a range outside rate()/increase(): {t.expr}"
    for m in COUNTER.finditer(t.expr):
        before = t.expr[: m.start()].rstrip()
        after = t.expr[m.end() :]
        assert re.search(r"\b(rate|increase)\s*\($", before), f"{t.name}: counter {m.group(1)} not in rate()"
        assert re.match(r"[^}]*\}\[\$__rate_interval\]", after), f"{t.name}: {m.group(1)} not over $__rate_interval"


def test_heatmaps_show_histogram_buckets() -> None:
    heatmaps = [p for p in all_panels(load_dashboard()) if p["type"] == "heatmap"]
    assert len(heatmaps) >= 2, "RTT and cwnd heatmaps"
    for p in heatmaps:
        assert p["options"]["calculate"] is False, f"{p['title']}: buckets come from Prometheus"
        for t in p["targets"]:
            assert t.get("format") == "heatmap", p["title"]
            assert "_bucket{" in t["expr"] and re.search(r"by \(le\)", t["expr"]), t["expr"]


@pytest.mark.parametrize(
    "metric",
    [
        "tcpemu_sessions",
        "tcpemu_segments_sent_total",
        "tcpemu_segments_received_total",
        "tcpemu_bytes_total",
        "tcpemu_retransmissions_total",
        "tcpemu_link_drops_total",
        "tcpemu_link_queue_bytes",
        "tcpemu_link_queue_sojourn_seconds_bucket",
        "tcpemu_rtt_seconds_bucket",
        "tcpemu_cwnd_bytes_bucket",
        "tcpemu_event_subscribers",
        "tcpemu_events_dropped_total",
        "grpc_server_handled_total",
        "grpc_server_handling_seconds_bucket",
        "tcpemu_interface_frames_total",
        "tcpemu_interface_dropped_total",
    ],
)
def test_dashboard_shows(metric: str) -> None:
    assert any(re.search(rf"\b{metric}\{{", t.expr) for t in TARGETS), f"no panel queries {metric}"


# ---------------------------------------------------------------- compose

COMPOSE = REPO / "deploy/compose.yaml"
PROVISIONING = REPO / "deploy/compose/grafana/provisioning"


def test_compose_bind_mounts_exist() -> None:
    """Every ./path the compose file mounts exists, and Grafana's dashboard
    provider reads the directory deploy/grafana is mounted on."""
    text = COMPOSE.read_text()
    mounts = re.findall(r"^\s*-\s*\./([\w./-]+):(/[\w./-]+)(?::ro)?\s*$", text, re.M)
    assert mounts, "no bind mounts found"
    targets = {}
    for source, target in mounts:
        assert (COMPOSE.parent / source).exists(), f"compose.yaml mounts ./{source}, which does not exist"
        targets[source.rstrip("/")] = target
    assert "prometheus" in targets and targets["prometheus"] == "/etc/prometheus"
    provider = (PROVISIONING / "dashboards/tcpemu.yml").read_text()
    path = re.search(r"^\s*path:\s*(\S+)", provider, re.M)
    assert path and path.group(1) == targets["grafana"], f"provider path vs mount {targets['grafana']}"
    assert re.search(rf"HOME_DASHBOARD_PATH:\s*{re.escape(targets['grafana'])}/tcpemu\.json", text)
    datasource = (PROVISIONING / "datasources/prometheus.yml").read_text()
    assert re.search(r"url:\s*http://prometheus:9090\b", datasource)
    assert re.search(r"^\s*type:\s*prometheus\s*$", datasource, re.M)
    assert "dockerfile: deploy/docker/Dockerfile" in text and re.search(r"context:\s*\.\.\s*$", text, re.M)


# The file itself is loaded and checked as `docker compose config` does it
# (Docker Compose's loader, compose-go) by deploy/tests/packaging
# (compose_test.go), which needs no Docker.
