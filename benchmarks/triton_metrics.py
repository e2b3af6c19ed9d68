"""Triton's own counters: executions vs inferences tell the batch sizes the dynamic batcher formed."""

from __future__ import annotations

import urllib.request

from prometheus_client.parser import text_string_to_metric_families

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def inference_counts(metrics_url: str) -> dict[str, tuple[float, float]]:
    """model -> (inferences, executions) so far."""
    with _NO_PROXY.open(metrics_url, timeout=5) as response:
        text = response.read().decode()
    counts: dict[str, list[float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            name = sample.name.removesuffix("_total")
            if name in ("nv_inference_count", "nv_inference_exec_count"):
                pair = counts.setdefault(sample.labels.get("model", ""), [0.0, 0.0])
                pair[0 if name == "nv_inference_count" else 1] += sample.value
    return {model: (pair[0], pair[1]) for model, pair in counts.items()}


def mean_batch_size(before: dict[str, tuple[float, float]], after: dict[str, tuple[float, float]], model: str) -> float:
    inferences = after.get(model, (0.0, 0.0))[0] - before.get(model, (0.0, 0.0))[0]
    executions = after.get(model, (0.0, 0.0))[1] - before.get(model, (0.0, 0.0))[1]
    return round(inferences / executions, 2) if executions else 0.0
