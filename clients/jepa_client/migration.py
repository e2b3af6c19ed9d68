"""What the model-migration methods send and return (`Migrate`, `GetServing`, `SwitchServing`,
`RollbackServing`, `DropPrevious`): frozen records named and shaped like the jepa.v1 messages (see
protos/jepa/v1/retrieval.proto for what each field means), converted with the same `from_message`
and `fill_message` as the diagnosis. The server builds its report from these records too."""

from __future__ import annotations

from dataclasses import dataclass, field

from google.protobuf.message import Message

from jepa_client.diagnosis import AnalysisProgress, fill_message, from_message
from jepa_client.results import ModelInfo
from jepa_client.v1 import retrieval_pb2


@dataclass(frozen=True)
class ComparisonQuery:
    """A text query of the recall comparison: labelled with the ids of its relevant videos
    (recall@k of each collection), or not (overlap@k of the two result lists)."""

    text: str
    relevant_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class MigrateOptions:
    """What `Migrate` does: `to_model` is required; "" / 0 take the server's defaults."""

    to_model: str
    from_model: str = ""
    queries: tuple[ComparisonQuery, ...] = ()
    top_k: int = 0
    switch: bool = False


@dataclass(frozen=True)
class FailedVideo:
    id: str
    code: int
    error: str


@dataclass(frozen=True)
class RecallSide:
    model: ModelInfo
    collection: str
    text_model: str
    measured: bool
    recall_at_k: float


@dataclass(frozen=True)
class RecallComparison:
    top_k: int
    labelled_queries: int
    unlabelled_queries: int
    source: RecallSide
    target: RecallSide
    overlap_at_k: float
    notes: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class ServingState:
    model: ModelInfo
    collection: str
    switched: bool
    previous_collection: str
    previous_model: str
    alias: str


@dataclass(frozen=True)
class MigrationReport:
    source_model: ModelInfo
    source_collection: str
    target_model: ModelInfo
    target_collection: str
    source_videos: int
    copied: int
    up_to_date: int
    removed: int
    not_reindexable: int
    not_reindexable_ids: tuple[str, ...]
    failures: int
    failed: tuple[FailedVideo, ...]
    passes: int
    comparison: RecallComparison | None
    switched: bool
    serving: ServingState
    seconds: float
    notes: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class DropPreviousResult:
    dropped_collection: str
    serving: ServingState


def migrate_request(options: MigrateOptions) -> retrieval_pb2.MigrateRequest:
    request = retrieval_pb2.MigrateRequest()
    fill_message(request, options)
    return request


def migrate_event(message: Message) -> AnalysisProgress | MigrationReport:
    """One message of the Migrate stream."""
    if message.WhichOneof("event") == "report":
        return from_message(MigrationReport, message.report)
    return from_message(AnalysisProgress, message.progress)


def serving_state(message: Message) -> ServingState:
    return from_message(ServingState, message)


def drop_previous_result(message: Message) -> DropPreviousResult:
    return from_message(DropPreviousResult, message)
