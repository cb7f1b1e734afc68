"""deploy/k8s: every overlay renders with `kubectl kustomize`, every built-in object validates
against Kubernetes' strict schemas, every custom resource against deploy/schemas, a misspelt field
is rejected, and the objects fit together (selectors, ports, volumes, probes, security)."""

from __future__ import annotations

import copy
import re

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

import pytest
import yaml

from deploy_support import (
    CUSTOM_RESOURCES,
    KUBERNETES_VERSION,
    OVERLAYS,
    REPO,
    builtin_errors,
    custom_resource_errors,
    is_custom,
    objects,
    one,
    pod_templates,
    render,
)

PLATFORM = ("overlays/dev", "overlays/prod")
SWEEPS = ("overlays/dev/sweep", "overlays/prod/sweep")
NAMESPACE = {"overlays/dev": "ancoef-dev", "overlays/prod": "ancoef",
             "overlays/dev/sweep": "ancoef-dev", "overlays/prod/sweep": "ancoef"}
SERVICES = {"simulator": "sim", "trainer": "trainer", "agent": "agent"}  # component -> serve argument
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def containers(template: dict) -> list[dict]:
    return template["spec"]["containers"] + template["spec"].get("initContainers", [])


def selects(selector: dict, labels: dict) -> bool:
    assert set(selector) <= {"matchLabels"}, f"only matchLabels selectors are used here: {selector}"
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


# ------------------------------------------------------------------ render and validate


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_into_its_namespace(overlay):
    rendered = render(overlay)
    assert rendered, f"{overlay} rendered nothing"
    keys = [(o["kind"], o["metadata"]["name"]) for o in rendered]
    assert len(keys) == len(set(keys)), f"duplicate objects in {overlay}"
    for obj in rendered:
        if obj["kind"] != "Namespace":
            assert obj["metadata"].get("namespace") == NAMESPACE[overlay], (obj["kind"], obj["metadata"])
        assert obj["metadata"].get("labels", {}).get("app.kubernetes.io/part-of") == "ancoef" or obj["kind"] == "Namespace"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_builtin_objects_validate_strictly(overlay):
    import kubernetes_validate

    checked = 0
    for obj in render(overlay):
        if is_custom(obj):
            continue
        try:
            errors = builtin_errors(obj)
        except kubernetes_validate.SchemaNotFoundError:
            pytest.fail(f"{obj['apiVersion']} {obj['kind']} is neither a Kubernetes {KUBERNETES_VERSION} kind "
                        f"nor a custom resource with a schema in deploy/schemas")
        assert not errors, f"{obj['kind']}/{obj['metadata']['name']}: {errors}"
        checked += 1
    assert checked >= (2 if "sweep" in overlay else 15), f"only {checked} built-in objects in {overlay}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_custom_resources_validate_against_the_schemas(overlay):
    custom = [o for o in render(overlay) if is_custom(o)]
    expected = {"RayJob"} if "sweep" in overlay else {"RayCluster", "ServiceMonitor", "PodMonitor", "PrometheusRule"}
    assert {o["kind"] for o in custom} == expected
    for obj in custom:
        errors = custom_resource_errors(obj)
        assert not errors, f"{obj['kind']}/{obj['metadata']['name']}: {errors}"


def _set(obj: dict, path: str, value) -> None:
    *parents, last = path.split(".")
    for key in parents:
        obj = obj[int(key)] if key.isdigit() else obj[key]
    obj[int(last) if last.isdigit() else last] = value


def _rename(obj: dict, path: str, new_key: str) -> None:
    *parents, last = path.split(".")
    for key in parents:
        obj = obj[int(key)] if key.isdigit() else obj[key]
    obj[new_key] = obj.pop(last)


# (overlay, kind, name, edit, what the error must name)
MISTAKES = [
    ("overlays/dev/sweep", "RayJob", "ancoef-sweep",
     lambda o: _rename(o, "spec.shutdownAfterJobFinishes", "shutdownAfterJobFinished"), "shutdownAfterJobFinished"),
    ("overlays/dev/sweep", "RayJob", "ancoef-sweep",
     lambda o: _rename(o, "spec.ttlSecondsAfterFinished", "ttlSecondAfterFinished"), "ttlSecondAfterFinished"),
    ("overlays/dev/sweep", "RayJob", "ancoef-sweep",
     lambda o: _set(o, "spec.submissionMode", "K8sJob"), "K8sJob"),
    ("overlays/dev/sweep", "RayJob", "ancoef-sweep",
     lambda o: _set(o, "spec.activeDeadlineSeconds", "1d"), "1d"),
    ("overlays/dev", "RayCluster", "ancoef-ray",
     lambda o: _rename(o, "spec.workerGroupSpecs.0.maxReplicas", "maxReplica"), "maxReplica"),
    ("overlays/dev", "RayCluster", "ancoef-ray",
     lambda o: _rename(o, "spec.headGroupSpec.template.spec.containers.0.securityContext.readOnlyRootFilesystem",
                       "readOnlyRootFileSystem"), "readOnlyRootFileSystem"),
    ("overlays/dev", "RayCluster", "ancoef-ray",
     lambda o: _rename(o, "spec.headGroupSpec", "headGroupSpecs"), "headGroupSpecs"),
    ("overlays/dev", "ServiceMonitor", "ancoef-services",
     lambda o: _rename(o, "spec.endpoints.0.interval", "scrapeInterval"), "scrapeInterval"),
    ("overlays/dev", "ServiceMonitor", "ancoef-services",
     lambda o: _set(o, "spec.endpoints.0.interval", "15 seconds"), "15 seconds"),
    ("overlays/dev", "PodMonitor", "ancoef-ray",
     lambda o: _rename(o, "spec.podMetricsEndpoints", "podMetricEndpoints"), "podMetricEndpoints"),
    ("overlays/dev", "PrometheusRule", "ancoef-alerts",
     lambda o: _rename(o, "spec.groups.0.rules.0.annotations", "annotation"), "annotation"),
    ("overlays/dev", "PrometheusRule", "ancoef-alerts",
     lambda o: _set(o, "spec.groups.0.rules.0.record", "ancoef:up"), "is valid under each of"),
    ("overlays/dev", "Deployment", "ancoef-simulator",
     lambda o: _rename(o, "spec.template.spec.containers.0.readinessProbe.periodSeconds", "periodSecond"),
     "periodSecond"),
]


@pytest.mark.parametrize("overlay,kind,name,edit,named", MISTAKES,
                         ids=[f"{m[1]}-{m[4]}" for m in MISTAKES])
def test_a_mistake_is_rejected_and_named(overlay, kind, name, edit, named):
    obj = copy.deepcopy(one(overlay, kind, name))
    check = custom_resource_errors if is_custom(obj) else builtin_errors
    assert not check(obj), "the unedited object must be valid"
    edit(obj)
    errors = check(obj)
    assert errors, f"the edited {kind} was accepted"
    assert any(named in error for error in errors), errors


def test_every_custom_resource_schema_names_its_release():
    import json

    from deploy_support import SCHEMAS

    for schema_file in CUSTOM_RESOURCES.values():
        schema = json.loads((SCHEMAS / schema_file).read_text())
        release = schema["x-ancoef-release"]
        assert re.fullmatch(r"v\d+\.\d+\.\d+", release["version"]), release
        assert release["version"] in schema["title"]
        assert schema["additionalProperties"] is False


# ------------------------------------------------------------------ how the objects fit together


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_is_non_root_with_a_read_only_root_filesystem(overlay):
    for obj in render(overlay):
        for where, template in pod_templates(obj):
            pod = template["spec"]
            context = f"{obj['kind']}/{obj['metadata']['name']} {where}"
            security = pod["securityContext"]
            assert security["runAsNonRoot"] is True and security["runAsUser"] != 0, context
            assert security["seccompProfile"] == {"type": "RuntimeDefault"}, context
            volumes = {v["name"]: v for v in pod.get("volumes", [])}
            for container in containers(template):
                c = container["securityContext"]
                assert c["readOnlyRootFilesystem"] is True, context
                assert c["allowPrivilegeEscalation"] is False, context
                assert c["capabilities"] == {"drop": ["ALL"]}, context
                mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
                assert set(mounts.values()) <= set(volumes), f"{context}: mount of an undefined volume"
                # A read-only root needs somewhere to write: /tmp, on a size-limited emptyDir.
                assert "emptyDir" in volumes[mounts["/tmp"]], context
                assert volumes[mounts["/tmp"]]["emptyDir"].get("sizeLimit"), context
                assert {"name": "HOME", "value": "/tmp"} in container.get("env", []), context


def _quantity(text: str) -> float:
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
    for suffix, factor in units.items():
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_requests_no_more_than_its_limits(overlay):
    for obj in render(overlay):
        for where, template in pod_templates(obj):
            for container in containers(template):
                resources = container["resources"]
                for name in ("cpu", "memory"):
                    request, limit = resources["requests"][name], resources["limits"][name]
                    assert _quantity(request) <= _quantity(limit), (obj["metadata"]["name"], where, name)


@pytest.mark.parametrize("overlay", PLATFORM)
@pytest.mark.parametrize("component", SERVICES)
def test_service_runs_serve_with_grpc_probes_and_a_matching_service(overlay, component):
    deployment = one(overlay, "Deployment", f"ancoef-{component}")
    template = deployment["spec"]["template"]
    (container,) = template["spec"]["containers"]
    assert container["args"] == ["serve", SERVICES[component], "--host", "0.0.0.0", "--port", "50051",
                                 "--metrics-port", "9090"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"grpc": 50051, "metrics": 9090}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        # Native gRPC probes speak grpc.health.v1 to the serving port itself.
        assert container[probe]["grpc"] == {"port": 50051}, probe
    assert selects(deployment["spec"]["selector"], template["metadata"]["labels"])
    service = one(overlay, "Service", f"ancoef-{component}")
    assert selects({"matchLabels": service["spec"]["selector"]}, template["metadata"]["labels"])
    assert {p["name"]: p["targetPort"] for p in service["spec"]["ports"]} == {"grpc": "grpc", "metrics": "metrics"}
    matching = [d for d in objects(overlay, "Deployment")
                if selects({"matchLabels": service["spec"]["selector"]}, d["spec"]["template"]["metadata"]["labels"])]
    assert [d["metadata"]["name"] for d in matching] == [deployment["metadata"]["name"]]


@pytest.mark.parametrize("overlay", PLATFORM)
def test_every_deployment_has_one_disruption_budget_that_allows_a_drain(overlay):
    for deployment in objects(overlay, "Deployment"):
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        budgets = [b for b in objects(overlay, "PodDisruptionBudget") if selects(b["spec"]["selector"], labels)]
        assert len(budgets) == 1, deployment["metadata"]["name"]
        budget = budgets[0]["spec"]
        replicas = deployment["spec"].get("replicas")
        if replicas is None:  # owned by the HorizontalPodAutoscaler
            hpa = one(overlay, "HorizontalPodAutoscaler", deployment["metadata"]["name"])
            replicas = hpa["spec"]["minReplicas"]
        if "minAvailable" in budget:
            assert budget["minAvailable"] < replicas, f"{deployment['metadata']['name']}: a drain would block"
        else:
            assert budget["maxUnavailable"] >= 1


@pytest.mark.parametrize("overlay", PLATFORM)
def test_the_autoscaler_owns_the_simulator_replica_count(overlay):
    hpa = one(overlay, "HorizontalPodAutoscaler", "ancoef-simulator")["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "ancoef-simulator"}
    assert 1 <= hpa["minReplicas"] <= hpa["maxReplicas"]
    assert hpa["metrics"][0]["resource"]["name"] == "cpu"
    simulator = one(overlay, "Deployment", "ancoef-simulator")
    assert "replicas" not in simulator["spec"], "a fixed replica count would fight the autoscaler"
    assert all(o["kind"] != "HorizontalPodAutoscaler" or o["metadata"]["name"] == "ancoef-simulator"
               for o in render(overlay))


@pytest.mark.parametrize("overlay", PLATFORM)
def test_the_agent_is_the_single_writer_of_its_run_store(overlay):
    agent = one(overlay, "Deployment", "ancoef-agent")["spec"]
    assert agent["replicas"] == 1 and agent["strategy"] == {"type": "Recreate"}
    pod = agent["template"]["spec"]
    (container,) = pod["containers"]
    runs = [m for m in container["volumeMounts"] if m["mountPath"] == "/runs"]
    assert len(runs) == 1 and container["workingDir"] == "/runs"
    volume = next(v for v in pod["volumes"] if v["name"] == runs[0]["name"])
    claim = one(overlay, "PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"])
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_claim_and_config_map_a_pod_uses_is_in_the_same_overlay(overlay):
    claims = {o["metadata"]["name"] for o in objects(overlay, "PersistentVolumeClaim")}
    config_maps = {o["metadata"]["name"] for o in objects(overlay, "ConfigMap")}
    for obj in render(overlay):
        for where, template in pod_templates(obj):
            for volume in template["spec"].get("volumes", []):
                if "persistentVolumeClaim" in volume:
                    assert volume["persistentVolumeClaim"]["claimName"] in claims, (where, volume)
                if "configMap" in volume:
                    assert volume["configMap"]["name"] in config_maps, (where, volume)


@pytest.mark.parametrize("overlay", SWEEPS)
def test_the_sweep_job_runs_ancoef_sweep_and_cleans_up(overlay):
    (job,) = objects(overlay, "RayJob")
    name, spec = job["metadata"]["name"], job["spec"]
    assert spec["entrypoint"] == f"ancoef sweep /config/sweep.yaml --out /runs/{name} --address auto"
    assert spec["shutdownAfterJobFinishes"] is True
    assert 0 <= spec["ttlSecondsAfterFinished"] <= 3600
    assert spec["activeDeadlineSeconds"] >= 3600
    assert spec["submissionMode"] == "K8sJobMode"
    head = spec["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]
    mounts = {m["mountPath"]: m for m in head["containers"][0]["volumeMounts"]}
    volumes = {v["name"]: v for v in head["volumes"]}
    config = volumes[mounts["/config"]["name"]]["configMap"]["name"]
    sweep = yaml.safe_load(one(overlay, "ConfigMap", config)["data"]["sweep.yaml"])
    assert isinstance(sweep, dict) and sweep["grid"], "the sweep spec must be a mapping with a grid"
    assert mounts["/config"]["readOnly"] is True
    assert "persistentVolumeClaim" in volumes[mounts["/runs"]["name"]]


def test_ray_version_and_image_tags_follow_the_project():
    ray_pin = next(d for d in PYPROJECT["project"]["optional-dependencies"]["search"] if d.startswith("ray["))
    ray_version = ray_pin.split("==")[1]
    version = PYPROJECT["project"]["version"]
    images = {f"ancoef/ancoef-service:{version}", f"ancoef/ancoef-ray:{version}"}
    for overlay in OVERLAYS:
        for obj in render(overlay):
            cluster = obj["spec"] if obj["kind"] == "RayCluster" else obj["spec"].get("rayClusterSpec") \
                if obj["kind"] == "RayJob" else None
            if cluster is not None:
                assert cluster["rayVersion"] == ray_version, obj["metadata"]["name"]
            for where, template in pod_templates(obj):
                for container in containers(template):
                    assert container["image"] in images, (overlay, where, container["image"])
                    kind = "ray" if obj["kind"] in ("RayCluster", "RayJob") else "service"
                    assert container["image"].startswith(f"ancoef/ancoef-{kind}:"), (overlay, where)


def test_prod_trains_on_gpu_nodes_and_dev_asks_for_no_gpu():
    trainer = one("overlays/prod", "Deployment", "ancoef-trainer")["spec"]["template"]["spec"]
    assert trainer["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in trainer["tolerations"]
    assert trainer["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    groups = {g["groupName"]: g for g in one("overlays/prod", "RayCluster", "ancoef-ray")["spec"]["workerGroupSpecs"]}
    gpu = groups["gpu"]["template"]["spec"]
    assert gpu["nodeSelector"] == trainer["nodeSelector"] and gpu["tolerations"] == trainer["tolerations"]
    assert gpu["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    for overlay in ("overlays/dev", "overlays/dev/sweep"):
        assert "nvidia.com/gpu" not in yaml.safe_dump(list(render(overlay)))
    assert one("overlays/prod", "HorizontalPodAutoscaler", "ancoef-simulator")["spec"]["minReplicas"] > \
        one("overlays/dev", "HorizontalPodAutoscaler", "ancoef-simulator")["spec"]["minReplicas"]


@pytest.mark.parametrize("overlay", PLATFORM)
def test_the_monitors_select_what_exports_metrics(overlay):
    monitor = one(overlay, "ServiceMonitor", "ancoef-services")["spec"]
    selected = [s for s in objects(overlay, "Service") if selects(monitor["selector"], s["metadata"]["labels"])]
    assert sorted(s["metadata"]["name"] for s in selected) == ["ancoef-agent", "ancoef-simulator", "ancoef-trainer"]
    for service in selected:
        assert monitor["endpoints"][0]["port"] in {p["name"] for p in service["spec"]["ports"]}
    pod_monitor = one(overlay, "PodMonitor", "ancoef-ray")["spec"]
    (endpoint,) = pod_monitor["podMetricsEndpoints"]
    ray_pods = [t for t in pod_templates(one(overlay, "RayCluster", "ancoef-ray"))]
    assert ray_pods
    for where, template in ray_pods:
        assert selects(pod_monitor["selector"], template["metadata"]["labels"]), where
        assert endpoint["port"] in {p["name"] for p in template["spec"]["containers"][0]["ports"]}, where
    for deployment in objects(overlay, "Deployment"):  # no service pod is scraped twice
        assert not selects(pod_monitor["selector"], deployment["spec"]["template"]["metadata"]["labels"])


@pytest.mark.parametrize("overlay", PLATFORM)
def test_namespaces_enforce_the_restricted_pod_security_standard(overlay):
    (namespace,) = objects(overlay, "Namespace")
    assert namespace["metadata"]["name"] == NAMESPACE[overlay]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
