"""Text-to-video retrieval: videos go into the index as windows, queries come out as ranked videos
with their best-matching moment."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import AsyncIterable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from jepa_server.core.diagnostics.queries import QuerySample
from jepa_server.core.embedding import Embedder, SamplingRequest
from jepa_server.core.registry import ModelInfo, VideoModel
from jepa_server.core.segmenter import segment_offline
from jepa_server.core.serving import ServingAlias
from jepa_server.core.sources import MediaUri, RequestVideo
from jepa_server.errors import FailedPrecondition, GatewayError, InvalidInput, LimitExceeded, ModelFailure, SpaceMismatch
from jepa_server.index.milvus import MAX_VIDEO_ID_CHARS, CollectionSpec, MilvusIndex, VideoHit, WindowRow, row_filter
from jepa_server.settings import Settings

DEFAULT_TOP_K = 10
# The metadata key that remembers which file under the media roots a video indexed by URI came from
# (the search page plays it from there); a caller's own value is kept.
SOURCE_URI_KEY = "source_uri"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
log = logging.getLogger("jepa_server.retrieval")


@dataclass(frozen=True)
class IndexItem:
    video_id: str
    source: RequestVideo
    sampling: SamplingRequest
    metadata: dict[str, Any]
    model: str = ""


@dataclass(frozen=True)
class FailedItem:
    """An item of a batch that failed alone: its front end could not read it (no video, bad
    metadata), or indexing it failed."""

    video_id: str
    error: Exception


@dataclass(frozen=True)
class IndexedVideo:
    video_id: str
    num_windows: int
    duration_seconds: float
    model: VideoModel
    collection: str


@dataclass(frozen=True)
class TextQuery:
    text: str
    text_model: str = ""


@dataclass(frozen=True)
class VideoQuery:
    source: RequestVideo
    sampling: SamplingRequest


@dataclass(frozen=True)
class VectorQuery:
    values: np.ndarray


Query = TextQuery | VideoQuery | VectorQuery


@dataclass(frozen=True)
class SearchHit(VideoHit):
    """A video, its score and best-matching window, and (when asked for) the moment around it."""

    moment: tuple[float, float] | None = None


@dataclass(frozen=True)
class SearchResult:
    model: ModelInfo
    collection: str
    hits: list[SearchHit]


@dataclass(frozen=True)
class IndexStats:
    model: ModelInfo
    collection: str
    rows: int
    videos: int
    indexed_ids: list[str]
    backend: str
    index_type: str


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def check_metadata(metadata: Any, max_bytes: int, field: str = "metadata") -> dict[str, Any]:
    """An item's metadata: a JSON object within the size limit."""
    if not isinstance(metadata, dict):
        raise InvalidInput(field, f"must be a JSON object, got {type(metadata).__name__}")
    try:
        size = len(json.dumps(metadata, allow_nan=False).encode())
    except ValueError as error:
        raise InvalidInput(field, f"not valid JSON ({error})") from error
    if size > max_bytes:
        raise LimitExceeded(field, f"{size} bytes, the limit is {max_bytes}")
    return metadata


def parse_metadata(text: str, max_bytes: int, field: str = "metadata_json") -> dict[str, Any]:
    """The metadata JSON object of an item, given as text ("" = {})."""
    size = len(text.encode())
    if size > max_bytes:
        raise LimitExceeded(field, f"{size} bytes, the limit is {max_bytes}")
    if not text.strip():
        return {}
    try:
        metadata = json.loads(text, parse_constant=_reject_constant)
    except ValueError as error:
        raise InvalidInput(field, f"not valid JSON ({error})") from error
    return check_metadata(metadata, max_bytes, field)


def _search_hit(hit: VideoHit, moment: tuple[float, float] | None) -> SearchHit:
    return SearchHit(**vars(hit), moment=moment)


def check_video_id(video_id: str, field: str) -> None:
    if not video_id:
        raise InvalidInput(field, "empty id")
    if len(video_id) > MAX_VIDEO_ID_CHARS:
        raise InvalidInput(field, f"{len(video_id)} characters, at most {MAX_VIDEO_ID_CHARS}")
    if _CONTROL.search(video_id):
        raise InvalidInput(field, "contains control characters")


def moment(windows: Sequence[WindowRow], best_window: int, threshold: float) -> tuple[float, float]:
    """The segment of constant meaning that holds the best window (the offline segmenter Describe
    uses): an event comes back whole and stops where the next one starts, even when the two share
    words with the query. Segments never bridge a window missing from `windows`."""
    peak = next(position for position, window in enumerate(windows) if window.window_index == best_window)
    first = last = peak
    while first > 0 and windows[first - 1].window_index == windows[first].window_index - 1:
        first -= 1
    while last < len(windows) - 1 and windows[last + 1].window_index == windows[last].window_index + 1:
        last += 1
    run = windows[first : last + 1]
    segment = next(
        segment
        for segment in segment_offline(np.stack([window.embedding for window in run]), threshold)
        if segment.first_window <= peak - first <= segment.last_window
    )
    return run[segment.first_window].start_seconds, run[segment.last_window].end_seconds


class Retriever:
    """Indexes videos with the Embedder and searches the Milvus collection of each video model."""

    def __init__(self, embedder: Embedder, index: MilvusIndex, settings: Settings) -> None:
        self.embedder = embedder
        self.index = index
        self.settings = settings
        self.metrics = embedder.metrics
        # Recent text queries per collection, for the coverage diagnosis (empty unless opted in).
        self.queries = QuerySample(settings.query_sample_size)
        self.serving = ServingAlias(index, settings.serving_alias, settings.serving_alias_ttl_s)

    @staticmethod
    def collection(model: VideoModel) -> CollectionSpec:
        info = model.info
        return CollectionSpec(model=info.name, version=info.version, dimension=info.dimension, embedding_space=info.embedding_space)

    def model_writing(self, collection: str) -> VideoModel | None:
        """The served video model whose collection this is."""
        return next((model for model in self.embedder.registry.video.values() if self.collection(model).name == collection), None)

    async def video_model(self, name: str) -> VideoModel:
        """The model `name`; for "", the one whose collection serves (see `ServingAlias`), else the default."""
        model = self.embedder.registry.video_model(name)
        if name:
            return model
        collection = await self.serving.collection()
        if collection is None or collection == self.collection(model).name:
            return model
        serving = self.model_writing(collection)
        if serving is None:
            raise FailedPrecondition(
                "model", f"calls that name no model go to collection {collection} (alias {self.serving.alias}), which no served video "
                "model writes: serve its model, name a model, or roll back (jepa-serve migrate --rollback)",
            )
        return serving

    def _checked_ids(self, video_ids: Sequence[str]) -> list[str]:
        if len(video_ids) > self.settings.max_ids:
            raise LimitExceeded("ids", f"got {len(video_ids)} ids, the limit is {self.settings.max_ids}")
        for position, video_id in enumerate(video_ids):
            check_video_id(video_id, f"ids[{position}]")
        return list(dict.fromkeys(video_ids))

    async def index_video(self, item: IndexItem, timeout_s: float | None = None) -> IndexedVideo:
        """Embed every window of the video and replace the id's rows with them."""
        check_video_id(item.video_id, "id")
        model = await self.video_model(item.model)
        embedded = await self.embedder.embed_video(item.source, item.sampling, model.info.name, timeout_s)
        windows = [
            WindowRow(span.index, span.start_seconds, span.end_seconds, vector)
            for span, vector in zip(embedded.window_spans, embedded.window_embeddings)
        ]
        spec = self.collection(model)
        metadata = item.metadata
        if isinstance(item.source, MediaUri):
            metadata = {SOURCE_URI_KEY: item.source.uri, **metadata}
        with self.metrics.stage("index"):
            await self.index.replace_video(spec, item.video_id, windows, metadata)
        return IndexedVideo(item.video_id, len(windows), embedded.duration_seconds, model, spec.name)

    async def index_videos(
        self, items: AsyncIterable[IndexItem | FailedItem], timeout_s: float | None = None,
        finished: Callable[[IndexedVideo | FailedItem], None] | None = None,
    ) -> list[IndexedVideo | FailedItem]:
        """Index a batch, `index_concurrency` items at a time (reading `items` waits beyond), each
        item's failure its own; items beyond `max_index_items` are refused, the rest still run.
        `finished` hears of each item indexed (or failed) as it ends."""
        slots = asyncio.Semaphore(self.settings.index_concurrency)
        pending: list[asyncio.Future[IndexedVideo | FailedItem]] = []
        loop = asyncio.get_running_loop()

        def settled(outcome: IndexedVideo | FailedItem) -> asyncio.Future[IndexedVideo | FailedItem]:
            future: asyncio.Future[IndexedVideo | FailedItem] = loop.create_future()
            future.set_result(outcome)
            return future

        async def bounded(item: IndexItem) -> IndexedVideo | FailedItem:
            try:
                outcome = await self._index_outcome(item, timeout_s)
            finally:
                slots.release()
            if finished is not None:
                finished(outcome)
            return outcome

        try:
            async for item in items:
                if len(pending) >= self.settings.max_index_items:
                    limit = self.settings.max_index_items
                    refusal = LimitExceeded("max_index_items", f"more than {limit} items in one call; send the rest in another")
                    pending.append(settled(FailedItem(item.video_id, refusal)))
                elif isinstance(item, FailedItem):
                    pending.append(settled(item))
                else:
                    await slots.acquire()
                    pending.append(asyncio.ensure_future(bounded(item)))
            outcomes = list(await asyncio.gather(*pending))
        finally:
            for future in pending:
                future.cancel()
        written = {spec.name: spec for spec in (self.collection(outcome.model) for outcome in outcomes if isinstance(outcome, IndexedVideo))}
        for spec in written.values():
            await self.index.seal(spec)
        await self._refresh_rows(written.values())
        return outcomes

    async def _index_outcome(self, item: IndexItem, timeout_s: float | None) -> IndexedVideo | FailedItem:
        try:
            return await self.index_video(item, timeout_s)
        except Exception as error:  # noqa: BLE001 - reported per item
            if not isinstance(error, GatewayError) or isinstance(error, ModelFailure):
                log.error("indexing item %r failed", item.video_id, exc_info=error)
            return FailedItem(item.video_id, error)

    async def _refresh_rows(self, collections: Iterable[CollectionSpec]) -> None:
        for spec in {spec.name: spec for spec in collections}.values():
            stats = await self.index.stats(spec)
            self.metrics.index_rows.labels(spec.name).set(stats.rows)

    async def search(
        self, query: Query, top_k: int, filter_text: str = "", model_name: str = "", moments: bool = False, timeout_s: float | None = None
    ) -> SearchResult:
        """The best `top_k` videos for the query, each with its best window (and moment, if asked)."""
        if top_k > self.settings.max_top_k:
            raise LimitExceeded("top_k", f"got {top_k}, the limit is {self.settings.max_top_k}")
        expression = row_filter(filter_text, self.settings.max_filter_chars)
        model = await self.video_model(model_name)
        spec = self.collection(model)
        vector = await self._query_vector(query, model, spec, timeout_s)
        with self.metrics.stage("search"):
            hits = await self.index.search(spec, vector, top_k or DEFAULT_TOP_K, expression)
            moments_by_video = await self._moments(spec, hits, expression) if moments else {}
        return SearchResult(model.info, spec.name, [_search_hit(hit, moments_by_video.get(hit.video_id)) for hit in hits])

    async def _moments(self, spec: CollectionSpec, hits: list[VideoHit], expression: str) -> dict[str, tuple[float, float]]:
        if not hits:
            return {}
        windows = await self.index.video_windows(spec, [hit.video_id for hit in hits], expression)
        return {hit.video_id: moment(windows[hit.video_id], hit.window_index, self.settings.moment_threshold) for hit in hits}

    async def _query_vector(self, query: Query, model: VideoModel, spec: CollectionSpec, timeout_s: float | None) -> np.ndarray:
        if isinstance(query, TextQuery):
            if not query.text.strip():
                raise InvalidInput("text", "empty text")
            text_model = self.embedder.registry.text_model(query.text_model)
            if text_model.info.embedding_space != spec.embedding_space or text_model.dimension != spec.dimension:
                raise SpaceMismatch(
                    "model",
                    f"text model {text_model.info.name} (space {text_model.info.embedding_space!r}, {text_model.dimension}-d) cannot "
                    f"search video model {spec.model} (space {spec.embedding_space!r}, {spec.dimension}-d): text search needs a video "
                    "model of the text model's embedding space, such as a vljepa_video pipeline",
                )
            embedded = await self.embedder.embed_text([query.text], text_model.info.name, timeout_s)
            self.queries.record(spec.name, query.text, embedded.embeddings[0], time.time())
            return embedded.embeddings[0]
        if isinstance(query, VideoQuery):
            return (await self.embedder.embed_video(query.source, query.sampling, model.info.name, timeout_s)).embedding
        values = np.asarray(query.values, dtype=np.float32)
        if values.shape != (spec.dimension,):
            raise InvalidInput("embedding", f"got {values.size} values, collection {spec.name} has dimension {spec.dimension}")
        if not np.isfinite(values).all() or not np.any(values):
            raise InvalidInput("embedding", "values must be finite and not all zero")
        return values

    async def delete(self, video_ids: Sequence[str], model_name: str = "") -> tuple[list[str], int]:
        """Remove every window of the videos: (ids that had rows, rows removed)."""
        ids = self._checked_ids(video_ids)
        if not ids:
            raise InvalidInput("ids", "at least one id is required")
        spec = self.collection(await self.video_model(model_name))
        with self.metrics.stage("index"):
            deleted = await self.index.delete_videos(spec, ids)
        await self._refresh_rows([spec])
        return deleted

    async def stats(self, model_name: str = "", video_ids: Sequence[str] = ()) -> IndexStats:
        model = await self.video_model(model_name)
        spec = self.collection(model)
        stats = await self.index.stats(spec, self._checked_ids(video_ids))
        self.metrics.index_rows.labels(spec.name).set(stats.rows)
        return IndexStats(model.info, spec.name, stats.rows, stats.videos, stats.indexed_ids, self.index.backend, stats.index_type)
