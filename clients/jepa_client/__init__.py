"""Python SDK of jepa-serve: sync and asyncio gRPC clients with numpy results (grpcio, protobuf, numpy only)."""

from jepa_client.aio import AsyncClient
from jepa_client.client import Client
from jepa_client.convert import IndexItem
from jepa_client.diagnosis import AnalysisProgress, AnalyzeOptions, IndexDiagnosis, TimeRange
from jepa_client.errors import (
    AlreadyExistsError,
    CancelledError,
    DeadlineExceededError,
    FailedPreconditionError,
    InternalError,
    InvalidArgumentError,
    JepaError,
    NotFoundError,
    PermissionDeniedError,
    ResourceExhaustedError,
    UnauthenticatedError,
    UnavailableError,
    UnimplementedError,
)
from jepa_client.migration import (
    ComparisonQuery,
    DropPreviousResult,
    MigrateOptions,
    MigrationReport,
    RecallComparison,
    ServingState,
)
from jepa_client.options import DEFAULT_ADDRESS, ClientOptions, TlsOptions
from jepa_client.planning import GoalEmbedding, Observation, Plan, PlanIteration, PlanOptions, PlanStep, WorldModelInfo
from jepa_client.results import (
    Caption,
    DeleteResult,
    IndexedVideo,
    IndexReport,
    IndexStats,
    ModelInfo,
    SearchHit,
    SearchResults,
    TextEmbeddings,
    VideoEmbedding,
    WindowEmbedding,
)
from jepa_client.retry import RetryPolicy
from jepa_client.rpc import Rpc

__all__ = [
    "DEFAULT_ADDRESS",
    "AlreadyExistsError",
    "AnalysisProgress",
    "AnalyzeOptions",
    "AsyncClient",
    "Caption",
    "CancelledError",
    "Client",
    "ClientOptions",
    "ComparisonQuery",
    "DeadlineExceededError",
    "DeleteResult",
    "DropPreviousResult",
    "FailedPreconditionError",
    "GoalEmbedding",
    "IndexDiagnosis",
    "IndexItem",
    "IndexReport",
    "IndexStats",
    "IndexedVideo",
    "InternalError",
    "InvalidArgumentError",
    "JepaError",
    "MigrateOptions",
    "MigrationReport",
    "ModelInfo",
    "NotFoundError",
    "Observation",
    "PermissionDeniedError",
    "Plan",
    "PlanIteration",
    "PlanOptions",
    "PlanStep",
    "RecallComparison",
    "ResourceExhaustedError",
    "RetryPolicy",
    "Rpc",
    "SearchHit",
    "SearchResults",
    "ServingState",
    "TextEmbeddings",
    "TimeRange",
    "TlsOptions",
    "UnauthenticatedError",
    "UnavailableError",
    "UnimplementedError",
    "VideoEmbedding",
    "WindowEmbedding",
    "WorldModelInfo",
]
