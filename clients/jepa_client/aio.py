"""asyncio client of a jepa-serve gateway (grpc.aio); same behaviour as `Client`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from types import TracebackType

import grpc
import grpc.aio
import numpy as np
from google.protobuf.message import Message

from jepa_client import convert, rpc
from jepa_client.base import ClientBase
from jepa_client.diagnosis import AnalysisProgress, AnalyzeOptions, IndexDiagnosis
from jepa_client.errors import error_from_rpc
from jepa_client.migration import DropPreviousResult, MigrateOptions, MigrationReport, ServingState, migrate_request
from jepa_client.options import ClientOptions
from jepa_client.planning import GoalEmbedding, ImageInput, Observation, Plan, PlanIteration, PlanOptions, PlanStep, async_stream_requests, plan_request
from jepa_client.results import Caption, DeleteResult, IndexReport, IndexStats, ModelInfo, SearchResults, TextEmbeddings, VideoEmbedding
from jepa_client.rpc import ResultT, Rpc


class AsyncClient(ClientBase):
    """asyncio twin of `Client`; create it inside the event loop that uses it (grpc.aio binds to it)."""

    def __init__(self, options: ClientOptions | str | None = None) -> None:
        super().__init__(options, grpc.aio)

    async def invoke(self, method: Rpc[ResultT], request: Message | Iterable[Message], *, timeout: float | None = None) -> ResultT:
        """See `Client.invoke`."""
        call, attempts = self._start(method, timeout)
        while True:
            try:
                response = await call(request, timeout=attempts.remaining(), metadata=self._metadata)
            except grpc.RpcError as failure:
                backoff = attempts.backoff_after(failure.code())
                if backoff is None:
                    raise error_from_rpc(failure) from failure
                self.retries += 1
                await asyncio.sleep(backoff)
            else:
                return method.to_result(response)

    async def embed_video(
        self,
        video: convert.VideoSource = None,
        *,
        uri: str = "",
        model: str = "",
        frames_per_clip: int = 0,
        frame_step: int = 0,
        fps: float = 0.0,
        window_stride: int = 0,
        return_windows: bool = False,
        frames_fps: float = 0.0,
        timeout: float | None = None,
    ) -> VideoEmbedding:
        """See `Client.embed_video`; the file is read and the frames copied off the event loop."""
        request = await asyncio.to_thread(
            convert.video_request, video, uri=uri, model=model, return_windows=return_windows, frames_fps=frames_fps,
            frames_per_clip=frames_per_clip, frame_step=frame_step, fps=fps, window_stride=window_stride,
        )
        return await self.invoke(rpc.EMBED_VIDEO, request, timeout=timeout)

    async def embed_video_stream(
        self,
        video: convert.EncodedVideo,
        *,
        model: str = "",
        frames_per_clip: int = 0,
        frame_step: int = 0,
        fps: float = 0.0,
        window_stride: int = 0,
        return_windows: bool = False,
        chunk_bytes: int = convert.DEFAULT_CHUNK_BYTES,
        timeout: float | None = None,
    ) -> VideoEmbedding:
        """See `Client.embed_video_stream`; the file is read off the event loop."""
        chunks = convert.video_chunks(
            video, model=model, return_windows=return_windows, frames_per_clip=frames_per_clip, frame_step=frame_step,
            fps=fps, window_stride=window_stride, chunk_bytes=chunk_bytes,
        )
        return await self.invoke(rpc.EMBED_VIDEO_STREAM, chunks, timeout=timeout)

    async def embed_text(self, texts: str | Sequence[str], *, model: str = "", timeout: float | None = None) -> TextEmbeddings:
        """See `Client.embed_text`."""
        return await self.invoke(rpc.EMBED_TEXT, convert.text_request(texts, model), timeout=timeout)

    async def list_models(self, *, timeout: float | None = None) -> tuple[ModelInfo, ...]:
        """See `Client.list_models`."""
        return await self.invoke(rpc.LIST_MODELS, rpc.LIST_MODELS.request_type(), timeout=timeout)

    async def index_videos(
        self,
        items: Iterable[convert.IndexItem],
        *,
        model: str = "",
        frames_per_clip: int = 0,
        frame_step: int = 0,
        fps: float = 0.0,
        window_stride: int = 0,
        timeout: float | None = None,
    ) -> IndexReport:
        """See `Client.index_videos`; each item's file is read off the event loop."""
        requests = convert.IndexRequests(items, model, frames_per_clip, frame_step, fps, window_stride)
        return await self.invoke(rpc.index_videos(requests), requests, timeout=timeout)

    async def search(
        self,
        text: str | None = None,
        *,
        video: convert.VideoSource = None,
        video_uri: str = "",
        embedding: np.ndarray | Sequence[float] | None = None,
        top_k: int = 10,
        filter: str = "",
        model: str = "",
        text_model: str = "",
        moments: bool = False,
        timeout: float | None = None,
    ) -> SearchResults:
        """See `Client.search`."""
        request = await asyncio.to_thread(
            convert.search_request, text, video=video, video_uri=video_uri, embedding=embedding, top_k=top_k, filter=filter,
            model=model, text_model=text_model, moments=moments,
        )
        return await self.invoke(rpc.SEARCH, request, timeout=timeout)

    async def delete_videos(self, ids: str | Sequence[str], *, model: str = "", timeout: float | None = None) -> DeleteResult:
        """See `Client.delete_videos`."""
        return await self.invoke(rpc.DELETE_VIDEOS, convert.delete_request(ids, model), timeout=timeout)

    async def index_stats(self, *, model: str = "", ids: str | Sequence[str] = (), timeout: float | None = None) -> IndexStats:
        """See `Client.index_stats`."""
        return await self.invoke(rpc.GET_INDEX_STATS, convert.stats_request(model, ids), timeout=timeout)

    async def stream(
        self, method: Rpc[ResultT], request: Message | AsyncIterable[Message], *, timeout: float | None = None
    ) -> AsyncIterator[ResultT]:
        """See `Client.stream`."""
        call, attempts = self._start(method, timeout)
        responses = call(request, timeout=attempts.remaining(), metadata=self._metadata)
        try:
            async for response in responses:
                yield method.to_result(response)
        except grpc.RpcError as failure:
            raise error_from_rpc(failure) from failure
        finally:
            responses.cancel()

    async def analyze_index(self, options: AnalyzeOptions | None = None, *, timeout: float | None = None) -> AsyncIterator[AnalysisProgress | IndexDiagnosis]:
        """See `Client.analyze_index`."""
        async for event in self.stream(rpc.ANALYZE_INDEX, convert.analyze_request(options or AnalyzeOptions()), timeout=timeout):
            yield event

    async def migrate(self, options: MigrateOptions, *, timeout: float | None = None) -> AsyncIterator[AnalysisProgress | MigrationReport]:
        """See `Client.migrate`."""
        async for event in self.stream(rpc.MIGRATE, migrate_request(options), timeout=timeout):
            yield event

    async def serving(self, *, timeout: float | None = None) -> ServingState:
        """See `Client.serving`."""
        return await self.invoke(rpc.GET_SERVING, rpc.GET_SERVING.request_type(), timeout=timeout)

    async def switch_serving(self, model: str, *, timeout: float | None = None) -> ServingState:
        """See `Client.switch_serving`."""
        return await self.invoke(rpc.SWITCH_SERVING, rpc.SWITCH_SERVING.request_type(model=model), timeout=timeout)

    async def rollback_serving(self, *, timeout: float | None = None) -> ServingState:
        """See `Client.rollback_serving`."""
        return await self.invoke(rpc.ROLLBACK_SERVING, rpc.ROLLBACK_SERVING.request_type(), timeout=timeout)

    async def drop_previous(self, *, timeout: float | None = None) -> DropPreviousResult:
        """See `Client.drop_previous`."""
        return await self.invoke(rpc.DROP_PREVIOUS, rpc.DROP_PREVIOUS.request_type(), timeout=timeout)

    async def describe(
        self,
        video: convert.VideoSource = None,
        *,
        uri: str = "",
        mode: str = "selective",
        segmentation: str = "",
        threshold: float = 0.0,
        min_segment_windows: int = 0,
        max_caption_tokens: int = 0,
        model: str = "",
        frames_per_clip: int = 0,
        frame_step: int = 0,
        fps: float = 0.0,
        frames_fps: float = 0.0,
        timeout: float | None = None,
    ) -> AsyncIterator[Caption]:
        """See `Client.describe`."""
        request = await asyncio.to_thread(
            convert.describe_request, video, uri=uri, frames_fps=frames_fps, frames_per_clip=frames_per_clip, frame_step=frame_step, fps=fps,
            options=convert.describe_options(
                mode=mode, segmentation=segmentation, threshold=threshold, min_segment_windows=min_segment_windows,
                max_caption_tokens=max_caption_tokens, model=model,
            ),
        )
        async for caption in self.stream(rpc.DESCRIBE, request, timeout=timeout):
            yield caption

    async def plan(
        self,
        observation: Observation,
        goal: ImageInput | GoalEmbedding,
        options: PlanOptions | None = None,
        *,
        model: str = "",
        timeout: float | None = None,
    ) -> AsyncIterator[PlanIteration | Plan]:
        """See `Client.plan`; image files are read off the event loop."""
        request = await asyncio.to_thread(plan_request, observation, goal, options, model)
        async for event in self.stream(rpc.PLAN, request, timeout=timeout):
            yield event

    async def plan_stream(
        self,
        goal: ImageInput | GoalEmbedding,
        observations: AsyncIterable[Observation] | Iterable[Observation],
        options: PlanOptions | None = None,
        *,
        model: str = "",
        timeout: float | None = None,
    ) -> AsyncIterator[PlanStep]:
        """See `Client.plan_stream`; `observations` may be an async iterable (e.g. fed by an
        asyncio.Queue as the robot moves)."""
        async for step in self.stream(rpc.PLAN_STREAM, async_stream_requests(observations, goal, options, model), timeout=timeout):
            yield step

    async def close(self) -> None:
        await self._channel.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()
