"""Writes the jepa-serve Grafana dashboard (dashboards/jepa-serve.json) from the panels below.

The JSON is generated so that every panel shares one layout and one datasource reference; edit
this file and run `python deploy/grafana/dashboard.py`. A test fails when the JSON is stale.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DASHBOARD_PATH = Path(__file__).parent / "dashboards" / "jepa-serve.json"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
RATE = "$__rate_interval"
SCHEMA_VERSION = 39  # Grafana 10.4 / 11.x
GRID_WIDTH = 24


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str


@dataclass(frozen=True)
class Panel:
    title: str
    description: str
    queries: tuple[Query, ...]
    unit: str = "short"
    kind: str = "timeseries"
    width: int = 12
    height: int = 8
    stacked: bool = False
    log_scale: bool = False
    mappings: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Row:
    title: str
    panels: tuple[Panel, ...] = field(default_factory=tuple)


def _per_request(numerator: str) -> str:
    """Triton's *_duration_us counters summed per model, divided by its requests, in seconds."""
    return (
        f"sum by (model) ({numerator}) / "
        f"sum by (model) (rate(nv_inference_request_success[{RATE}])) / 1e6"
    )


def _quantiles(metric: str, by: str, quantiles: tuple[str, ...]) -> tuple[Query, ...]:
    return tuple(
        Query(
            f"histogram_quantile({q}, sum by ({by}, le) (rate({metric}_bucket[{RATE}])))",
            f"{{{{{by}}}}} p{q[2:].ljust(2, '0')}",
        )
        for q in quantiles
    )


UP_MAPPINGS = (
    {
        "type": "value",
        "options": {
            "0": {"text": "DOWN", "color": "red", "index": 0},
            "1": {"text": "UP", "color": "green", "index": 1},
        },
    },
)

ROWS: tuple[Row, ...] = (
    Row(
        "Traffic",
        (
            Panel(
                "Requests by method and code",
                "Completed calls (gRPC and HTTP) per second, split by method and final status code.",
                (
                    Query(
                        f"sum by (method, code) (rate(jepa_requests_total[{RATE}]))",
                        "{{method}} {{code}}",
                    ),
                ),
                unit="reqps",
            ),
            Panel(
                "Error ratio by method and code",
                "Share of each method's calls that ended in a non-OK code. Client errors "
                "(INVALID_ARGUMENT) mean bad input; UNAVAILABLE, INTERNAL and DEADLINE_EXCEEDED "
                "mean the service is failing.",
                (
                    Query(
                        f'sum by (method, code) (rate(jepa_requests_total{{code!="OK"}}[{RATE}]))'
                        " / ignoring (code) group_left "
                        f"sum by (method) (rate(jepa_requests_total[{RATE}]))",
                        "{{method}} {{code}}",
                    ),
                ),
                unit="percentunit",
            ),
            Panel(
                "Requests by protocol",
                "Completed calls per second over gRPC and over HTTP/JSON (the OpenAI-compatible API "
                "and the search page), by method.",
                (
                    Query(
                        f"sum by (protocol, method) (rate(jepa_requests_total[{RATE}]))",
                        "{{protocol}} {{method}}",
                    ),
                ),
                unit="reqps",
            ),
            Panel(
                "In-flight requests",
                "Calls the gateway is working on right now, by method.",
                (Query("sum by (method) (jepa_requests_in_flight)", "{{method}}"),),
            ),
            Panel(
                "Received bytes",
                "Request payload bytes per second, by method (video uploads dominate).",
                (
                    Query(
                        f"sum by (method) (rate(jepa_received_bytes_total[{RATE}]))",
                        "{{method}}",
                    ),
                ),
                unit="Bps",
            ),
        ),
    ),
    Row(
        "Latency",
        (
            Panel(
                "Latency by method (p50, p95, p99)",
                "End-to-end gateway latency per method, from the request histogram.",
                _quantiles("jepa_request_duration_seconds", "method", ("0.5", "0.95", "0.99")),
                unit="s",
                log_scale=True,
            ),
            Panel(
                "Stage latency (p50, p95)",
                "Latency of each step inside a call: decode, preprocess, tokenize, infer, index, "
                "search, decode_text, plan_rollout.",
                _quantiles("jepa_stage_duration_seconds", "stage", ("0.5", "0.95")),
                unit="s",
                log_scale=True,
            ),
            Panel(
                "Where the time goes",
                "Seconds spent per second in each stage, stacked: the tallest band is the "
                "bottleneck.",
                (
                    Query(
                        f"sum by (stage) (rate(jepa_stage_duration_seconds_sum[{RATE}]))",
                        "{{stage}}",
                    ),
                ),
                unit="s",
                stacked=True,
                width=24,
            ),
        ),
    ),
    Row(
        "Triton",
        (
            Panel(
                "Triton up",
                "Scrape: Prometheus reaches Triton's metrics port. Gateway: the gateway's own "
                "health probe of Triton.",
                (
                    Query('min(up{job="triton"})', "scrape"),
                    Query("min(jepa_triton_up)", "gateway"),
                ),
                kind="stat",
                width=6,
                mappings=UP_MAPPINGS,
            ),
            Panel(
                "Real batch size per model",
                "Inferences per model execution: how much Triton's dynamic batcher actually "
                "batches. 1 means no batching.",
                (
                    Query(
                        f"sum by (model) (rate(nv_inference_count[{RATE}])) / "
                        f"sum by (model) (rate(nv_inference_exec_count[{RATE}]))",
                        "{{model}}",
                    ),
                ),
                width=18,
            ),
            Panel(
                "Triton queue vs compute time (mean per request)",
                "Queue time is waiting for a model instance (plus the batcher's delay); compute "
                "is input copy + inference + output copy. Queue above compute means too few GPUs "
                "or instances.",
                (
                    Query(
                        _per_request(f"rate(nv_inference_queue_duration_us[{RATE}])"),
                        "{{model}} queue",
                    ),
                    Query(
                        _per_request(
                            f"rate(nv_inference_compute_input_duration_us[{RATE}])"
                            f" + rate(nv_inference_compute_infer_duration_us[{RATE}])"
                            f" + rate(nv_inference_compute_output_duration_us[{RATE}])"
                        ),
                        "{{model}} compute",
                    ),
                ),
                unit="s",
            ),
            Panel(
                "Triton queue vs compute time (p99)",
                "Triton's own p99 summaries (needs --metrics-config summary_latencies=true).",
                (
                    Query(
                        'max by (model) (nv_inference_queue_summary_us{quantile="0.99"}) / 1e6',
                        "{{model}} queue p99",
                    ),
                    Query(
                        'max by (model) (nv_inference_compute_infer_summary_us{quantile="0.99"})'
                        " / 1e6",
                        "{{model}} infer p99",
                    ),
                ),
                unit="s",
            ),
            Panel(
                "Triton requests",
                "Successful and failed inference requests per second, and requests waiting.",
                (
                    Query(
                        f"sum by (model) (rate(nv_inference_request_success[{RATE}]))",
                        "{{model}} ok",
                    ),
                    Query(
                        f"sum by (model) (rate(nv_inference_request_failure[{RATE}]))",
                        "{{model}} failed",
                    ),
                    Query(
                        "sum by (model) (nv_inference_pending_request_count)",
                        "{{model}} pending",
                    ),
                ),
            ),
            Panel(
                "Triton host CPU",
                "CPU utilisation of the Triton host, 0 to 1.",
                (Query("max by (instance) (nv_cpu_utilization)", "{{instance}}"),),
                unit="percentunit",
                width=6,
            ),
            Panel(
                "Triton host memory",
                "Memory used on the Triton host.",
                (Query("max by (instance) (nv_cpu_memory_used_bytes)", "{{instance}}"),),
                unit="bytes",
                width=6,
            ),
        ),
    ),
    Row(
        "Video and index",
        (
            Panel(
                "Frames decoded",
                "Video frames decoded per second across all calls.",
                (Query(f"sum(rate(jepa_frames_decoded_total[{RATE}]))", "frames/s"),),
                unit="short",
            ),
            Panel(
                "Index size",
                "Rows (video windows) in each Milvus collection.",
                (Query("max by (collection) (jepa_index_rows)", "{{collection}}"),),
            ),
            Panel(
                "Index up",
                "The gateway's own check that Milvus answers (every few seconds). While DOWN, "
                "retrieval calls fail with UNAVAILABLE; embedding keeps serving.",
                (Query("min(jepa_index_up)", "gateway"),),
                kind="stat",
                width=6,
                mappings=UP_MAPPINGS,
            ),
        ),
    ),
    Row(
        "Planning",
        (
            Panel(
                "Plan rollouts",
                "World-model rollouts per second (action sequences CEM scored, by where the rollout ran) "
                "and CEM iterations per second, across Plan and PlanStream calls.",
                (
                    Query(f"sum by (rollout) (rate(jepa_plan_rollouts_total[{RATE}]))", "rollouts/s ({{rollout}})"),
                    Query(f"sum(rate(jepa_plan_iterations_total[{RATE}]))", "iterations/s"),
                ),
                unit="short",
            ),
        ),
    ),
    Row(
        "Index diagnostics",
        (
            Panel(
                "Index drift p-value",
                "Permutation p-value of the kernel two-sample test (MMD) between the rows indexed in the "
                "last drift window and those before (the gateway's drift watch, or the last AnalyzeIndex "
                "with time ranges). Under 0.01: what is being indexed now differs from the collection.",
                (Query("min by (collection) (jepa_index_drift_p_value)", "{{collection}}"),),
                width=8,
                log_scale=True,
            ),
            Panel(
                "Index drift size (MMD, cluster share change)",
                "How far the new rows moved: the squared MMD, and the largest change of one cluster's "
                "share of the rows between the two ranges (0.2 = a cluster gained or lost 20 points).",
                (
                    Query("max by (collection) (jepa_index_drift_mmd)", "{{collection}} MMD²"),
                    Query("max by (collection) (jepa_index_drift_share_change)", "{{collection}} share change"),
                ),
                width=8,
            ),
            Panel(
                "Index effective rank and duplicate groups",
                "Of the last diagnosis of each collection: how many directions the indexed windows use "
                "(collapse goes to 1) and how many groups of near-duplicate videos it holds.",
                (
                    Query("max by (collection) (jepa_index_effective_rank)", "{{collection}} effective rank"),
                    Query("max by (collection) (jepa_index_duplicate_groups)", "{{collection}} duplicate groups"),
                ),
                width=8,
            ),
        ),
    ),
    Row(
        "Embedding health",
        (
            Panel(
                "Effective rank",
                "exp(entropy of the normalised singular values) over a sliding window of served "
                "embeddings. Healthy models stay high; a collapsed model goes to 1.",
                (Query("avg by (model) (jepa_embedding_effective_rank)", "{{model}}"),),
                width=8,
            ),
            Panel(
                "Mean pairwise cosine",
                "Average cosine between served embeddings in the window. Rising towards 1 means "
                "every input looks alike to the model.",
                (Query("avg by (model) (jepa_embedding_pairwise_cosine_mean)", "{{model}}"),),
                width=8,
            ),
            Panel(
                "Mean embedding norm",
                "Average L2 norm of served embeddings: 1 for jepa-serve's L2-normalised models. "
                "Anything else means a model without the normalisation was deployed.",
                (Query("avg by (model) (jepa_embedding_norm_mean)", "{{model}}"),),
                width=8,
            ),
        ),
    ),
)


def _panel_json(panel: Panel, panel_id: int, x: int, y: int) -> dict[str, Any]:
    custom: dict[str, Any] = {}
    if panel.kind == "timeseries":
        custom = {
            "drawStyle": "line",
            "lineWidth": 1,
            "fillOpacity": 20 if panel.stacked else 0,
            "showPoints": "never",
            "stacking": {"mode": "normal" if panel.stacked else "none", "group": "A"},
            "scaleDistribution": {"type": "log", "log": 10} if panel.log_scale else {"type": "linear"},
        }
    options: dict[str, Any] = (
        {
            "legend": {"displayMode": "table", "placement": "bottom", "showLegend": True,
                       "calcs": ["lastNotNull", "max"]},
            "tooltip": {"mode": "multi", "sort": "desc"},
        }
        if panel.kind == "timeseries"
        else {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "background",
            "graphMode": "none",
            "textMode": "value_and_name",
            "orientation": "auto",
            "justifyMode": "auto",
        }
    )
    return {
        "id": panel_id,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": {"x": x, "y": y, "w": panel.width, "h": panel.height},
        "fieldConfig": {
            "defaults": {
                "unit": panel.unit,
                "custom": custom,
                "mappings": list(panel.mappings),
                "color": {"mode": "thresholds" if panel.mappings else "palette-classic"},
                "thresholds": {"mode": "absolute", "steps": [{"color": "green", "value": None}]},
            },
            "overrides": [],
        },
        "options": options,
        "targets": [
            {
                "refId": chr(ord("A") + index),
                "datasource": DATASOURCE,
                "expr": query.expr,
                "legendFormat": query.legend,
                "range": True,
            }
            for index, query in enumerate(panel.queries)
        ],
    }


def _layout() -> list[dict[str, Any]]:
    """Rows full width; panels left to right, wrapping at the grid width."""
    panels: list[dict[str, Any]] = []
    y = 0
    for row in ROWS:
        panels.append({
            "id": len(panels) + 1,
            "type": "row",
            "title": row.title,
            "collapsed": False,
            "gridPos": {"x": 0, "y": y, "w": GRID_WIDTH, "h": 1},
            "panels": [],
        })
        y += 1
        x, line_height = 0, 0
        for panel in row.panels:
            if x + panel.width > GRID_WIDTH:
                x, y, line_height = 0, y + line_height, 0
            panels.append(_panel_json(panel, len(panels) + 1, x, y))
            x += panel.width
            line_height = max(line_height, panel.height)
        y += line_height
    return panels


def dashboard() -> dict[str, Any]:
    """The complete dashboard model, as Grafana's JSON model expects it."""
    return {
        "uid": "jepa-serve",
        "title": "jepa-serve",
        "description": "Gateway, Triton, index and embedding health of a jepa-serve deployment.",
        "tags": ["jepa-serve", "triton", "embeddings"],
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "editable": True,
        "graphTooltip": 1,
        "time": {"from": "now-1h", "to": "now"},
        "refresh": "30s",
        "timezone": "",
        "annotations": {"list": []},
        "links": [],
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Prometheus",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {},
                    "hide": 0,
                    "refresh": 1,
                    "regex": "",
                    "options": [],
                }
            ]
        },
        "panels": _layout(),
    }


def render() -> str:
    return json.dumps(dashboard(), indent=2) + "\n"


if __name__ == "__main__":
    DASHBOARD_PATH.write_text(render())
    print(f"wrote {DASHBOARD_PATH}")
