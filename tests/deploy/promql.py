"""The PromQL of the Grafana dashboard and the Prometheus rules, and how to check it.

Used by the static deploy tests (names, parsing) and by the live test, which scrapes a real
gateway and Triton and asks a real Prometheus whether every expression returns a series:

    config = write_local_config(tmp_path, {"jepa-gateway": ["127.0.0.1:9464"],
                                           "triton": ["127.0.0.1:8002"]})
    with running_prometheus(config, tmp_path / "tsdb") as url:
        ...  # drive load, wait for a few scrapes
        assert expressions_without_series(url, all_expressions()) == []

An alert's expression returns series only while it fires; its *signal* is what must exist, so
alerts are checked with every comparison made a `bool` comparison (`x > 0.05` -> `x > bool 0.05`),
which keeps one 0/1 series per input series.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

REPOSITORY = Path(__file__).resolve().parents[2]
DEPLOY = REPOSITORY / "deploy"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "jepa-serve.json"
PROMETHEUS_CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
RULES = DEPLOY / "prometheus" / "alerts.yml"

# Grafana's built-in variables, replaced by what Prometheus needs to evaluate the panel queries.
# One minute covers at least four scrapes at any scrape interval up to 15 s.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "1h"}

# Aggregations may stand before their `by (...)` clause, so they are not always followed by "(".
AGGREGATIONS = {
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
    "bottomk", "topk", "quantile", "limitk", "limit_ratio",
}
KEYWORDS = AGGREGATIONS | {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool",
    "and", "or", "unless", "offset", "atan2", "inf", "nan",
}
GROUPING_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
COMPARISONS = {"==", "!=", ">", "<", ">=", "<="}

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<comment>\#[^\n]*)
  | (?P<string>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`)
  | (?P<number>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?[a-zA-Z]*)
  | (?P<identifier>[a-zA-Z_:][a-zA-Z0-9_:]*)
  | (?P<operator>==|!=|>=|<=|=~|!~|[-+*/%^<>=(){}\[\],@])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Expression:
    """One PromQL expression, named after where it lives (panel and refId, or rule name)."""

    source: str
    promql: str


_SKIPPED_CONTENT = {"{": "}", "[": "]"}  # label matchers and range selectors


def _significant(promql: str) -> Iterator[re.Match[str]]:
    """Tokens outside label matchers and range selectors (their content is never a metric)."""
    position, closing = 0, ""
    while position < len(promql):
        match = _TOKEN.match(promql, position)
        if match is None:
            raise ValueError(f"promql: cannot read {promql[position:position + 20]!r} in {promql!r}")
        position = match.end()
        text = match.group()
        if match.lastgroup in ("space", "comment"):
            continue
        if closing:
            if text == closing:
                closing = ""
            continue
        closing = _SKIPPED_CONTENT.get(text, "")
        yield match


def metric_names(promql: str) -> set[str]:
    """Metric names a PromQL expression selects (functions, keywords and label names excluded)."""
    tokens = [(match.lastgroup, match.group()) for match in _significant(promql)]
    names: set[str] = set()
    skip_group = False
    for index, (kind, text) in enumerate(tokens):
        following = tokens[index + 1][1] if index + 1 < len(tokens) else ""
        if skip_group:
            skip_group = text != ")"
        elif kind == "identifier" and text in GROUPING_KEYWORDS:
            skip_group = following == "("
        elif kind == "identifier" and text not in KEYWORDS and following != "(":
            names.add(text)
    return names


def comparisons_as_bool(promql: str) -> str:
    """Rewrites every comparison to its `bool` form so the expression keeps its input series."""
    pieces: list[str] = []
    position = 0
    for match in _significant(promql):
        if match.lastgroup != "operator" or match.group() not in COMPARISONS:
            continue
        if not re.match(r"\s*bool\b", promql[match.end():]):
            pieces.append(promql[position:match.end()] + " bool")
            position = match.end()
    pieces.append(promql[position:])
    return "".join(pieces)


def with_grafana_variables(promql: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        promql = promql.replace(variable, value)
    return promql


def dashboard_expressions(path: Path = DASHBOARD) -> list[Expression]:
    """Every panel query of the dashboard, with Grafana's variables substituted."""
    dashboard = json.loads(path.read_text())
    return [
        Expression(f"panel {panel['title']!r} {target['refId']}", with_grafana_variables(target["expr"]))
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]


def rule_expressions(path: Path = RULES, *, alert_signals: bool = True) -> list[Expression]:
    """Recording rules as written; alerts as their `bool` signal unless alert_signals is False."""
    rules = yaml.safe_load(path.read_text())
    expressions: list[Expression] = []
    for group in rules["groups"]:
        for rule in group["rules"]:
            if "record" in rule:
                expressions.append(Expression(f"record {rule['record']}", rule["expr"].strip()))
            else:
                promql = rule["expr"].strip()
                if alert_signals:
                    promql = comparisons_as_bool(promql)
                expressions.append(Expression(f"alert {rule['alert']}", promql))
    return expressions


def all_expressions() -> list[Expression]:
    return dashboard_expressions() + rule_expressions()


def query(prometheus_url: str, promql: str, timeout_s: float = 10.0) -> list[dict]:
    """Instant query through Prometheus' HTTP API; raises with Prometheus' error text."""
    url = f"{prometheus_url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            body = json.load(response)
    except urllib.error.HTTPError as error:
        raise ValueError(f"query {promql!r}: {error.read().decode(errors='replace')}") from error
    if body.get("status") != "success":
        raise ValueError(f"query {promql!r}: {body}")
    result = body["data"]["result"]
    # A scalar or string result is a single value, not a list of series.
    return result if isinstance(result, list) else [{"value": result}]


def expressions_without_series(
    prometheus_url: str, expressions: Sequence[Expression] | None = None
) -> list[Expression]:
    """The expressions (all of the dashboard and the rules by default) that return no series."""
    checked = all_expressions() if expressions is None else expressions
    return [expression for expression in checked if not query(prometheus_url, expression.promql)]


def write_local_config(
    directory: Path,
    targets: Mapping[str, Sequence[str]],
    scrape_interval: str = "1s",
) -> Path:
    """Writes deploy/prometheus/prometheus.yml with the given targets per job, plus its rules.

    Every job of the deploy config must be given targets, so a renamed job fails loudly.
    """
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    if set(targets) != jobs:
        raise ValueError(f"targets: got jobs {sorted(targets)}, the config has {sorted(jobs)}")
    config["global"]["scrape_interval"] = scrape_interval
    config["global"]["evaluation_interval"] = scrape_interval
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": list(targets[job["job_name"]])}]
    directory.mkdir(parents=True, exist_ok=True)
    for rule_file in config.get("rule_files", []):
        shutil.copyfile(PROMETHEUS_CONFIG.parent / rule_file, directory / rule_file)
    path = directory / "prometheus.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def running_prometheus(
    config: Path, storage: Path, binary: str = "prometheus", ready_timeout_s: float = 30.0
) -> Iterator[str]:
    """Runs a real Prometheus on a free loopback port for the block; yields its base URL."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = storage.with_name(storage.name + ".log")
    storage.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={storage}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + ready_timeout_s
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"prometheus exited with {process.returncode}: {log.read_text()}")
                try:
                    with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"prometheus not ready within {ready_timeout_s} s: {log.read_text()}")
                time.sleep(0.2)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_for_series(
    prometheus_url: str, promql: str, timeout_s: float = 30.0, interval_s: float = 0.5
) -> list[dict]:
    """Polls until the query returns a series (scrapes and rule evaluations take a moment)."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = query(prometheus_url, promql)
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval_s)
