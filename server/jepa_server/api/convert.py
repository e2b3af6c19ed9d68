"""Between jepa.v1 messages and the core's types (the only module that knows both)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from jepa_client.v1 import common_pb2, embedding_pb2
from jepa_server.backends.triton import ServedModel
from jepa_server.core.embedding import SamplingRequest, VideoEmbeddingResult
from jepa_server.errors import InvalidInput
from jepa_server.media.uri import resolve_media_uri
from jepa_server.media.video import RawFrames, VideoSource


def video_source(video: common_pb2.VideoInput, media_roots: list[Path], field: str = "video") -> VideoSource:
    kind = video.WhichOneof("source")
    if kind == "encoded":
        if not video.encoded:
            raise InvalidInput(f"{field}.encoded", "empty video")
        return bytes(video.encoded)
    if kind == "frames":
        frames = video.frames
        return RawFrames(data=bytes(frames.data), num_frames=frames.num_frames, height=frames.height, width=frames.width, fps=frames.fps)
    if kind == "uri":
        return resolve_media_uri(video.uri, media_roots, f"{field}.uri")
    raise InvalidInput(field, "set one of encoded, frames or uri")


def sampling_request(sampling: common_pb2.Sampling) -> SamplingRequest:
    return SamplingRequest(
        frames_per_clip=sampling.frames_per_clip,
        frame_step=sampling.frame_step,
        fps=sampling.fps,
        window_stride=sampling.window_stride,
        max_windows=sampling.max_windows,
    )


def model_info(model: ServedModel, dimension: int) -> common_pb2.ModelInfo:
    return common_pb2.ModelInfo(name=model.name, version=model.version, dimension=dimension, embedding_space=model.embedding_space)


def embedding(vector: np.ndarray) -> common_pb2.Embedding:
    return common_pb2.Embedding(values=np.asarray(vector, dtype=np.float32).ravel().tolist())


def video_response(result: VideoEmbeddingResult, return_windows: bool) -> embedding_pb2.EmbedVideoResponse:
    response = embedding_pb2.EmbedVideoResponse(
        model=model_info(result.model.served, result.model.dimension),
        embedding=embedding(result.embedding),
        frames_decoded=result.frames_decoded,
        num_windows=len(result.window_spans),
        duration_seconds=result.duration_seconds,
    )
    if return_windows:
        response.windows.extend(
            common_pb2.WindowEmbedding(
                index=span.index, start_seconds=span.start_seconds, end_seconds=span.end_seconds, embedding=embedding(vector)
            )
            for span, vector in zip(result.window_spans, result.window_embeddings)
        )
    return response
