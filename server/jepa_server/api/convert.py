"""Between jepa.v1 messages and the core's types (the only module that knows both)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TypeVar

import numpy as np

from jepa_client.v1 import common_pb2, embedding_pb2
from jepa_server.core.embedding import SamplingRequest, VideoEmbeddingResult
from jepa_server.core.registry import ModelInfo
from jepa_server.core.sources import MediaUri, RawFrames, RequestVideo
from jepa_server.errors import InvalidInput

MessageT = TypeVar("MessageT")


def raw_frames(frames: common_pb2.Frames) -> RawFrames:
    return RawFrames(data=bytes(frames.data), num_frames=frames.num_frames, height=frames.height, width=frames.width, fps=frames.fps)


def video_source(video: common_pb2.VideoInput) -> RequestVideo:
    kind = video.WhichOneof("source")
    if kind == "encoded":
        if not video.encoded:
            raise InvalidInput("video.encoded", "empty video")
        return bytes(video.encoded)
    if kind == "frames":
        return raw_frames(video.frames)
    if kind == "uri":
        return MediaUri(video.uri)
    raise InvalidInput("video", "set one of encoded, frames or uri")


def sampling_request(sampling: common_pb2.Sampling) -> SamplingRequest:
    return SamplingRequest(
        frames_per_clip=sampling.frames_per_clip,
        frame_step=sampling.frame_step,
        fps=sampling.fps,
        window_stride=sampling.window_stride,
        max_windows=sampling.max_windows,
    )


def model_info(model: ModelInfo) -> common_pb2.ModelInfo:
    return common_pb2.ModelInfo(
        name=model.name, version=model.version, dimension=model.dimension, embedding_space=model.embedding_space, role=model.role,
        world_space=model.world_space,
    )


def embedding(vector: np.ndarray) -> common_pb2.Embedding:
    return common_pb2.Embedding(values=np.asarray(vector, dtype=np.float32).ravel().tolist())


def video_response(result: VideoEmbeddingResult, return_windows: bool) -> embedding_pb2.EmbedVideoResponse:
    response = embedding_pb2.EmbedVideoResponse(
        model=model_info(result.model.info),
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


async def prepend(first: MessageT, rest: AsyncIterator[MessageT]) -> AsyncIterator[MessageT]:
    """A client stream again whole after its first message was read for the call's options."""
    yield first
    async for message in rest:
        yield message
