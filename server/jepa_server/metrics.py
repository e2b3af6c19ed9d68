"""Prometheus metrics of the gateway (names are the contract of deploy/grafana and alerts)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from threading import Lock

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily

# From a 2 ms text call to a 30 s long video.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def effective_rank(embeddings: np.ndarray) -> float:
    """exp(entropy of the normalised singular values): ~1 for a collapsed model, up to min(N, D)."""
    singular_values = np.linalg.svd(embeddings.astype(np.float64), compute_uv=False)
    total = singular_values.sum()
    if total <= 0:
        return 0.0
    p = singular_values / total
    p = p[p > 0]
    return float(np.exp(-(p * np.log(p)).sum()))


class EmbeddingHealth:
    """Sliding window of served embeddings per model; statistics computed at scrape time.

    A collapsing model (every input maps to nearly the same vector) shows up as an effective rank
    falling towards 1 and a mean pairwise cosine rising towards 1, before users notice bad results.
    """

    def __init__(self, window: int = 512) -> None:
        self.window = window
        self._vectors: dict[str, deque[np.ndarray]] = {}
        self._lock = Lock()

    def observe(self, model: str, embeddings: np.ndarray) -> None:
        with self._lock:
            vectors = self._vectors.setdefault(model, deque(maxlen=self.window))
            vectors.extend(np.asarray(embeddings, dtype=np.float32).reshape(-1, embeddings.shape[-1]))

    def snapshot(self) -> dict[str, dict[str, float]]:
        with self._lock:
            windows = {model: np.stack(vectors) for model, vectors in self._vectors.items() if len(vectors) >= 2}
        stats = {}
        for model, matrix in windows.items():
            norms = np.linalg.norm(matrix, axis=1)
            unit = matrix / np.maximum(norms[:, None], 1e-12)
            cosine = unit @ unit.T
            count = len(matrix)
            stats[model] = {
                "norm_mean": float(norms.mean()),
                "pairwise_cosine_mean": float((cosine.sum() - np.trace(cosine)) / (count * (count - 1))),
                "effective_rank": effective_rank(unit),
            }
        return stats

    def collect(self) -> Iterator[GaugeMetricFamily]:
        snapshot = self.snapshot()
        families = {
            "norm_mean": GaugeMetricFamily("jepa_embedding_norm_mean", "Mean L2 norm of recent embeddings", labels=["model"]),
            "pairwise_cosine_mean": GaugeMetricFamily(
                "jepa_embedding_pairwise_cosine_mean", "Mean pairwise cosine of recent embeddings", labels=["model"]
            ),
            "effective_rank": GaugeMetricFamily(
                "jepa_embedding_effective_rank", "Effective rank of recent embeddings (collapse -> 1)", labels=["model"]
            ),
        }
        for model, values in snapshot.items():
            for key, family in families.items():
                family.add_metric([model], values[key])
        yield from families.values()


class GatewayMetrics:
    """All gateway metrics on one registry (one per gateway, so tests can run several)."""

    def __init__(self, health_window: int = 512) -> None:
        self.registry = CollectorRegistry()
        # `method` is the operation (the jepa.v1 RPC name, which HTTP routes reuse), `code` its status
        # as a gRPC code name whatever the protocol (so one alert covers both), `protocol` grpc or http.
        self.requests = Counter("jepa_requests", "Calls by operation, status and protocol", ["method", "code", "protocol"], registry=self.registry)
        self.request_seconds = Histogram(
            "jepa_request_duration_seconds", "Call latency", ["method", "protocol"], buckets=LATENCY_BUCKETS, registry=self.registry
        )
        self.in_flight = Gauge("jepa_requests_in_flight", "Calls being served", ["method", "protocol"], registry=self.registry)
        self.stage_seconds = Histogram(
            "jepa_stage_duration_seconds", "Latency of one pipeline stage", ["stage"], buckets=LATENCY_BUCKETS, registry=self.registry
        )
        self.frames_decoded = Counter("jepa_frames_decoded", "Video frames decoded", registry=self.registry)
        self.received_bytes = Counter("jepa_received_bytes", "Request payload bytes", ["method"], registry=self.registry)
        self.index_rows = Gauge("jepa_index_rows", "Rows in the clip index", ["collection"], registry=self.registry)
        self.triton_up = Gauge("jepa_triton_up", "1 when Triton answers its readiness probe", registry=self.registry)
        self.index_up = Gauge("jepa_index_up", "1 when the clip index (Milvus) answers the gateway's check", registry=self.registry)
        # Set by each index diagnosis (AnalyzeIndex, or the gateway's drift watch).
        self.index_effective_rank = Gauge("jepa_index_effective_rank", "Effective rank of the indexed windows (collapse -> 1)", ["collection"], registry=self.registry)
        self.index_duplicate_groups = Gauge("jepa_index_duplicate_groups", "Groups of near-duplicate videos found", ["collection"], registry=self.registry)
        self.index_drift_mmd = Gauge("jepa_index_drift_mmd", "Squared MMD between the reference and current ingestion ranges", ["collection"], registry=self.registry)
        self.index_drift_p_value = Gauge("jepa_index_drift_p_value", "Permutation p-value of the drift test (< 0.01: drifted)", ["collection"], registry=self.registry)
        self.index_drift_share_change = Gauge(
            "jepa_index_drift_share_change", "Largest change of one cluster's share of the rows between the two ranges", ["collection"], registry=self.registry
        )
        # PlanService: action sequences rolled out (every CEM sample, and each returned plan's own
        # rollout), by where the rollout ran (triton: world_rollout, gateway: world_predictor steps).
        self.plan_rollouts = Counter("jepa_plan_rollouts", "Action sequences rolled out by the world model", ["rollout"], registry=self.registry)
        for rollout in ("triton", "gateway"):  # both series exist from the start: the dashboard reads 0, not "no data"
            self.plan_rollouts.labels(rollout)
        self.plan_iterations = Counter("jepa_plan_iterations", "CEM iterations finished", registry=self.registry)
        self.embedding_health = EmbeddingHealth(health_window)
        self.registry.register(self.embedding_health)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.stage_seconds.labels(name).observe(time.perf_counter() - started)
