"""Describe: captions of a video from the VL-JEPA decoder, decoding only when the meaning changes.

Every window gets a predicted embedding (the `vljepa_video` pipeline). In selective mode a
segmenter groups windows of constant meaning and the decoder runs once per segment; in uniform
mode it runs once per window. Greedy decoding is one Triton request per token, so concurrent
streams at the same step share Triton's dynamic batches.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import Enum

import numpy as np
from jepa_media import RawFrames, WindowSpan
from pydantic import BaseModel

from jepa_server.backends.triton import TritonBackend
from jepa_server.core.embedding import Embedder, SamplingRequest
from jepa_server.core.registry import DecoderModel, VideoModel
from jepa_server.core.segmenter import OnlineSegmenter, Segment, segment_offline
from jepa_server.core.sources import RequestVideo
from jepa_server.errors import InvalidInput


class Mode(str, Enum):
    SELECTIVE = "selective"
    UNIFORM = "uniform"


class DescribeOptions(BaseModel):
    mode: Mode = Mode.SELECTIVE
    # None = offline for whole videos, online for live streams.
    online: bool | None = None
    threshold: float = 0.15
    min_segment_windows: int = 1
    max_caption_tokens: int = 0
    model: str = ""


@dataclass(frozen=True)
class CaptionEvent:
    first_window: int
    last_window: int
    start_seconds: float
    end_seconds: float
    text: str
    confidence: float
    embedding: np.ndarray
    decoder_steps: int


def _chunk_frames(chunk: RawFrames, frame_shape: tuple[int, ...] | None) -> np.ndarray:
    expected = chunk.num_frames * chunk.height * chunk.width * 3
    if len(chunk.data) != expected:
        raise InvalidInput("frames.data", f"got {len(chunk.data)} bytes, expected {expected} for uint8 {chunk.num_frames}x{chunk.height}x{chunk.width}x3")
    if frame_shape is not None and (chunk.height, chunk.width) != frame_shape[:2]:
        raise InvalidInput("frames", f"got {chunk.height}x{chunk.width} frames after {frame_shape[0]}x{frame_shape[1]} ones; a stream keeps one size")
    return np.frombuffer(chunk.data, np.uint8).reshape(chunk.num_frames, chunk.height, chunk.width, 3)


class CaptionDecoder:
    """Greedy decoding through the served `text_decoder` step model."""

    def __init__(self, backend: TritonBackend, decoder: DecoderModel, embedder: Embedder) -> None:
        self.backend = backend
        self.decoder = decoder
        self.embedder = embedder

    async def caption(self, embedding: np.ndarray, max_tokens: int, timeout_s: float | None) -> tuple[str, float, int]:
        """(text, mean token probability, decoder calls)."""
        limit = min(max_tokens or self.decoder.max_caption_tokens, self.decoder.max_caption_tokens)
        token_ids = [self.decoder.bos_id]
        probabilities = []
        with self.embedder.metrics.stage("decode_text"):
            for _ in range(limit):
                outputs = await self.backend.infer(
                    self.decoder.served,
                    {"embedding": embedding[None].astype(np.float32), "token_ids": np.asarray([token_ids], dtype=np.int64)},
                    ["next_token_logits"],
                    timeout_s,
                )
                logits = outputs["next_token_logits"][0].astype(np.float64)
                distribution = np.exp(logits - logits.max())
                distribution /= distribution.sum()
                next_id = int(distribution.argmax())
                probabilities.append(float(distribution[next_id]))
                if next_id == self.decoder.eos_id:
                    break
                token_ids.append(next_id)
        special = {self.decoder.bos_id, self.decoder.eos_id, 0}
        words = [self.decoder.vocabulary[index] for index in token_ids[1:] if index not in special and index < len(self.decoder.vocabulary)]
        return " ".join(words), float(np.mean(probabilities)) if probabilities else 0.0, len(probabilities)


class Describer:
    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def _models(self, options: DescribeOptions) -> tuple[VideoModel, CaptionDecoder]:
        if not 0.0 <= options.threshold <= 2.0:
            raise InvalidInput("options.threshold", f"got {options.threshold}, a cosine distance must lie in [0, 2]")
        video_model = self.embedder.registry.video_model(options.model)
        decoder = self.embedder.registry.decoder_for(video_model)
        return video_model, CaptionDecoder(self.embedder.backend, decoder, self.embedder)

    async def _event(self, decoder: CaptionDecoder, segment: Segment, spans: dict[int, WindowSpan], options: DescribeOptions, timeout_s: float | None) -> CaptionEvent:
        text, confidence, steps = await decoder.caption(segment.embedding, options.max_caption_tokens, timeout_s)
        return CaptionEvent(
            segment.first_window, segment.last_window, spans[segment.first_window].start_seconds, spans[segment.last_window].end_seconds,
            text, confidence, segment.embedding.astype(np.float32), steps,
        )

    async def describe_video(self, source: RequestVideo, sampling: SamplingRequest, options: DescribeOptions, timeout_s: float | None = None) -> AsyncIterator[CaptionEvent]:
        """Captions of a whole video; online segmentation emits each caption as soon as its segment closes."""
        video_model, decoder = self._models(options)
        prepared = await self.embedder.prepare_video(source, sampling, video_model)
        spans = {span.index: span for span in prepared.windows}
        if options.online:
            segmenter = self._online(options)
            for start in range(0, len(prepared.windows), 4):
                window_embeddings = await self.embedder.embed_pixels(video_model, prepared.pixel_values[start : start + 4], timeout_s)
                for offset, window_embedding in enumerate(window_embeddings):
                    for segment in self._segments_closed_by(segmenter, start + offset, window_embedding, options):
                        yield await self._event(decoder, segment, spans, options, timeout_s)
            if (last_segment := segmenter.finish()) is not None and options.mode == Mode.SELECTIVE:
                yield await self._event(decoder, last_segment, spans, options, timeout_s)
            return
        window_embeddings = await self.embedder.embed_pixels(video_model, prepared.pixel_values, timeout_s)
        if options.mode == Mode.UNIFORM:
            segments = [Segment(index, index, np.asarray(vector, dtype=np.float64)) for index, vector in enumerate(window_embeddings)]
        else:
            segments = segment_offline(window_embeddings, options.threshold, options.min_segment_windows)
        for segment in segments:
            yield await self._event(decoder, segment, spans, options, timeout_s)

    def _online(self, options: DescribeOptions) -> OnlineSegmenter:
        return OnlineSegmenter(threshold=options.threshold, min_windows=max(1, options.min_segment_windows))

    @staticmethod
    def _segments_closed_by(segmenter: OnlineSegmenter, index: int, window_embedding: np.ndarray, options: DescribeOptions) -> list[Segment]:
        if options.mode == Mode.UNIFORM:
            return [Segment(index, index, np.asarray(window_embedding, dtype=np.float64))]
        closed = segmenter.push(index, window_embedding)
        return [closed] if closed is not None else []

    async def describe_stream(self, chunks: AsyncIterator[RawFrames], sampling: SamplingRequest, options: DescribeOptions, timeout_s: float | None = None) -> AsyncIterator[CaptionEvent]:
        """A live feed: frames arrive in chunks; each full window is embedded as soon as it exists,
        segmented online, and captioned when its segment closes."""
        video_model, decoder = self._models(options)
        frames_per_clip = sampling.frames_per_clip or video_model.geometry.frames_per_clip
        segmenter = self._online(options)
        pending: list[np.ndarray] = []
        spans: dict[int, WindowSpan] = {}
        window_index = 0
        fps = 0.0
        async for chunk in chunks:
            fps = chunk.fps or fps
            pending.extend(_chunk_frames(chunk, pending[0].shape if pending else None))
            while len(pending) >= frames_per_clip:
                window, pending = np.stack(pending[:frames_per_clip]), pending[frames_per_clip:]
                raw = RawFrames(data=window.tobytes(), num_frames=frames_per_clip, height=window.shape[1], width=window.shape[2], fps=fps)
                prepared = await self.embedder.prepare_video(raw, SamplingRequest(frames_per_clip=frames_per_clip, max_windows=1), video_model)
                seconds = frames_per_clip / fps if fps else float(frames_per_clip)
                spans[window_index] = WindowSpan(window_index, window_index * seconds, (window_index + 1) * seconds)
                (window_embedding,) = await self.embedder.embed_pixels(video_model, prepared.pixel_values, timeout_s)
                for segment in self._segments_closed_by(segmenter, window_index, window_embedding, options):
                    yield await self._event(decoder, segment, spans, options, timeout_s)
                window_index += 1
        if (last_segment := segmenter.finish()) is not None and options.mode == Mode.SELECTIVE:
            yield await self._event(decoder, last_segment, spans, options, timeout_s)
