"""Embedding of videos and texts: sampling, preprocessing, batching into Triton, pooling."""

from __future__ import annotations

from collections.abc import AsyncIterable
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel

from jepa_media import DecodeLimits, PreparedVideo, SamplingPlan, WindowSpan

from jepa_server.backends.triton import TritonBackend
from jepa_server.core.registry import VIDEO_INPUT, ModelRegistry, TextModel, VideoModel
from jepa_server.core.sources import RequestVideo, resolve
from jepa_server.errors import InvalidInput, LimitExceeded
from jepa_server.media.pool import VideoPreparer
from jepa_server.media.spool import spooled_upload
from jepa_server.media.video import VideoSource
from jepa_server.metrics import GatewayMetrics
from jepa_server.settings import Settings


class SamplingRequest(BaseModel):
    """The client's sampling options; zeros mean "use the model's / server's default"."""

    frames_per_clip: int = 0
    frame_step: int = 0
    fps: float = 0.0
    window_stride: int = 0
    max_windows: int = 0


@dataclass(frozen=True)
class VideoEmbeddingResult:
    model: VideoModel
    embedding: np.ndarray  # (D,) L2-normalised mean of the windows
    window_spans: list[WindowSpan]
    window_embeddings: np.ndarray  # (W, D)
    frames_decoded: int
    duration_seconds: float


@dataclass(frozen=True)
class TextEmbeddingResult:
    model: TextModel
    embeddings: np.ndarray  # (N, D), or (N, dimensions) when truncated
    token_counts: list[int]  # tokens each text became (after truncation), as the model saw them


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)


class Embedder:
    """Turns videos and texts into embeddings through Triton. `registry` is replaced when the
    gateway re-discovers Triton's models."""

    def __init__(self, registry: ModelRegistry, backend: TritonBackend, preparer: VideoPreparer, metrics: GatewayMetrics, settings: Settings) -> None:
        self.registry = registry
        self.backend = backend
        self.preparer = preparer
        self.metrics = metrics
        self.settings = settings
        self.limits = DecodeLimits(
            max_decoded_frames=settings.max_decoded_frames,
            max_video_seconds=settings.max_video_seconds,
            max_video_pixels=settings.max_video_pixels,
        )

    def sampling_plan(self, model: VideoModel, sampling: SamplingRequest) -> SamplingPlan:
        geometry = model.geometry
        frames_per_clip = sampling.frames_per_clip or geometry.frames_per_clip
        dynamic_frames = model.served.inputs[VIDEO_INPUT][0] == -1
        if not dynamic_frames and frames_per_clip != geometry.frames_per_clip:
            raise InvalidInput(
                "sampling.frames_per_clip", f"got {frames_per_clip}, model {model.info.name} takes exactly {geometry.frames_per_clip}"
            )
        if frames_per_clip % geometry.tubelet_size:
            raise InvalidInput("sampling.frames_per_clip", f"got {frames_per_clip}, must be a multiple of {geometry.tubelet_size}")
        if frames_per_clip > self.settings.max_decoded_frames:
            raise LimitExceeded("sampling.frames_per_clip", f"got {frames_per_clip}, the limit is {self.settings.max_decoded_frames} (max_decoded_frames)")
        if not 0 <= sampling.fps <= 1000:  # also refuses NaN
            raise InvalidInput("sampling.fps", f"got {sampling.fps}, must be between 0 and 1000")
        if sampling.max_windows > self.settings.max_windows:
            raise LimitExceeded("sampling.max_windows", f"got {sampling.max_windows}, the limit is {self.settings.max_windows}")
        return SamplingPlan(
            frames_per_clip=frames_per_clip,
            frame_step=sampling.frame_step or self.settings.default_frame_step,
            fps=sampling.fps,
            window_stride=sampling.window_stride,
            max_windows=sampling.max_windows or self.settings.max_windows,
        )

    async def prepare_video(self, video: RequestVideo | VideoSource, sampling: SamplingRequest, model: VideoModel) -> PreparedVideo:
        source = resolve(video, self.settings.media_roots)
        with self.metrics.stage("decode"):
            prepared = await self.preparer.prepare(source, model.geometry, self.sampling_plan(model, sampling), self.limits)
        self.metrics.frames_decoded.inc(prepared.frames_decoded)
        return prepared

    async def embed_video(
        self, video: RequestVideo | VideoSource, sampling: SamplingRequest, model_name: str = "", timeout_s: float | None = None
    ) -> VideoEmbeddingResult:
        model = self.registry.video_model(model_name)
        prepared = await self.prepare_video(video, sampling, model)
        window_embeddings = await self.embed_pixels(model, prepared.pixel_values, timeout_s)
        return VideoEmbeddingResult(
            model=model,
            embedding=l2_normalise(window_embeddings.mean(axis=0)),
            window_spans=prepared.windows,
            window_embeddings=window_embeddings,
            frames_decoded=prepared.frames_decoded,
            duration_seconds=prepared.duration_seconds,
        )

    async def embed_upload(
        self, pieces: AsyncIterable[bytes], sampling: SamplingRequest, model_name: str = "", timeout_s: float | None = None
    ) -> VideoEmbeddingResult:
        """An encoded video that arrives in pieces: spooled to a file (never held in memory), then embedded."""
        self.registry.video_model(model_name)  # an unknown model fails before the upload
        async with spooled_upload(pieces, self.settings.max_upload_bytes, self.settings.upload_dir) as video:
            return await self.embed_video(video, sampling, model_name, timeout_s)

    async def embed_pixels(self, model: VideoModel, pixel_values: np.ndarray, timeout_s: float | None = None) -> np.ndarray:
        with self.metrics.stage("infer"):
            outputs = await self.backend.infer(model.served, {VIDEO_INPUT: pixel_values}, [model.output], timeout_s)
        embeddings = outputs[model.output]
        self.metrics.embedding_health.observe(model.info.name, embeddings)
        return embeddings

    async def embed_text(
        self, texts: list[str], model_name: str = "", timeout_s: float | None = None, dimensions: int | None = None
    ) -> TextEmbeddingResult:
        """Embeddings of `texts`; `dimensions` cuts them to a size the model was trained for
        (Matryoshka) and renormalises."""
        model = self.registry.text_model(model_name)
        if dimensions is not None and dimensions != model.dimension and dimensions not in model.info.truncatable_dimensions:
            allowed = [model.dimension, *model.info.truncatable_dimensions]
            raise InvalidInput("dimensions", f"got {dimensions}; model {model.info.name} allows {', '.join(map(str, allowed))}")
        if not texts:
            raise InvalidInput("texts", "at least one text is required")
        if len(texts) > self.settings.max_texts:
            raise LimitExceeded("texts", f"got {len(texts)} texts, the limit is {self.settings.max_texts}")
        for index, text in enumerate(texts):
            if not text.strip():
                raise InvalidInput(f"texts[{index}]", "empty text")
            if len(text) > self.settings.max_text_chars:
                raise LimitExceeded(f"texts[{index}]", f"{len(text)} characters, the limit is {self.settings.max_text_chars}")
        with self.metrics.stage("tokenize"):
            tokens = model.tokenizer.encode(texts, truncate=self.settings.truncate_texts)
        with self.metrics.stage("infer"):
            outputs = await self.backend.infer(
                model.served, {"input_ids": tokens.input_ids, "attention_mask": tokens.attention_mask}, [model.output], timeout_s
            )
        embeddings = outputs[model.output]
        self.metrics.embedding_health.observe(model.info.name, embeddings)
        if dimensions is not None and dimensions != model.dimension:
            embeddings = l2_normalise(embeddings[:, :dimensions])
        return TextEmbeddingResult(model, embeddings, tokens.attention_mask.sum(axis=1).astype(int).tolist())
