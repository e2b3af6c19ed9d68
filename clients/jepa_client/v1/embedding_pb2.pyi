from jepa_client.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EmbedVideoRequest(_message.Message):
    __slots__ = ("video", "model", "return_windows")
    VIDEO_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    RETURN_WINDOWS_FIELD_NUMBER: _ClassVar[int]
    video: _common_pb2.VideoInput
    model: str
    return_windows: bool
    def __init__(self, video: _Optional[_Union[_common_pb2.VideoInput, _Mapping]] = ..., model: _Optional[str] = ..., return_windows: _Optional[bool] = ...) -> None: ...

class EmbedVideoResponse(_message.Message):
    __slots__ = ("model", "embedding", "windows", "frames_decoded", "num_windows", "duration_seconds")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_FIELD_NUMBER: _ClassVar[int]
    WINDOWS_FIELD_NUMBER: _ClassVar[int]
    FRAMES_DECODED_FIELD_NUMBER: _ClassVar[int]
    NUM_WINDOWS_FIELD_NUMBER: _ClassVar[int]
    DURATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    model: _common_pb2.ModelInfo
    embedding: _common_pb2.Embedding
    windows: _containers.RepeatedCompositeFieldContainer[_common_pb2.WindowEmbedding]
    frames_decoded: int
    num_windows: int
    duration_seconds: float
    def __init__(self, model: _Optional[_Union[_common_pb2.ModelInfo, _Mapping]] = ..., embedding: _Optional[_Union[_common_pb2.Embedding, _Mapping]] = ..., windows: _Optional[_Iterable[_Union[_common_pb2.WindowEmbedding, _Mapping]]] = ..., frames_decoded: _Optional[int] = ..., num_windows: _Optional[int] = ..., duration_seconds: _Optional[float] = ...) -> None: ...

class EmbedTextRequest(_message.Message):
    __slots__ = ("texts", "model")
    TEXTS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    texts: _containers.RepeatedScalarFieldContainer[str]
    model: str
    def __init__(self, texts: _Optional[_Iterable[str]] = ..., model: _Optional[str] = ...) -> None: ...

class EmbedTextResponse(_message.Message):
    __slots__ = ("model", "embeddings")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    EMBEDDINGS_FIELD_NUMBER: _ClassVar[int]
    model: _common_pb2.ModelInfo
    embeddings: _containers.RepeatedCompositeFieldContainer[_common_pb2.Embedding]
    def __init__(self, model: _Optional[_Union[_common_pb2.ModelInfo, _Mapping]] = ..., embeddings: _Optional[_Iterable[_Union[_common_pb2.Embedding, _Mapping]]] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models",)
    MODELS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[_common_pb2.ModelInfo]
    def __init__(self, models: _Optional[_Iterable[_Union[_common_pb2.ModelInfo, _Mapping]]] = ...) -> None: ...

class EmbedVideoChunk(_message.Message):
    __slots__ = ("data", "model", "return_windows", "sampling")
    DATA_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    RETURN_WINDOWS_FIELD_NUMBER: _ClassVar[int]
    SAMPLING_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    model: str
    return_windows: bool
    sampling: _common_pb2.Sampling
    def __init__(self, data: _Optional[bytes] = ..., model: _Optional[str] = ..., return_windows: _Optional[bool] = ..., sampling: _Optional[_Union[_common_pb2.Sampling, _Mapping]] = ...) -> None: ...
