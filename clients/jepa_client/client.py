"""Blocking client of a jepa-serve gateway."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from types import TracebackType

import grpc
import numpy as np
from google.protobuf.message import Message

from jepa_client import convert, rpc
from jepa_client.base import ClientBase
from jepa_client.diagnosis import AnalysisProgress, AnalyzeOptions, IndexDiagnosis
from jepa_client.errors import error_from_rpc
from jepa_client.migration import DropPreviousResult, MigrateOptions, MigrationReport, ServingState, migrate_request
from jepa_client.options import ClientOptions
from jepa_client.planning import GoalEmbedding, ImageInput, Observation, Plan, PlanIteration, PlanOptions, PlanStep, plan_request, stream_requests
from jepa_client.results import Caption, DeleteResult, IndexReport, IndexStats, ModelInfo, SearchResults, TextEmbeddings, VideoEmbedding
from jepa_client.rpc import ResultT, Rpc


class Client(ClientBase):
    """Blocking client. `Client("host:50051")` or `Client(ClientOptions(...))`; close it or use `with`.

    Every call carries the token, gets a deadline (`timeout`, else the options' default, covering
    retries), is retried after UNAVAILABLE when idempotent, and raises a `JepaError` on failure.
    """

    def __init__(self, options: ClientOptions | str | None = None) -> None:
        super().__init__(options, grpc)

    def invoke(self, method: Rpc[ResultT], request: Message | Iterable[Message], *, timeout: float | None = None) -> ResultT:
        """Call any jepa.v1 method described by an `Rpc` (see `jepa_client.rpc`) and return its result
        (a client-streaming method takes an iterable of messages that can be iterated again)."""
        call, attempts = self._start(method, timeout)
        while True:
            try:
                # grpc wants an iterator of a client-streaming request, a fresh one for every attempt.
                messages = iter(request) if method.client_streaming else request
                response = call(messages, timeout=attempts.remaining(), metadata=self._metadata)
            except grpc.RpcError as failure:
                backoff = attempts.backoff_after(failure.code())
                if backoff is None:
                    raise error_from_rpc(failure) from failure
                self.retries += 1
                time.sleep(backoff)
            else:
                return method.to_result(response)

    def embed_video(
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
        """Embed one video: a file path (its bytes are sent), encoded bytes, a uint8 (T, H, W, 3)
        frame array (`frames_fps` is its frame rate, for window times), or `uri=` a file the server
        can read. Sampling values of 0 take the server's defaults."""
        request = convert.video_request(
            video, uri=uri, model=model, return_windows=return_windows, frames_fps=frames_fps,
            frames_per_clip=frames_per_clip, frame_step=frame_step, fps=fps, window_stride=window_stride,
        )
        return self.invoke(rpc.EMBED_VIDEO, request, timeout=timeout)

    def embed_video_stream(
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
        """Embed an encoded video (a file path or bytes) larger than one message: it is uploaded in
        pieces of `chunk_bytes`, up to the server's max_upload_bytes. Same result as `embed_video`."""
        chunks = convert.video_chunks(
            video, model=model, return_windows=return_windows, frames_per_clip=frames_per_clip, frame_step=frame_step,
            fps=fps, window_stride=window_stride, chunk_bytes=chunk_bytes,
        )
        return self.invoke(rpc.EMBED_VIDEO_STREAM, chunks, timeout=timeout)

    def embed_text(self, texts: str | Sequence[str], *, model: str = "", timeout: float | None = None) -> TextEmbeddings:
        """Embed one text or a batch; `embeddings` has one row per text, in order."""
        return self.invoke(rpc.EMBED_TEXT, convert.text_request(texts, model), timeout=timeout)

    def list_models(self, *, timeout: float | None = None) -> tuple[ModelInfo, ...]:
        """The models the server can use, with dimensions and embedding spaces."""
        return self.invoke(rpc.LIST_MODELS, rpc.LIST_MODELS.request_type(), timeout=timeout)

    def index_videos(
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
        """Index videos in one streaming call (items are read lazily, one at a time). Each video is cut
        into windows (every `window_stride` frames, 0 = no overlap), one row each; an id indexed
        before is replaced, so a call that failed with UNAVAILABLE is sent again whole when `items`
        can be read again (a list; never a one-shot iterator). Items that failed alone are in the
        report: resend those."""
        requests = convert.IndexRequests(items, model, frames_per_clip, frame_step, fps, window_stride)
        return self.invoke(rpc.index_videos(requests), requests, timeout=timeout)

    def search(
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
        """The `top_k` best videos for a text, a video or an embedding, each with its best window
        (and its moment with `moments=True`); `filter` is a condition on the rows such as
        `metadata["tag"] == "x" and window_index < 3`."""
        request = convert.search_request(
            text, video=video, video_uri=video_uri, embedding=embedding, top_k=top_k, filter=filter, model=model, text_model=text_model,
            moments=moments,
        )
        return self.invoke(rpc.SEARCH, request, timeout=timeout)

    def delete_videos(self, ids: str | Sequence[str], *, model: str = "", timeout: float | None = None) -> DeleteResult:
        """Remove every window of the videos (never retried)."""
        return self.invoke(rpc.DELETE_VIDEOS, convert.delete_request(ids, model), timeout=timeout)

    def index_stats(self, *, model: str = "", ids: str | Sequence[str] = (), timeout: float | None = None) -> IndexStats:
        """Rows and videos in the index of a video model, and which of `ids` are indexed."""
        return self.invoke(rpc.GET_INDEX_STATS, convert.stats_request(model, ids), timeout=timeout)

    def stream(self, method: Rpc[ResultT], request: Message | Iterable[Message], *, timeout: float | None = None) -> Iterator[ResultT]:
        """Call a server-streaming method and yield each message converted. Not retried (a broken
        stream is not resumed); leaving the loop early cancels the call on the server."""
        call, attempts = self._start(method, timeout)
        responses = call(iter(request) if method.client_streaming else request, timeout=attempts.remaining(), metadata=self._metadata)
        try:
            for response in responses:
                yield method.to_result(response)
        except grpc.RpcError as failure:
            raise error_from_rpc(failure) from failure
        finally:
            responses.cancel()

    def analyze_index(self, options: AnalyzeOptions | None = None, *, timeout: float | None = None) -> Iterator[AnalysisProgress | IndexDiagnosis]:
        """Diagnose a collection by its representation space: progress as the server works, then one
        `IndexDiagnosis` (duplicates, outliers, clusters, coverage gaps, drift)."""
        return self.stream(rpc.ANALYZE_INDEX, convert.analyze_request(options or AnalyzeOptions()), timeout=timeout)

    def migrate(self, options: MigrateOptions, *, timeout: float | None = None) -> Iterator[AnalysisProgress | MigrationReport]:
        """Re-index the serving collection into `options.to_model`'s while searches go on, compare
        their recall on `options.queries`, and switch when `options.switch`: progress, then one
        `MigrationReport`. Run it again to resume (docs/operating.md)."""
        return self.stream(rpc.MIGRATE, migrate_request(options), timeout=timeout)

    def serving(self, *, timeout: float | None = None) -> ServingState:
        """Which collection takes calls that name no model, and which one a rollback returns to."""
        return self.invoke(rpc.GET_SERVING, rpc.GET_SERVING.request_type(), timeout=timeout)

    def switch_serving(self, model: str, *, timeout: float | None = None) -> ServingState:
        """Point calls that name no model at `model`'s collection (the one before is kept for a rollback)."""
        return self.invoke(rpc.SWITCH_SERVING, rpc.SWITCH_SERVING.request_type(model=model), timeout=timeout)

    def rollback_serving(self, *, timeout: float | None = None) -> ServingState:
        """Swap the serving and the previous collection back (never retried)."""
        return self.invoke(rpc.ROLLBACK_SERVING, rpc.ROLLBACK_SERVING.request_type(), timeout=timeout)

    def drop_previous(self, *, timeout: float | None = None) -> DropPreviousResult:
        """Drop the collection a rollback would return to, for good (never retried)."""
        return self.invoke(rpc.DROP_PREVIOUS, rpc.DROP_PREVIOUS.request_type(), timeout=timeout)

    def describe(
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
    ) -> Iterator[Caption]:
        """Captions of a video as the server produces them: one per segment of constant meaning
        (`mode="selective"`) or one per window (`"uniform"`)."""
        request = convert.describe_request(
            video, uri=uri, frames_fps=frames_fps, frames_per_clip=frames_per_clip, frame_step=frame_step, fps=fps,
            options=convert.describe_options(
                mode=mode, segmentation=segmentation, threshold=threshold, min_segment_windows=min_segment_windows,
                max_caption_tokens=max_caption_tokens, model=model,
            ),
        )
        return self.stream(rpc.DESCRIBE, request, timeout=timeout)

    def plan(
        self,
        observation: Observation,
        goal: ImageInput | GoalEmbedding,
        options: PlanOptions | None = None,
        *,
        model: str = "",
        timeout: float | None = None,
    ) -> Iterator[PlanIteration | Plan]:
        """Plan actions from `observation` towards `goal` (an image, or a plan's `goal_embedding`):
        one `PlanIteration` per CEM iteration as the server runs it, then the `Plan`. Leaving the
        loop early cancels the search on the server."""
        return self.stream(rpc.PLAN, plan_request(observation, goal, options, model), timeout=timeout)

    def plan_stream(
        self,
        goal: ImageInput | GoalEmbedding,
        observations: Iterable[Observation],
        options: PlanOptions | None = None,
        *,
        model: str = "",
        timeout: float | None = None,
    ) -> Iterator[PlanStep]:
        """Closed-loop MPC: one `PlanStep` per observation, each warm-started from the last plan.
        `observations` is read as the call goes, so it may wait for the robot: e.g.
        `iter(queue.get, None)` over a queue that gets each observation after its step's action ran."""
        return self.stream(rpc.PLAN_STREAM, stream_requests(observations, goal, options, model), timeout=timeout)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
