from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Frames(_message.Message):
    __slots__ = ("data", "num_frames", "height", "width", "fps")
    DATA_FIELD_NUMBER: _ClassVar[int]
    NUM_FRAMES_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    FPS_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    num_frames: int
    height: int
    width: int
    fps: float
    def __init__(self, data: _Optional[bytes] = ..., num_frames: _Optional[int] = ..., height: _Optional[int] = ..., width: _Optional[int] = ..., fps: _Optional[float] = ...) -> None: ...

class Sampling(_message.Message):
    __slots__ = ("frames_per_clip", "frame_step", "fps", "window_stride", "max_windows")
    FRAMES_PER_CLIP_FIELD_NUMBER: _ClassVar[int]
    FRAME_STEP_FIELD_NUMBER: _ClassVar[int]
    FPS_FIELD_NUMBER: _ClassVar[int]
    WINDOW_STRIDE_FIELD_NUMBER: _ClassVar[int]
    MAX_WINDOWS_FIELD_NUMBER: _ClassVar[int]
    frames_per_clip: int
    frame_step: int
    fps: float
    window_stride: int
    max_windows: int
    def __init__(self, frames_per_clip: _Optional[int] = ..., frame_step: _Optional[int] = ..., fps: _Optional[float] = ..., window_stride: _Optional[int] = ..., max_windows: _Optional[int] = ...) -> None: ...

class VideoInput(_message.Message):
    __slots__ = ("encoded", "frames", "uri", "sampling")
    ENCODED_FIELD_NUMBER: _ClassVar[int]
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    URI_FIELD_NUMBER: _ClassVar[int]
    SAMPLING_FIELD_NUMBER: _ClassVar[int]
    encoded: bytes
    frames: Frames
    uri: str
    sampling: Sampling
    def __init__(self, encoded: _Optional[bytes] = ..., frames: _Optional[_Union[Frames, _Mapping]] = ..., uri: _Optional[str] = ..., sampling: _Optional[_Union[Sampling, _Mapping]] = ...) -> None: ...

class Embedding(_message.Message):
    __slots__ = ("values",)
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, values: _Optional[_Iterable[float]] = ...) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ("name", "version", "dimension", "embedding_space", "role", "world_space")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DIMENSION_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_SPACE_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    WORLD_SPACE_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    dimension: int
    embedding_space: str
    role: str
    world_space: str
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., dimension: _Optional[int] = ..., embedding_space: _Optional[str] = ..., role: _Optional[str] = ..., world_space: _Optional[str] = ...) -> None: ...

class WindowEmbedding(_message.Message):
    __slots__ = ("index", "start_seconds", "end_seconds", "embedding")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    START_SECONDS_FIELD_NUMBER: _ClassVar[int]
    END_SECONDS_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_FIELD_NUMBER: _ClassVar[int]
    index: int
    start_seconds: float
    end_seconds: float
    embedding: Embedding
    def __init__(self, index: _Optional[int] = ..., start_seconds: _Optional[float] = ..., end_seconds: _Optional[float] = ..., embedding: _Optional[_Union[Embedding, _Mapping]] = ...) -> None: ...
