"""Read values out of Prometheus text exposition (Triton's and the gateway's /metrics)."""

from __future__ import annotations

import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode()


def sample_value(text: str, name: str, **labels: str) -> float:
    """Sum of the samples called `name` whose labels include `labels`. The parser renames
    counters that lack the `_total` suffix (Triton's), so both spellings match."""
    names = {name, f"{name}_total"}
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in names and all(sample.labels.get(key) == value for key, value in labels.items()):
                total += sample.value
    return total
