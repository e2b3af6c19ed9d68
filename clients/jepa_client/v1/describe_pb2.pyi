from jepa_client.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DecodingMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DECODING_MODE_UNSPECIFIED: _ClassVar[DecodingMode]
    DECODING_MODE_SELECTIVE: _ClassVar[DecodingMode]
    DECODING_MODE_UNIFORM: _ClassVar[DecodingMode]

class Segmentation(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SEGMENTATION_UNSPECIFIED: _ClassVar[Segmentation]
    SEGMENTATION_ONLINE: _ClassVar[Segmentation]
    SEGMENTATION_OFFLINE: _ClassVar[Segmentation]
DECODING_MODE_UNSPECIFIED: DecodingMode
DECODING_MODE_SELECTIVE: DecodingMode
DECODING_MODE_UNIFORM: DecodingMode
SEGMENTATION_UNSPECIFIED: Segmentation
SEGMENTATION_ONLINE: Segmentation
SEGMENTATION_OFFLINE: Segmentation

class DescribeOptions(_message.Message):
    __slots__ = ("mode", "segmentation", "threshold", "min_segment_windows", "max_caption_tokens", "model")
    MODE_FIELD_NUMBER: _ClassVar[int]
    SEGMENTATION_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    MIN_SEGMENT_WINDOWS_FIELD_NUMBER: _ClassVar[int]
    MAX_CAPTION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    mode: DecodingMode
    segmentation: Segmentation
    threshold: float
    min_segment_windows: int
    max_caption_tokens: int
    model: str
    def __init__(self, mode: _Optional[_Union[DecodingMode, str]] = ..., segmentation: _Optional[_Union[Segmentation, str]] = ..., threshold: _Optional[float] = ..., min_segment_windows: _Optional[int] = ..., max_caption_tokens: _Optional[int] = ..., model: _Optional[str] = ...) -> None: ...

class DescribeRequest(_message.Message):
    __slots__ = ("video", "options")
    VIDEO_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    video: _common_pb2.VideoInput
    options: DescribeOptions
    def __init__(self, video: _Optional[_Union[_common_pb2.VideoInput, _Mapping]] = ..., options: _Optional[_Union[DescribeOptions, _Mapping]] = ...) -> None: ...

class DescribeChunk(_message.Message):
    __slots__ = ("options", "sampling", "frames")
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    SAMPLING_FIELD_NUMBER: _ClassVar[int]
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    options: DescribeOptions
    sampling: _common_pb2.Sampling
    frames: _common_pb2.Frames
    def __init__(self, options: _Optional[_Union[DescribeOptions, _Mapping]] = ..., sampling: _Optional[_Union[_common_pb2.Sampling, _Mapping]] = ..., frames: _Optional[_Union[_common_pb2.Frames, _Mapping]] = ...) -> None: ...

class Caption(_message.Message):
    __slots__ = ("start_seconds", "end_seconds", "text", "confidence", "segment_embedding", "first_window", "last_window", "decoder_steps")
    START_SECONDS_FIELD_NUMBER: _ClassVar[int]
    END_SECONDS_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_EMBEDDING_FIELD_NUMBER: _ClassVar[int]
    FIRST_WINDOW_FIELD_NUMBER: _ClassVar[int]
    LAST_WINDOW_FIELD_NUMBER: _ClassVar[int]
    DECODER_STEPS_FIELD_NUMBER: _ClassVar[int]
    start_seconds: float
    end_seconds: float
    text: str
    confidence: float
    segment_embedding: _common_pb2.Embedding
    first_window: int
    last_window: int
    decoder_steps: int
    def __init__(self, start_seconds: _Optional[float] = ..., end_seconds: _Optional[float] = ..., text: _Optional[str] = ..., confidence: _Optional[float] = ..., segment_embedding: _Optional[_Union[_common_pb2.Embedding, _Mapping]] = ..., first_window: _Optional[int] = ..., last_window: _Optional[int] = ..., decoder_steps: _Optional[int] = ...) -> None: ...
