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
