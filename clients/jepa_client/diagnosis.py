"""What `AnalyzeIndex` returns: progress while it runs, then the diagnosis of a collection's
representation space. Frozen records named and shaped like the jepa.v1 messages (see
protos/jepa/v1/retrieval.proto for what each field means), built from them by `from_message` and
written into them by `fill_message`. The server builds its diagnosis from these records too, so the
message has one Python shape on both ends."""

from __future__ import annotations

import base64
import dataclasses
import json
import typing
from dataclasses import dataclass, field
from typing import Any, TypeVar

from google.protobuf.message import Message

from jepa_client.results import ModelInfo

RecordT = TypeVar("RecordT")


@dataclass(frozen=True)
class TimeRange:
    start_unix_s: float = 0.0
    end_unix_s: float = 0.0


@dataclass(frozen=True)
class AnalyzeOptions:
    """What `AnalyzeIndex` analyses and how; 0 / "" take the server's defaults (retrieval.proto)."""

    model: str = ""
    filter: str = ""
    max_rows: int = 0
    duplicate_threshold: float = 0.0
    outlier_neighbours: int = 0
    min_cluster_size: int = 0
    captions: bool = True
    gap_threshold: float = 0.0
    # (reference, current) ingestion time ranges; None: no drift section.
    drift: tuple[TimeRange, TimeRange] | None = None
    top_outliers: int = 0
    map_points: int = 0
    seed: int = 0


@dataclass(frozen=True)
class AnalysisProgress:
    stage: str
    fraction: float
    detail: str = ""


@dataclass(frozen=True)
class WindowRef:
    video_id: str
    window_index: int
    start_seconds: float
    end_seconds: float


@dataclass(frozen=True)
class Spectrum:
    dimension: int
    effective_rank: float
    explained_variance: tuple[float, ...]
    dimensions_for_90_percent: int


@dataclass(frozen=True)
class NeighbourDistances:
    quantiles: tuple[float, ...]
    histogram_edges: tuple[float, ...]
    histogram_counts: tuple[int, ...]


@dataclass(frozen=True)
class DuplicateGroup:
    video_ids: tuple[str, ...]
    similarity: float
    thumbnails_png: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class OutlierWindow:
    window: WindowRef
    score: float


@dataclass(frozen=True)
class OutlierVideo:
    video_id: str
    score: float
    windows: int
    thumbnail_png: bytes = b""


@dataclass(frozen=True)
class Cluster:
    id: int
    windows: int
    videos: int
    caption: str
    caption_confidence: float
    radius: float
    example_video_ids: tuple[str, ...]


@dataclass(frozen=True)
class QueryGap:
    queries: tuple[str, ...]
    best_score: float
    nearest_cluster: int
    caption: str


@dataclass(frozen=True)
class QueryCoverage:
    queries_sampled: int
    threshold: float
    gaps: tuple[QueryGap, ...]
    queries_covered: int


@dataclass(frozen=True)
class ClusterShare:
    cluster: int
    reference_share: float
    current_share: float


@dataclass(frozen=True)
class Drift:
    reference: TimeRange
    current: TimeRange
    reference_rows: int
    current_rows: int
    mmd: float
    p_value: float
    permutations: int
    drifted: bool
    shares: tuple[ClusterShare, ...]


@dataclass(frozen=True)
class MapPoint:
    x: float
    y: float
    cluster: int
    outlier: bool
    video_id: str
    window_index: int


@dataclass(frozen=True)
class IndexDiagnosis:
    model: ModelInfo
    collection: str
    rows_total: int
    rows_analyzed: int
    sampled: bool
    videos_analyzed: int
    spectrum: Spectrum
    nearest_neighbours: NeighbourDistances
    duplicate_threshold: float
    duplicates: tuple[DuplicateGroup, ...]
    outlier_neighbours: int
    outlier_windows: tuple[OutlierWindow, ...]
    outlier_videos: tuple[OutlierVideo, ...]
    clusters: tuple[Cluster, ...]
    unclustered_windows: int
    coverage: QueryCoverage
    drift: Drift | None
    map: tuple[MapPoint, ...]
    seconds: float
    notes: tuple[str, ...] = field(default=())


def from_message(record: type[RecordT], message: Message) -> RecordT:
    """The record of `message`: fields by name, nested messages and repeated fields converted in
    turn; an unset optional message (`Drift | None`) becomes None."""
    hints = typing.get_type_hints(record)
    values: dict[str, Any] = {}
    for record_field in dataclasses.fields(record):  # type: ignore[arg-type]
        values[record_field.name] = _value(hints[record_field.name], message, record_field.name)
    return record(**values)


def _value(hint: Any, message: Message, name: str) -> Any:
    raw = getattr(message, name)
    arguments = typing.get_args(hint)
    if typing.get_origin(hint) is tuple:
        item = arguments[0]
        return tuple(from_message(item, element) if isinstance(item, type) and dataclasses.is_dataclass(item) else item(element) for element in raw)
    if type(None) in arguments:  # an optional nested message
        (inner,) = (argument for argument in arguments if argument is not type(None))
        return from_message(inner, raw) if message.HasField(name) else None
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return from_message(hint, raw)
    return hint(raw)


def fill_message(message: Message, record: Any) -> Message:
    """The reverse of `from_message`: `record`'s fields written into `message` (None leaves a
    nested message unset); returns `message`."""
    for record_field in dataclasses.fields(record):
        value = getattr(record, record_field.name)
        target = getattr(message, record_field.name)
        if value is None:
            continue
        if dataclasses.is_dataclass(value):
            fill_message(target, value)
        elif isinstance(value, tuple):
            if value and dataclasses.is_dataclass(value[0]):
                for element in value:
                    fill_message(target.add(), element)
            else:
                target.extend(value)
        else:
            setattr(message, record_field.name, value)
    return message


def _base64(value: object) -> str:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not JSON")


def diagnosis_json(diagnosis: IndexDiagnosis) -> str:
    """The diagnosis as one JSON document, thumbnails in base64 (`jepa diagnose --json` and the
    HTTP route both answer this)."""
    return json.dumps(dataclasses.asdict(diagnosis), default=_base64)


def analysis_event(message: Message) -> AnalysisProgress | IndexDiagnosis:
    """One message of the AnalyzeIndex stream."""
    if message.WhichOneof("event") == "diagnosis":
        return from_message(IndexDiagnosis, message.diagnosis)
    return from_message(AnalysisProgress, message.progress)
