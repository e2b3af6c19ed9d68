"""What the HTTP front end shares with the gRPC one: the same core objects, limits, tokens and
metrics of the one gateway process (so there is one Milvus Lite client and one admission limit)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from jepa_server.admission import Admission
from jepa_server.core.diagnostics.analyzer import IndexAnalyzer
from jepa_server.core.embedding import Embedder
from jepa_server.core.planning import Planner
from jepa_server.core.retrieval import Retriever
from jepa_server.metrics import GatewayMetrics
from jepa_server.settings import Settings
from jepa_server.tokens import TokenGrant


@dataclass(frozen=True)
class ApiContext:
    settings: Settings
    embedder: Embedder
    retriever: Retriever
    analyzer: IndexAnalyzer
    planner: Planner
    metrics: GatewayMetrics
    admission: Admission
    grants: tuple[TokenGrant, ...]
    # Service name -> serving, as gRPC health publishes it ("" is the whole server).
    readiness: Callable[[], dict[str, bool]]
