"""The alert rules and Grafana dashboards of deploy/k8s: `promtool check rules` and the alerts' unit
tests pass, a real Prometheus server (Debian's package, started here on a free loopback port)
loads and evaluates every rule and runs every dashboard query without error, and every metric and
label they name is one the services export."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from deploy_support import (
    CONTRACT,
    K8S,
    contract_exposition,
    dashboard_queries,
    dashboards,
    exported_label_names,
    exported_series_names,
    label_values_metric,
    one,
    panels,
    promql_names,
    rule_queries,
    series_names,
    substitute_variables,
)

PLATFORM = ("overlays/dev", "overlays/prod")


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        message = f"{name} not found: Debian's prometheus package provides it (scripts/setup installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


def rules_file(directory: Path, overlay: str = "overlays/prod") -> Path:
    """The rule groups of the rendered PrometheusRule, as the rule file Prometheus reads."""
    spec = one(overlay, "PrometheusRule", "ancoef-alerts")["spec"]
    path = directory / "alerts.rules.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def all_queries(overlay: str = "overlays/prod") -> list[tuple[str, str]]:
    """(where, runnable PromQL) for every rule and every dashboard target."""
    found = [(q.where, q.expr) for q in rule_queries(one(overlay, "PrometheusRule", "ancoef-alerts"))]
    for board in dashboards(overlay).values():
        found += [(q.where, substitute_variables(q.expr, board)) for q in dashboard_queries(board)]
    return found


# ------------------------------------------------------------------ promtool


@pytest.mark.parametrize("overlay", PLATFORM)
def test_promtool_checks_the_rendered_rules(overlay, tmp_path):
    path = rules_file(tmp_path, overlay)
    out = subprocess.run([tool("promtool"), "check", "rules", str(path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS: 6 rules found" in out.stdout


def test_alert_unit_tests_pass(tmp_path):
    rules_file(tmp_path)
    shutil.copy(K8S / "base" / "monitoring" / "alerts.test.yaml", tmp_path / "alerts.test.yaml")
    out = subprocess.run([tool("promtool"), "test", "rules", "alerts.test.yaml"], cwd=tmp_path,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout


def test_alert_unit_tests_fail_when_a_threshold_changes(tmp_path):
    """The unit tests are not vacuous: a looser error-ratio threshold makes them fail."""
    path = rules_file(tmp_path)
    path.write_text(path.read_text().replace(") > 0.05", ") > 0.5"))
    shutil.copy(K8S / "base" / "monitoring" / "alerts.test.yaml", tmp_path / "alerts.test.yaml")
    out = subprocess.run([tool("promtool"), "test", "rules", "alerts.test.yaml"], cwd=tmp_path,
                         capture_output=True, text=True)
    assert out.returncode != 0 and "AncoefGrpcErrorRatioHigh" in out.stdout + out.stderr


# ------------------------------------------------------------------ a real Prometheus server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> dict:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:  # 400 bad_data still carries the JSON error
        return json.loads(error.read())


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    """A Prometheus server on a free loopback port with the alert rules loaded (evaluated every
    second); yields its base URL and stops it afterwards."""
    binary = tool("prometheus")
    directory = tmp_path_factory.mktemp("prometheus")
    rules = rules_file(directory)
    config = directory / "prometheus.yml"
    config.write_text(yaml.safe_dump({"global": {"evaluation_interval": "1s"}, "rule_files": [str(rules)]}))
    log = (directory / "prometheus.log").open("w")
    for _ in range(3):  # another process may take the port between probing and binding
        port = _free_port()
        process = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={directory / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
            stdout=log, stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(url + "/-/ready", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
        if process.poll() is None:
            break
    else:
        pytest.fail(f"prometheus did not start: {(directory / 'prometheus.log').read_text()[-2000:]}")
    try:
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_prometheus_loads_and_evaluates_every_rule(prometheus):
    expected = {q.where.split(", ", 1)[1] for q in rule_queries(one("overlays/prod", "PrometheusRule", "ancoef-alerts"))}
    deadline = time.monotonic() + 20
    while True:
        groups = _get(prometheus + "/api/v1/rules")["data"]["groups"]
        rules = {rule["name"]: rule for group in groups for rule in group["rules"]}
        evaluated = {n for n, r in rules.items() if not r.get("lastEvaluation", "").startswith("0001-")}
        if set(rules) == expected and evaluated == expected or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert set(rules) == expected
    assert evaluated == expected, f"not evaluated yet: {expected - evaluated}"
    for name, rule in rules.items():
        assert rule["health"] == "ok", f"{name}: {rule.get('lastError')}"


def test_every_rule_and_dashboard_query_runs_on_prometheus(prometheus):
    queries = all_queries()
    assert len(queries) >= 30, f"only {len(queries)} queries found"
    failures = []
    for where, expr in queries:
        answer = _get(prometheus + "/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
        if answer["status"] != "success":
            failures.append(f"{where}: {answer.get('errorType')}: {answer.get('error')}\n    {expr}")
    assert not failures, "\n".join(failures)


def test_prometheus_rejects_a_malformed_query(prometheus):
    """The check above can fail: a broken expression is answered with bad_data."""
    answer = _get(prometheus + "/api/v1/query?" + urllib.parse.urlencode(
        {"query": "sum by (job (rate(grpc_server_handled_total[5m]))"}))
    assert answer["status"] == "error" and answer["errorType"] == "bad_data"


# ------------------------------------------------------------------ metric and label names


def test_every_metric_and_label_used_is_exported():
    series, labels = exported_series_names(), exported_label_names()
    queries = all_queries()
    for board in dashboards("overlays/prod").values():
        for variable in board["templating"]["list"]:
            if variable["type"] == "query":
                selector = label_values_metric(variable["query"]["query"])
                assert selector is not None, f"{board['uid']}: ${variable['name']} is not a label_values() query"
                queries.append((f"dashboard {board['uid']}, variable ${variable['name']}", selector))
    used = set()
    for where, expr in queries:
        names = promql_names(expr)
        assert names.metrics, f"{where}: no metric found in {expr}"
        assert names.metrics <= series, f"{where}: not exported: {sorted(names.metrics - series)}"
        assert names.labels <= labels, f"{where}: unknown labels: {sorted(names.labels - labels)}"
        used |= names.metrics
    # The dashboards and alerts cover the contract: every metric of it appears somewhere.
    for metric in CONTRACT:
        variants = {metric.name, metric.name + "_bucket", metric.name + "_sum", metric.name + "_count"}
        assert variants & used, f"{metric.name} is exported but no dashboard or alert uses it"


def test_promql_names_finds_metrics_and_labels_and_nothing_else():
    names = promql_names(
        'histogram_quantile(0.99, sum by (le, grpc_method) (rate(grpc_server_handling_seconds_bucket'
        '{namespace=~"a|b", job!="x"}[5m]))) * 1e9 > on (namespace) group_left (pod) max(up offset 5m)'
    )
    assert names.metrics == {"grpc_server_handling_seconds_bucket", "up"}
    assert names.labels == {"le", "grpc_method", "namespace", "job", "pod"}
    assert promql_names('absent(up{job="ancoef-agent"}) or vector(1)').metrics == {"up"}


def test_a_misspelt_metric_or_label_is_not_exported():
    series, labels = exported_series_names(), exported_label_names()
    assert not promql_names("rate(grpc_server_handeled_total[5m])").metrics <= series
    assert not promql_names('sum by (grpc_sevice) (rate(grpc_server_handled_total[5m]))').labels <= labels
    assert not promql_names("ancoef_simulations_total_total").metrics <= series


def test_the_contract_exposes_the_series_prometheus_stores():
    series = series_names(contract_exposition())
    for name in ("grpc_server_handled_total", "grpc_server_handling_seconds_bucket",
                 "grpc_server_handling_seconds_count", "ancoef_simulation_wall_seconds_sum",
                 "ancoef_build_info", "ancoef_training_accuracy_ratio", "process_cpu_seconds_total",
                 "process_resident_memory_bytes", "python_info"):
        assert name in series, name
    assert "ancoef_simulations_total_total" not in series and "grpc_server_handling_seconds" not in series


# ------------------------------------------------------------------ dashboards for the Grafana sidecar


@pytest.mark.parametrize("overlay", PLATFORM)
def test_dashboards_are_configmaps_for_the_grafana_sidecar(overlay):
    boards = dashboards(overlay)
    assert set(boards) == {"ancoef-services", "ancoef-simulator", "ancoef-operations"}
    for uid, board in boards.items():
        variables = {v["name"]: v for v in board["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
        cells = set()
        for panel in panels(board):
            x, y, w, h = (panel["gridPos"][k] for k in ("x", "y", "w", "h"))
            assert x + w <= 24, f"{uid}: '{panel['title']}' is wider than the grid"
            cell = {(i, j) for i in range(x, x + w) for j in range(y, y + h)}
            assert not cell & cells, f"{uid}: '{panel['title']}' overlaps another panel"
            cells |= cell
            if panel["type"] != "row":
                assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
                assert panel["targets"], f"{uid}: '{panel['title']}' has no query"
                for target in panel["targets"]:
                    substitute_variables(target["expr"], board)  # raises on an undefined variable


def test_the_running_services_export_the_contract():
    """`ancoef serve sim`, `trainer` and `agent`, started as processes, export every metric of the
    contract between them, with the search progress on the agent."""
    from deploy_support import live_expositions

    expositions = live_expositions()
    served = set().union(*(series_names(text) for text in expositions.values()))
    for metric in CONTRACT:
        exposed = metric.name + ("_count" if metric.type == "histogram" else "")
        assert exposed in served, f"{metric.name} is in the contract but no service exports it"
    assert series_names(expositions["sim"]) >= {"ancoef_simulations_total", "ancoef_simulation_wall_seconds_bucket",
                                                "process_cpu_seconds_total"}
    assert "ancoef_training_loss" in series_names(expositions["trainer"])
    assert {"ancoef_search_hypervolume", "ancoef_search_best_edp_joule_seconds",
            "ancoef_operations_running"} <= series_names(expositions["agent"])
