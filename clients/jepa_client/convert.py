"""Conversion between the jepa.v1 messages and Python/numpy values; both clients use only this."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import grpc
import numpy as np

from jepa_client.diagnosis import AnalyzeOptions
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
from jepa_client.v1 import common_pb2, describe_pb2, embedding_pb2, retrieval_pb2

VideoSource = Union[str, os.PathLike, bytes, bytearray, memoryview, np.ndarray, None]
EncodedVideo = Union[str, os.PathLike, bytes, bytearray, memoryview]
DEFAULT_CHUNK_BYTES = 1 << 20


def frames_message(frames: np.ndarray, fps: float = 0.0) -> common_pb2.Frames:
    """RGB frames uint8 (T, H, W, 3) as a `Frames` message."""
    if frames.dtype != np.uint8:
        raise TypeError(f"frames: got dtype {frames.dtype}, need uint8")
    if frames.ndim != 4 or frames.shape[3] != 3 or 0 in frames.shape:
        raise ValueError(f"frames: got shape {frames.shape}, need (T, H, W, 3) with T, H, W > 0")
    num_frames, height, width, _ = frames.shape
    return common_pb2.Frames(
        data=np.ascontiguousarray(frames).tobytes(), num_frames=num_frames, height=height, width=width, fps=fps
    )


def frames_array(frames: common_pb2.Frames) -> np.ndarray:
    """The (T, H, W, 3) uint8 array of a `Frames` message (a read-only view of its bytes)."""
    shape = (frames.num_frames, frames.height, frames.width, 3)
    expected = int(np.prod(shape))
    if len(frames.data) != expected:
        raise ValueError(f"frames.data: got {len(frames.data)} bytes, need {expected} for shape {shape}")
    return np.frombuffer(frames.data, dtype=np.uint8).reshape(shape)


def sampling_message(*, frames_per_clip: int = 0, frame_step: int = 0, fps: float = 0.0, window_stride: int = 0) -> common_pb2.Sampling:
    for name, value in (("frames_per_clip", frames_per_clip), ("frame_step", frame_step), ("fps", fps), ("window_stride", window_stride)):
        if value < 0:
            raise ValueError(f"{name}: got {value}, need >= 0 (0 = server default)")
    return common_pb2.Sampling(frames_per_clip=frames_per_clip, frame_step=frame_step, fps=fps, window_stride=window_stride)


def video_input(
    source: VideoSource,
    *,
    uri: str = "",
    frames_fps: float = 0.0,
    frames_per_clip: int = 0,
    frame_step: int = 0,
    fps: float = 0.0,
    window_stride: int = 0,
) -> common_pb2.VideoInput:
    """A `VideoInput` from a file path (read here, sent encoded), encoded bytes, frames, or a server URI."""
    if frames_fps < 0:
        raise ValueError(f"frames_fps: got {frames_fps}, need >= 0 (0 = unknown)")
    sampling = sampling_message(frames_per_clip=frames_per_clip, frame_step=frame_step, fps=fps, window_stride=window_stride)
    if (source is None) == (not uri):
        raise ValueError("video: pass either a source (path, bytes or frames) or uri=..., not both or neither")
    if uri:
        return common_pb2.VideoInput(uri=uri, sampling=sampling)
    if isinstance(source, np.ndarray):
        return common_pb2.VideoInput(frames=frames_message(source, frames_fps), sampling=sampling)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return common_pb2.VideoInput(encoded=bytes(source), sampling=sampling)
    if isinstance(source, (str, os.PathLike)):
        return common_pb2.VideoInput(encoded=Path(source).read_bytes(), sampling=sampling)
    raise TypeError(f"video: got {type(source).__name__}, need a path, bytes or a uint8 (T, H, W, 3) array")


def video_request(
    source: VideoSource,
    *,
    uri: str = "",
    model: str = "",
    return_windows: bool = False,
    frames_fps: float = 0.0,
    frames_per_clip: int = 0,
    frame_step: int = 0,
    fps: float = 0.0,
    window_stride: int = 0,
) -> embedding_pb2.EmbedVideoRequest:
    video = video_input(
        source, uri=uri, frames_fps=frames_fps, frames_per_clip=frames_per_clip, frame_step=frame_step, fps=fps,
        window_stride=window_stride,
    )
    return embedding_pb2.EmbedVideoRequest(video=video, model=model, return_windows=return_windows)


@dataclass(frozen=True)
class VideoChunks:
    """The EmbedVideoStream messages of one encoded video: the first carries `options`, each at most
    `chunk_bytes` of data. Iterable any number of times (a retry re-reads the file); `async for`
    reads the file off the event loop."""

    source: EncodedVideo
    options: embedding_pb2.EmbedVideoChunk
    chunk_bytes: int = DEFAULT_CHUNK_BYTES

    def __post_init__(self) -> None:
        if self.chunk_bytes <= 0:
            raise ValueError(f"chunk_bytes: got {self.chunk_bytes}, need > 0")
        if not isinstance(self.source, (str, os.PathLike, bytes, bytearray, memoryview)):
            raise TypeError(f"video: got {type(self.source).__name__}, need a path or encoded bytes")

    def _message(self, data: bytes, first: bool) -> embedding_pb2.EmbedVideoChunk:
        chunk = embedding_pb2.EmbedVideoChunk()
        if first:
            chunk.CopyFrom(self.options)
        chunk.data = data
        return chunk

    def _pieces(self) -> Iterator[bytes]:
        if isinstance(self.source, (str, os.PathLike)):
            with open(self.source, "rb") as file:
                yield from iter(lambda: file.read(self.chunk_bytes), b"")
            return
        data = memoryview(self.source)
        yield from (bytes(data[start : start + self.chunk_bytes]) for start in range(0, len(data), self.chunk_bytes))

    def __iter__(self) -> Iterator[embedding_pb2.EmbedVideoChunk]:
        """An empty video sends no message at all (the server answers "empty video")."""
        for index, data in enumerate(self._pieces()):
            yield self._message(data, first=index == 0)

    async def __aiter__(self) -> AsyncIterator[embedding_pb2.EmbedVideoChunk]:
        messages = iter(self)
        while (chunk := await asyncio.to_thread(next, messages, None)) is not None:
            yield chunk


def video_chunks(
    source: EncodedVideo,
    *,
    model: str = "",
    return_windows: bool = False,
    frames_per_clip: int = 0,
    frame_step: int = 0,
    fps: float = 0.0,
    window_stride: int = 0,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> VideoChunks:
    sampling = sampling_message(frames_per_clip=frames_per_clip, frame_step=frame_step, fps=fps, window_stride=window_stride)
    options = embedding_pb2.EmbedVideoChunk(model=model, return_windows=return_windows, sampling=sampling)
    return VideoChunks(source, options, chunk_bytes)


def vector(embedding: common_pb2.Embedding) -> np.ndarray:
    return np.asarray(embedding.values, dtype=np.float32)


def model_info(model: common_pb2.ModelInfo) -> ModelInfo:
    return ModelInfo(model.name, model.version, model.dimension, model.embedding_space, model.role, model.world_space)


def video_embedding(response: embedding_pb2.EmbedVideoResponse) -> VideoEmbedding:
    windows = tuple(
        WindowEmbedding(window.index, window.start_seconds, window.end_seconds, vector(window.embedding))
        for window in response.windows
    )
    return VideoEmbedding(
        model=model_info(response.model),
        embedding=vector(response.embedding),
        windows=windows,
        frames_decoded=response.frames_decoded,
        num_windows=response.num_windows,
        duration_seconds=response.duration_seconds,
    )


def text_request(texts: str | Sequence[str], model: str = "") -> embedding_pb2.EmbedTextRequest:
    """One string or a sequence of strings (a bare str is one text, not its characters)."""
    batch = [texts] if isinstance(texts, str) else list(texts)
    for position, text in enumerate(batch):
        if not isinstance(text, str):
            raise TypeError(f"texts[{position}]: got {type(text).__name__}, need str")
    return embedding_pb2.EmbedTextRequest(texts=batch, model=model)


def text_embeddings(response: embedding_pb2.EmbedTextResponse) -> TextEmbeddings:
    model = model_info(response.model)
    lengths = sorted({len(embedding.values) for embedding in response.embeddings})
    if len(lengths) > 1:
        raise ValueError(f"embeddings: the server sent vectors of lengths {lengths}, need one length")
    dimension = lengths[0] if lengths else model.dimension
    rows = [embedding.values for embedding in response.embeddings]
    embeddings = np.array(rows, dtype=np.float32).reshape(len(rows), dimension)
    return TextEmbeddings(model=model, embeddings=embeddings)


def model_list(response: embedding_pb2.ListModelsResponse) -> tuple[ModelInfo, ...]:
    return tuple(model_info(model) for model in response.models)


@dataclass(frozen=True)
class IndexItem:
    """One video for `index_videos`: `video` is a file path (its bytes are sent), encoded bytes or a
    uint8 (T, H, W, 3) array (`frames_fps` its frame rate), or `uri` a file the server can read.
    `metadata` (a JSON-able dict) is stored with every window and returned by search."""

    id: str
    video: VideoSource = None
    uri: str = ""
    metadata: Mapping[str, Any] | None = None
    model: str = ""
    frames_fps: float = 0.0


def index_request(
    item: IndexItem, *, model: str = "", frames_per_clip: int = 0, frame_step: int = 0, fps: float = 0.0, window_stride: int = 0
) -> retrieval_pb2.IndexVideosRequest:
    """The stream message of one item; the item's own model wins over the call's."""
    video = video_input(
        item.video, uri=item.uri, frames_fps=item.frames_fps, frames_per_clip=frames_per_clip, frame_step=frame_step,
        fps=fps, window_stride=window_stride,
    )
    metadata = json.dumps(dict(item.metadata)) if item.metadata else ""
    return retrieval_pb2.IndexVideosRequest(id=item.id, video=video, metadata_json=metadata, model=item.model or model)


@dataclass(frozen=True)
class IndexRequests:
    """The IndexVideos messages of `items`, built one at a time as they are sent (a file is read
    when its turn comes). Iterable again when `items` is (a list, not a one-shot iterator): a retry
    then sends every item again; `async for` reads the files off the event loop."""

    items: Iterable[IndexItem]
    model: str = ""
    frames_per_clip: int = 0
    frame_step: int = 0
    fps: float = 0.0
    window_stride: int = 0

    @property
    def replayable(self) -> bool:
        return not isinstance(self.items, Iterator)

    def _request(self, item: IndexItem) -> retrieval_pb2.IndexVideosRequest:
        return index_request(
            item, model=self.model, frames_per_clip=self.frames_per_clip, frame_step=self.frame_step, fps=self.fps,
            window_stride=self.window_stride,
        )

    def __iter__(self) -> Iterator[retrieval_pb2.IndexVideosRequest]:
        return map(self._request, self.items)

    async def __aiter__(self) -> AsyncIterator[retrieval_pb2.IndexVideosRequest]:
        for item in self.items:
            yield await asyncio.to_thread(self._request, item)


_STATUS_BY_VALUE = {code.value[0]: code for code in grpc.StatusCode}


def index_report(response: retrieval_pb2.IndexVideosResponse) -> IndexReport:
    return IndexReport(
        tuple(
            IndexedVideo(
                id=item.id, code=_STATUS_BY_VALUE.get(item.code, grpc.StatusCode.UNKNOWN), error=item.error,
                num_windows=item.num_windows, duration_seconds=item.duration_seconds, collection=item.collection,
            )
            for item in response.items
        )
    )


def search_request(
    text: str | None = None,
    *,
    video: VideoSource = None,
    video_uri: str = "",
    embedding: np.ndarray | Sequence[float] | None = None,
    top_k: int = 10,
    filter: str = "",
    model: str = "",
    text_model: str = "",
    moments: bool = False,
) -> retrieval_pb2.SearchRequest:
    """Exactly one query: a text, a video (a path, bytes, frames, or `video_uri`), or an embedding."""
    if (text is not None) + (video is not None or bool(video_uri)) + (embedding is not None) != 1:
        raise ValueError("query: pass exactly one of text, video (or video_uri) or embedding")
    if top_k < 0:
        raise ValueError(f"top_k: got {top_k}, need >= 0 (0 = server default)")
    request = retrieval_pb2.SearchRequest(top_k=top_k, filter=filter, model=model, text_model=text_model, moments=moments)
    if text is not None:
        request.text = text
    elif embedding is not None:
        request.embedding.values.extend(np.asarray(embedding, dtype=np.float32).ravel().tolist())
    else:
        request.video.CopyFrom(video_input(video, uri=video_uri))
    return request


def search_results(response: retrieval_pb2.SearchResponse) -> SearchResults:
    hits = tuple(
        SearchHit(
            video_id=hit.video_id, score=hit.score, window_index=hit.window_index, start_seconds=hit.start_seconds,
            end_seconds=hit.end_seconds, metadata=json.loads(hit.metadata_json or "{}"),
            moment=(hit.moment_start_seconds, hit.moment_end_seconds) if hit.moment_end_seconds > 0 else None,
        )
        for hit in response.hits
    )
    return SearchResults(model=model_info(response.model), collection=response.collection, hits=hits)


def _ids(ids: str | Sequence[str]) -> list[str]:
    """One id or a sequence of ids (a bare str is one id, not its characters)."""
    return [ids] if isinstance(ids, str) else list(ids)


def delete_request(ids: str | Sequence[str], model: str = "") -> retrieval_pb2.DeleteVideosRequest:
    return retrieval_pb2.DeleteVideosRequest(ids=_ids(ids), model=model)


def delete_result(response: retrieval_pb2.DeleteVideosResponse) -> DeleteResult:
    return DeleteResult(deleted_ids=tuple(response.deleted_ids), rows_deleted=response.rows_deleted)


def stats_request(model: str = "", ids: str | Sequence[str] = ()) -> retrieval_pb2.GetIndexStatsRequest:
    return retrieval_pb2.GetIndexStatsRequest(model=model, ids=_ids(ids))


def index_stats(response: retrieval_pb2.GetIndexStatsResponse) -> IndexStats:
    return IndexStats(
        model=model_info(response.model), collection=response.collection, rows=response.rows, videos=response.videos,
        indexed_ids=tuple(response.indexed_ids), backend=response.backend, index_type=response.index_type,
    )


_MODES = {"selective": describe_pb2.DECODING_MODE_SELECTIVE, "uniform": describe_pb2.DECODING_MODE_UNIFORM}
_SEGMENTATIONS = {"": describe_pb2.SEGMENTATION_UNSPECIFIED, "online": describe_pb2.SEGMENTATION_ONLINE, "offline": describe_pb2.SEGMENTATION_OFFLINE}


def analyze_request(options: AnalyzeOptions) -> retrieval_pb2.AnalyzeIndexRequest:
    request = retrieval_pb2.AnalyzeIndexRequest(
        model=options.model, filter=options.filter, max_rows=options.max_rows, duplicate_threshold=options.duplicate_threshold,
        outlier_neighbours=options.outlier_neighbours, min_cluster_size=options.min_cluster_size, captions=options.captions,
        gap_threshold=options.gap_threshold, top_outliers=options.top_outliers, map_points=options.map_points, seed=options.seed,
    )
    if options.drift is not None:
        reference, current = options.drift
        request.drift_reference.CopyFrom(retrieval_pb2.TimeRange(start_unix_s=reference.start_unix_s, end_unix_s=reference.end_unix_s))
        request.drift_current.CopyFrom(retrieval_pb2.TimeRange(start_unix_s=current.start_unix_s, end_unix_s=current.end_unix_s))
    return request


def describe_options(
    *, mode: str = "selective", segmentation: str = "", threshold: float = 0.0, min_segment_windows: int = 0, max_caption_tokens: int = 0, model: str = ""
) -> describe_pb2.DescribeOptions:
    if mode not in _MODES:
        raise ValueError(f"mode: got {mode!r}, expected one of {sorted(_MODES)}")
    if segmentation not in _SEGMENTATIONS:
        raise ValueError(f"segmentation: got {segmentation!r}, expected one of {sorted(_SEGMENTATIONS)}")
    return describe_pb2.DescribeOptions(
        mode=_MODES[mode], segmentation=_SEGMENTATIONS[segmentation], threshold=threshold,
        min_segment_windows=min_segment_windows, max_caption_tokens=max_caption_tokens, model=model,
    )


def describe_request(
    source: VideoSource, *, uri: str = "", frames_fps: float = 0.0, frames_per_clip: int = 0, frame_step: int = 0, fps: float = 0.0,
    options: describe_pb2.DescribeOptions,
) -> describe_pb2.DescribeRequest:
    video = video_input(source, uri=uri, frames_fps=frames_fps, frames_per_clip=frames_per_clip, frame_step=frame_step, fps=fps)
    return describe_pb2.DescribeRequest(video=video, options=options)


def caption(message: describe_pb2.Caption) -> Caption:
    return Caption(
        start_seconds=message.start_seconds,
        end_seconds=message.end_seconds,
        text=message.text,
        confidence=message.confidence,
        segment_embedding=vector(message.segment_embedding),
        first_window=message.first_window,
        last_window=message.last_window,
        decoder_steps=message.decoder_steps,
    )
