from jepa_client.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class IndexVideosRequest(_message.Message):
    __slots__ = ("id", "video", "metadata_json", "model")
    ID_FIELD_NUMBER: _ClassVar[int]
    VIDEO_FIELD_NUMBER: _ClassVar[int]
    METADATA_JSON_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    id: str
    video: _common_pb2.VideoInput
    metadata_json: str
    model: str
    def __init__(self, id: _Optional[str] = ..., video: _Optional[_Union[_common_pb2.VideoInput, _Mapping]] = ..., metadata_json: _Optional[str] = ..., model: _Optional[str] = ...) -> None: ...

class IndexedVideo(_message.Message):
    __slots__ = ("id", "code", "error", "num_windows", "duration_seconds", "collection")
    ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    NUM_WINDOWS_FIELD_NUMBER: _ClassVar[int]
    DURATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    id: str
    code: int
    error: str
    num_windows: int
    duration_seconds: float
    collection: str
    def __init__(self, id: _Optional[str] = ..., code: _Optional[int] = ..., error: _Optional[str] = ..., num_windows: _Optional[int] = ..., duration_seconds: _Optional[float] = ..., collection: _Optional[str] = ...) -> None: ...

class IndexVideosResponse(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[IndexedVideo]
    def __init__(self, items: _Optional[_Iterable[_Union[IndexedVideo, _Mapping]]] = ...) -> None: ...

class SearchRequest(_message.Message):
    __slots__ = ("text", "video", "embedding", "top_k", "filter", "model", "text_model", "moments")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    VIDEO_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_FIELD_NUMBER: _ClassVar[int]
    TOP_K_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    TEXT_MODEL_FIELD_NUMBER: _ClassVar[int]
    MOMENTS_FIELD_NUMBER: _ClassVar[int]
    text: str
    video: _common_pb2.VideoInput
    embedding: _common_pb2.Embedding
    top_k: int
    filter: str
    model: str
    text_model: str
    moments: bool
    def __init__(self, text: _Optional[str] = ..., video: _Optional[_Union[_common_pb2.VideoInput, _Mapping]] = ..., embedding: _Optional[_Union[_common_pb2.Embedding, _Mapping]] = ..., top_k: _Optional[int] = ..., filter: _Optional[str] = ..., model: _Optional[str] = ..., text_model: _Optional[str] = ..., moments: _Optional[bool] = ...) -> None: ...

class SearchHit(_message.Message):
    __slots__ = ("video_id", "score", "window_index", "start_seconds", "end_seconds", "metadata_json", "moment_start_seconds", "moment_end_seconds")
    VIDEO_ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    WINDOW_INDEX_FIELD_NUMBER: _ClassVar[int]
    START_SECONDS_FIELD_NUMBER: _ClassVar[int]
    END_SECONDS_FIELD_NUMBER: _ClassVar[int]
    METADATA_JSON_FIELD_NUMBER: _ClassVar[int]
    MOMENT_START_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MOMENT_END_SECONDS_FIELD_NUMBER: _ClassVar[int]
    video_id: str
    score: float
    window_index: int
    start_seconds: float
    end_seconds: float
    metadata_json: str
    moment_start_seconds: float
    moment_end_seconds: float
    def __init__(self, video_id: _Optional[str] = ..., score: _Optional[float] = ..., window_index: _Optional[int] = ..., start_seconds: _Optional[float] = ..., end_seconds: _Optional[float] = ..., metadata_json: _Optional[str] = ..., moment_start_seconds: _Optional[float] = ..., moment_end_seconds: _Optional[float] = ...) -> None: ...

class SearchResponse(_message.Message):
    __slots__ = ("model", "collection", "hits")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    HITS_FIELD_NUMBER: _ClassVar[int]
    model: _common_pb2.ModelInfo
    collection: str
    hits: _containers.RepeatedCompositeFieldContainer[SearchHit]
    def __init__(self, model: _Optional[_Union[_common_pb2.ModelInfo, _Mapping]] = ..., collection: _Optional[str] = ..., hits: _Optional[_Iterable[_Union[SearchHit, _Mapping]]] = ...) -> None: ...

class DeleteVideosRequest(_message.Message):
    __slots__ = ("ids", "model")
    IDS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    ids: _containers.RepeatedScalarFieldContainer[str]
    model: str
    def __init__(self, ids: _Optional[_Iterable[str]] = ..., model: _Optional[str] = ...) -> None: ...

class DeleteVideosResponse(_message.Message):
    __slots__ = ("deleted_ids", "rows_deleted")
    DELETED_IDS_FIELD_NUMBER: _ClassVar[int]
    ROWS_DELETED_FIELD_NUMBER: _ClassVar[int]
    deleted_ids: _containers.RepeatedScalarFieldContainer[str]
    rows_deleted: int
    def __init__(self, deleted_ids: _Optional[_Iterable[str]] = ..., rows_deleted: _Optional[int] = ...) -> None: ...

class GetIndexStatsRequest(_message.Message):
    __slots__ = ("model", "ids")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    IDS_FIELD_NUMBER: _ClassVar[int]
    model: str
    ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, model: _Optional[str] = ..., ids: _Optional[_Iterable[str]] = ...) -> None: ...

class GetIndexStatsResponse(_message.Message):
    __slots__ = ("model", "collection", "rows", "videos", "indexed_ids", "backend", "index_type")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    VIDEOS_FIELD_NUMBER: _ClassVar[int]
    INDEXED_IDS_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    INDEX_TYPE_FIELD_NUMBER: _ClassVar[int]
    model: _common_pb2.ModelInfo
    collection: str
    rows: int
    videos: int
    indexed_ids: _containers.RepeatedScalarFieldContainer[str]
    backend: str
    index_type: str
    def __init__(self, model: _Optional[_Union[_common_pb2.ModelInfo, _Mapping]] = ..., collection: _Optional[str] = ..., rows: _Optional[int] = ..., videos: _Optional[int] = ..., indexed_ids: _Optional[_Iterable[str]] = ..., backend: _Optional[str] = ..., index_type: _Optional[str] = ...) -> None: ...

class TimeRange(_message.Message):
    __slots__ = ("start_unix_s", "end_unix_s")
    START_UNIX_S_FIELD_NUMBER: _ClassVar[int]
    END_UNIX_S_FIELD_NUMBER: _ClassVar[int]
    start_unix_s: float
    end_unix_s: float
    def __init__(self, start_unix_s: _Optional[float] = ..., end_unix_s: _Optional[float] = ...) -> None: ...

class AnalyzeIndexRequest(_message.Message):
    __slots__ = ("model", "filter", "max_rows", "duplicate_threshold", "outlier_neighbours", "min_cluster_size", "captions", "gap_threshold", "drift_reference", "drift_current", "top_outliers", "map_points", "seed")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    MAX_ROWS_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    OUTLIER_NEIGHBOURS_FIELD_NUMBER: _ClassVar[int]
    MIN_CLUSTER_SIZE_FIELD_NUMBER: _ClassVar[int]
    CAPTIONS_FIELD_NUMBER: _ClassVar[int]
    GAP_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    DRIFT_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    DRIFT_CURRENT_FIELD_NUMBER: _ClassVar[int]
    TOP_OUTLIERS_FIELD_NUMBER: _ClassVar[int]
    MAP_POINTS_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    model: str
    filter: str
    max_rows: int
    duplicate_threshold: float
    outlier_neighbours: int
    min_cluster_size: int
    captions: bool
    gap_threshold: float
    drift_reference: TimeRange
    drift_current: TimeRange
    top_outliers: int
    map_points: int
    seed: int
    def __init__(self, model: _Optional[str] = ..., filter: _Optional[str] = ..., max_rows: _Optional[int] = ..., duplicate_threshold: _Optional[float] = ..., outlier_neighbours: _Optional[int] = ..., min_cluster_size: _Optional[int] = ..., captions: _Optional[bool] = ..., gap_threshold: _Optional[float] = ..., drift_reference: _Optional[_Union[TimeRange, _Mapping]] = ..., drift_current: _Optional[_Union[TimeRange, _Mapping]] = ..., top_outliers: _Optional[int] = ..., map_points: _Optional[int] = ..., seed: _Optional[int] = ...) -> None: ...

class AnalyzeIndexEvent(_message.Message):
    __slots__ = ("progress", "diagnosis")
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    DIAGNOSIS_FIELD_NUMBER: _ClassVar[int]
    progress: AnalysisProgress
    diagnosis: IndexDiagnosis
    def __init__(self, progress: _Optional[_Union[AnalysisProgress, _Mapping]] = ..., diagnosis: _Optional[_Union[IndexDiagnosis, _Mapping]] = ...) -> None: ...

class AnalysisProgress(_message.Message):
    __slots__ = ("stage", "fraction", "detail")
    STAGE_FIELD_NUMBER: _ClassVar[int]
    FRACTION_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    stage: str
    fraction: float
    detail: str
    def __init__(self, stage: _Optional[str] = ..., fraction: _Optional[float] = ..., detail: _Optional[str] = ...) -> None: ...

class WindowRef(_message.Message):
    __slots__ = ("video_id", "window_index", "start_seconds", "end_seconds")
    VIDEO_ID_FIELD_NUMBER: _ClassVar[int]
    WINDOW_INDEX_FIELD_NUMBER: _ClassVar[int]
    START_SECONDS_FIELD_NUMBER: _ClassVar[int]
    END_SECONDS_FIELD_NUMBER: _ClassVar[int]
    video_id: str
    window_index: int
    start_seconds: float
    end_seconds: float
    def __init__(self, video_id: _Optional[str] = ..., window_index: _Optional[int] = ..., start_seconds: _Optional[float] = ..., end_seconds: _Optional[float] = ...) -> None: ...

class Spectrum(_message.Message):
    __slots__ = ("dimension", "effective_rank", "explained_variance", "dimensions_for_90_percent")
    DIMENSION_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_RANK_FIELD_NUMBER: _ClassVar[int]
    EXPLAINED_VARIANCE_FIELD_NUMBER: _ClassVar[int]
    DIMENSIONS_FOR_90_PERCENT_FIELD_NUMBER: _ClassVar[int]
    dimension: int
    effective_rank: float
    explained_variance: _containers.RepeatedScalarFieldContainer[float]
    dimensions_for_90_percent: int
    def __init__(self, dimension: _Optional[int] = ..., effective_rank: _Optional[float] = ..., explained_variance: _Optional[_Iterable[float]] = ..., dimensions_for_90_percent: _Optional[int] = ...) -> None: ...

class NeighbourDistances(_message.Message):
    __slots__ = ("quantiles", "histogram_edges", "histogram_counts")
    QUANTILES_FIELD_NUMBER: _ClassVar[int]
    HISTOGRAM_EDGES_FIELD_NUMBER: _ClassVar[int]
    HISTOGRAM_COUNTS_FIELD_NUMBER: _ClassVar[int]
    quantiles: _containers.RepeatedScalarFieldContainer[float]
    histogram_edges: _containers.RepeatedScalarFieldContainer[float]
    histogram_counts: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, quantiles: _Optional[_Iterable[float]] = ..., histogram_edges: _Optional[_Iterable[float]] = ..., histogram_counts: _Optional[_Iterable[int]] = ...) -> None: ...

class DuplicateGroup(_message.Message):
    __slots__ = ("video_ids", "similarity", "thumbnails_png")
    VIDEO_IDS_FIELD_NUMBER: _ClassVar[int]
    SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    THUMBNAILS_PNG_FIELD_NUMBER: _ClassVar[int]
    video_ids: _containers.RepeatedScalarFieldContainer[str]
    similarity: float
    thumbnails_png: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, video_ids: _Optional[_Iterable[str]] = ..., similarity: _Optional[float] = ..., thumbnails_png: _Optional[_Iterable[bytes]] = ...) -> None: ...

class OutlierWindow(_message.Message):
    __slots__ = ("window", "score")
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    window: WindowRef
    score: float
    def __init__(self, window: _Optional[_Union[WindowRef, _Mapping]] = ..., score: _Optional[float] = ...) -> None: ...

class OutlierVideo(_message.Message):
    __slots__ = ("video_id", "score", "windows", "thumbnail_png")
    VIDEO_ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    WINDOWS_FIELD_NUMBER: _ClassVar[int]
    THUMBNAIL_PNG_FIELD_NUMBER: _ClassVar[int]
    video_id: str
    score: float
    windows: int
    thumbnail_png: bytes
    def __init__(self, video_id: _Optional[str] = ..., score: _Optional[float] = ..., windows: _Optional[int] = ..., thumbnail_png: _Optional[bytes] = ...) -> None: ...

class Cluster(_message.Message):
    __slots__ = ("id", "windows", "videos", "caption", "caption_confidence", "radius", "example_video_ids")
    ID_FIELD_NUMBER: _ClassVar[int]
    WINDOWS_FIELD_NUMBER: _ClassVar[int]
    VIDEOS_FIELD_NUMBER: _ClassVar[int]
    CAPTION_FIELD_NUMBER: _ClassVar[int]
    CAPTION_CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    RADIUS_FIELD_NUMBER: _ClassVar[int]
    EXAMPLE_VIDEO_IDS_FIELD_NUMBER: _ClassVar[int]
    id: int
    windows: int
    videos: int
    caption: str
    caption_confidence: float
    radius: float
    example_video_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[int] = ..., windows: _Optional[int] = ..., videos: _Optional[int] = ..., caption: _Optional[str] = ..., caption_confidence: _Optional[float] = ..., radius: _Optional[float] = ..., example_video_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class QueryGap(_message.Message):
    __slots__ = ("queries", "best_score", "nearest_cluster", "caption")
    QUERIES_FIELD_NUMBER: _ClassVar[int]
    BEST_SCORE_FIELD_NUMBER: _ClassVar[int]
    NEAREST_CLUSTER_FIELD_NUMBER: _ClassVar[int]
    CAPTION_FIELD_NUMBER: _ClassVar[int]
    queries: _containers.RepeatedScalarFieldContainer[str]
    best_score: float
    nearest_cluster: int
    caption: str
    def __init__(self, queries: _Optional[_Iterable[str]] = ..., best_score: _Optional[float] = ..., nearest_cluster: _Optional[int] = ..., caption: _Optional[str] = ...) -> None: ...

class QueryCoverage(_message.Message):
    __slots__ = ("queries_sampled", "threshold", "gaps", "queries_covered")
    QUERIES_SAMPLED_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    GAPS_FIELD_NUMBER: _ClassVar[int]
    QUERIES_COVERED_FIELD_NUMBER: _ClassVar[int]
    queries_sampled: int
    threshold: float
    gaps: _containers.RepeatedCompositeFieldContainer[QueryGap]
    queries_covered: int
    def __init__(self, queries_sampled: _Optional[int] = ..., threshold: _Optional[float] = ..., gaps: _Optional[_Iterable[_Union[QueryGap, _Mapping]]] = ..., queries_covered: _Optional[int] = ...) -> None: ...

class ClusterShare(_message.Message):
    __slots__ = ("cluster", "reference_share", "current_share")
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_SHARE_FIELD_NUMBER: _ClassVar[int]
    CURRENT_SHARE_FIELD_NUMBER: _ClassVar[int]
    cluster: int
    reference_share: float
    current_share: float
    def __init__(self, cluster: _Optional[int] = ..., reference_share: _Optional[float] = ..., current_share: _Optional[float] = ...) -> None: ...

class Drift(_message.Message):
    __slots__ = ("reference", "current", "reference_rows", "current_rows", "mmd", "p_value", "permutations", "drifted", "shares")
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_ROWS_FIELD_NUMBER: _ClassVar[int]
    CURRENT_ROWS_FIELD_NUMBER: _ClassVar[int]
    MMD_FIELD_NUMBER: _ClassVar[int]
    P_VALUE_FIELD_NUMBER: _ClassVar[int]
    PERMUTATIONS_FIELD_NUMBER: _ClassVar[int]
    DRIFTED_FIELD_NUMBER: _ClassVar[int]
    SHARES_FIELD_NUMBER: _ClassVar[int]
    reference: TimeRange
    current: TimeRange
    reference_rows: int
    current_rows: int
    mmd: float
    p_value: float
    permutations: int
    drifted: bool
    shares: _containers.RepeatedCompositeFieldContainer[ClusterShare]
    def __init__(self, reference: _Optional[_Union[TimeRange, _Mapping]] = ..., current: _Optional[_Union[TimeRange, _Mapping]] = ..., reference_rows: _Optional[int] = ..., current_rows: _Optional[int] = ..., mmd: _Optional[float] = ..., p_value: _Optional[float] = ..., permutations: _Optional[int] = ..., drifted: _Optional[bool] = ..., shares: _Optional[_Iterable[_Union[ClusterShare, _Mapping]]] = ...) -> None: ...

class MapPoint(_message.Message):
    __slots__ = ("x", "y", "cluster", "outlier", "video_id", "window_index")
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    OUTLIER_FIELD_NUMBER: _ClassVar[int]
    VIDEO_ID_FIELD_NUMBER: _ClassVar[int]
    WINDOW_INDEX_FIELD_NUMBER: _ClassVar[int]
    x: float
    y: float
    cluster: int
    outlier: bool
    video_id: str
    window_index: int
    def __init__(self, x: _Optional[float] = ..., y: _Optional[float] = ..., cluster: _Optional[int] = ..., outlier: _Optional[bool] = ..., video_id: _Optional[str] = ..., window_index: _Optional[int] = ...) -> None: ...

class IndexDiagnosis(_message.Message):
    __slots__ = ("model", "collection", "rows_total", "rows_analyzed", "sampled", "videos_analyzed", "spectrum", "nearest_neighbours", "duplicate_threshold", "duplicates", "outlier_neighbours", "outlier_windows", "outlier_videos", "clusters", "unclustered_windows", "coverage", "drift", "map", "seconds", "notes")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    ROWS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    ROWS_ANALYZED_FIELD_NUMBER: _ClassVar[int]
    SAMPLED_FIELD_NUMBER: _ClassVar[int]
    VIDEOS_ANALYZED_FIELD_NUMBER: _ClassVar[int]
    SPECTRUM_FIELD_NUMBER: _ClassVar[int]
    NEAREST_NEIGHBOURS_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    OUTLIER_NEIGHBOURS_FIELD_NUMBER: _ClassVar[int]
    OUTLIER_WINDOWS_FIELD_NUMBER: _ClassVar[int]
    OUTLIER_VIDEOS_FIELD_NUMBER: _ClassVar[int]
    CLUSTERS_FIELD_NUMBER: _ClassVar[int]
    UNCLUSTERED_WINDOWS_FIELD_NUMBER: _ClassVar[int]
    COVERAGE_FIELD_NUMBER: _ClassVar[int]
    DRIFT_FIELD_NUMBER: _ClassVar[int]
    MAP_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    model: _common_pb2.ModelInfo
    collection: str
    rows_total: int
    rows_analyzed: int
    sampled: bool
    videos_analyzed: int
    spectrum: Spectrum
    nearest_neighbours: NeighbourDistances
    duplicate_threshold: float
    duplicates: _containers.RepeatedCompositeFieldContainer[DuplicateGroup]
    outlier_neighbours: int
    outlier_windows: _containers.RepeatedCompositeFieldContainer[OutlierWindow]
    outlier_videos: _containers.RepeatedCompositeFieldContainer[OutlierVideo]
    clusters: _containers.RepeatedCompositeFieldContainer[Cluster]
    unclustered_windows: int
    coverage: QueryCoverage
    drift: Drift
    map: _containers.RepeatedCompositeFieldContainer[MapPoint]
    seconds: float
    notes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, model: _Optional[_Union[_common_pb2.ModelInfo, _Mapping]] = ..., collection: _Optional[str] = ..., rows_total: _Optional[int] = ..., rows_analyzed: _Optional[int] = ..., sampled: _Optional[bool] = ..., videos_analyzed: _Optional[int] = ..., spectrum: _Optional[_Union[Spectrum, _Mapping]] = ..., nearest_neighbours: _Optional[_Union[NeighbourDistances, _Mapping]] = ..., duplicate_threshold: _Optional[float] = ..., duplicates: _Optional[_Iterable[_Union[DuplicateGroup, _Mapping]]] = ..., outlier_neighbours: _Optional[int] = ..., outlier_windows: _Optional[_Iterable[_Union[OutlierWindow, _Mapping]]] = ..., outlier_videos: _Optional[_Iterable[_Union[OutlierVideo, _Mapping]]] = ..., clusters: _Optional[_Iterable[_Union[Cluster, _Mapping]]] = ..., unclustered_windows: _Optional[int] = ..., coverage: _Optional[_Union[QueryCoverage, _Mapping]] = ..., drift: _Optional[_Union[Drift, _Mapping]] = ..., map: _Optional[_Iterable[_Union[MapPoint, _Mapping]]] = ..., seconds: _Optional[float] = ..., notes: _Optional[_Iterable[str]] = ...) -> None: ...

class ComparisonQuery(_message.Message):
    __slots__ = ("text", "relevant_ids")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    RELEVANT_IDS_FIELD_NUMBER: _ClassVar[int]
    text: str
    relevant_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, text: _Optional[str] = ..., relevant_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class MigrateRequest(_message.Message):
    __slots__ = ("to_model", "from_model", "queries", "top_k", "switch")
    TO_MODEL_FIELD_NUMBER: _ClassVar[int]
    FROM_MODEL_FIELD_NUMBER: _ClassVar[int]
    QUERIES_FIELD_NUMBER: _ClassVar[int]
    TOP_K_FIELD_NUMBER: _ClassVar[int]
    SWITCH_FIELD_NUMBER: _ClassVar[int]
    to_model: str
    from_model: str
    queries: _containers.RepeatedCompositeFieldContainer[ComparisonQuery]
    top_k: int
    switch: bool
    def __init__(self, to_model: _Optional[str] = ..., from_model: _Optional[str] = ..., queries: _Optional[_Iterable[_Union[ComparisonQuery, _Mapping]]] = ..., top_k: _Optional[int] = ..., switch: _Optional[bool] = ...) -> None: ...

class MigrateEvent(_message.Message):
    __slots__ = ("progress", "report")
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    REPORT_FIELD_NUMBER: _ClassVar[int]
    progress: AnalysisProgress
    report: MigrationReport
    def __init__(self, progress: _Optional[_Union[AnalysisProgress, _Mapping]] = ..., report: _Optional[_Union[MigrationReport, _Mapping]] = ...) -> None: ...

class FailedVideo(_message.Message):
    __slots__ = ("id", "code", "error")
    ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    id: str
    code: int
    error: str
    def __init__(self, id: _Optional[str] = ..., code: _Optional[int] = ..., error: _Optional[str] = ...) -> None: ...

class RecallSide(_message.Message):
    __slots__ = ("model", "collection", "text_model", "measured", "recall_at_k")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    TEXT_MODEL_FIELD_NUMBER: _ClassVar[int]
    MEASURED_FIELD_NUMBER: _ClassVar[int]
    RECALL_AT_K_FIELD_NUMBER: _ClassVar[int]
    model: _common_pb2.ModelInfo
    collection: str
    text_model: str
    measured: bool
    recall_at_k: float
    def __init__(self, model: _Optional[_Union[_common_pb2.ModelInfo, _Mapping]] = ..., collection: _Optional[str] = ..., text_model: _Optional[str] = ..., measured: _Optional[bool] = ..., recall_at_k: _Optional[float] = ...) -> None: ...

class RecallComparison(_message.Message):
    __slots__ = ("top_k", "labelled_queries", "unlabelled_queries", "source", "target", "overlap_at_k", "notes")
    TOP_K_FIELD_NUMBER: _ClassVar[int]
    LABELLED_QUERIES_FIELD_NUMBER: _ClassVar[int]
    UNLABELLED_QUERIES_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    OVERLAP_AT_K_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    top_k: int
    labelled_queries: int
    unlabelled_queries: int
    source: RecallSide
    target: RecallSide
    overlap_at_k: float
    notes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, top_k: _Optional[int] = ..., labelled_queries: _Optional[int] = ..., unlabelled_queries: _Optional[int] = ..., source: _Optional[_Union[RecallSide, _Mapping]] = ..., target: _Optional[_Union[RecallSide, _Mapping]] = ..., overlap_at_k: _Optional[float] = ..., notes: _Optional[_Iterable[str]] = ...) -> None: ...

class ServingState(_message.Message):
    __slots__ = ("model", "collection", "switched", "previous_collection", "previous_model", "alias")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    SWITCHED_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_COLLECTION_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_MODEL_FIELD_NUMBER: _ClassVar[int]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    model: _common_pb2.ModelInfo
    collection: str
    switched: bool
    previous_collection: str
    previous_model: str
    alias: str
    def __init__(self, model: _Optional[_Union[_common_pb2.ModelInfo, _Mapping]] = ..., collection: _Optional[str] = ..., switched: _Optional[bool] = ..., previous_collection: _Optional[str] = ..., previous_model: _Optional[str] = ..., alias: _Optional[str] = ...) -> None: ...

class MigrationReport(_message.Message):
    __slots__ = ("source_model", "source_collection", "target_model", "target_collection", "source_videos", "copied", "up_to_date", "removed", "not_reindexable", "not_reindexable_ids", "failures", "failed", "passes", "comparison", "switched", "serving", "seconds", "notes")
    SOURCE_MODEL_FIELD_NUMBER: _ClassVar[int]
    SOURCE_COLLECTION_FIELD_NUMBER: _ClassVar[int]
    TARGET_MODEL_FIELD_NUMBER: _ClassVar[int]
    TARGET_COLLECTION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_VIDEOS_FIELD_NUMBER: _ClassVar[int]
    COPIED_FIELD_NUMBER: _ClassVar[int]
    UP_TO_DATE_FIELD_NUMBER: _ClassVar[int]
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    NOT_REINDEXABLE_FIELD_NUMBER: _ClassVar[int]
    NOT_REINDEXABLE_IDS_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    PASSES_FIELD_NUMBER: _ClassVar[int]
    COMPARISON_FIELD_NUMBER: _ClassVar[int]
    SWITCHED_FIELD_NUMBER: _ClassVar[int]
    SERVING_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    source_model: _common_pb2.ModelInfo
    source_collection: str
    target_model: _common_pb2.ModelInfo
    target_collection: str
    source_videos: int
    copied: int
    up_to_date: int
    removed: int
    not_reindexable: int
    not_reindexable_ids: _containers.RepeatedScalarFieldContainer[str]
    failures: int
    failed: _containers.RepeatedCompositeFieldContainer[FailedVideo]
    passes: int
    comparison: RecallComparison
    switched: bool
    serving: ServingState
    seconds: float
    notes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, source_model: _Optional[_Union[_common_pb2.ModelInfo, _Mapping]] = ..., source_collection: _Optional[str] = ..., target_model: _Optional[_Union[_common_pb2.ModelInfo, _Mapping]] = ..., target_collection: _Optional[str] = ..., source_videos: _Optional[int] = ..., copied: _Optional[int] = ..., up_to_date: _Optional[int] = ..., removed: _Optional[int] = ..., not_reindexable: _Optional[int] = ..., not_reindexable_ids: _Optional[_Iterable[str]] = ..., failures: _Optional[int] = ..., failed: _Optional[_Iterable[_Union[FailedVideo, _Mapping]]] = ..., passes: _Optional[int] = ..., comparison: _Optional[_Union[RecallComparison, _Mapping]] = ..., switched: _Optional[bool] = ..., serving: _Optional[_Union[ServingState, _Mapping]] = ..., seconds: _Optional[float] = ..., notes: _Optional[_Iterable[str]] = ...) -> None: ...

class GetServingRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SwitchServingRequest(_message.Message):
    __slots__ = ("model",)
    MODEL_FIELD_NUMBER: _ClassVar[int]
    model: str
    def __init__(self, model: _Optional[str] = ...) -> None: ...

class RollbackServingRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DropPreviousRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DropPreviousResponse(_message.Message):
    __slots__ = ("dropped_collection", "serving")
    DROPPED_COLLECTION_FIELD_NUMBER: _ClassVar[int]
    SERVING_FIELD_NUMBER: _ClassVar[int]
    dropped_collection: str
    serving: ServingState
    def __init__(self, dropped_collection: _Optional[str] = ..., serving: _Optional[_Union[ServingState, _Mapping]] = ...) -> None: ...
