"""jepa.v1.RetrievalService: IndexVideos, Search, DeleteVideos, GetIndexStats."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import grpc
import numpy as np

from jepa_client.v1 import retrieval_pb2, retrieval_pb2_grpc
from jepa_server.api import convert
from jepa_server.api.guard import RpcGuard, time_remaining
from jepa_server.api.status import status_of
from jepa_server.core.registry import VideoModel
from jepa_server.core.retrieval import IndexItem, Query, Retriever, SearchHit, TextQuery, VectorQuery, VideoQuery
from jepa_server.errors import InvalidInput, LimitExceeded
from jepa_server.settings import Settings

log = logging.getLogger("jepa_server.rpc")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_metadata(text: str, max_bytes: int) -> dict[str, Any]:
    """The metadata JSON object of an item ("" = {})."""
    size = len(text.encode())
    if size > max_bytes:
        raise LimitExceeded("metadata_json", f"{size} bytes, the limit is {max_bytes}")
    if not text.strip():
        return {}
    try:
        metadata = json.loads(text, parse_constant=_reject_constant)
    except ValueError as error:
        raise InvalidInput("metadata_json", f"not valid JSON ({error})") from error
    if not isinstance(metadata, dict):
        raise InvalidInput("metadata_json", f"must be a JSON object, got {type(metadata).__name__}")
    return metadata


def _query(request: retrieval_pb2.SearchRequest, settings: Settings) -> Query:
    kind = request.WhichOneof("query")
    if kind == "text":
        return TextQuery(request.text, request.text_model)
    if kind == "video":
        return VideoQuery(convert.video_source(request.video), convert.sampling_request(request.video.sampling))
    if kind == "embedding":
        return VectorQuery(np.asarray(request.embedding.values, dtype=np.float32))
    raise InvalidInput("query", "set one of text, video or embedding")


def _search_hit(hit: SearchHit) -> retrieval_pb2.SearchHit:
    moment = hit.moment or (0.0, 0.0)
    return retrieval_pb2.SearchHit(
        video_id=hit.video_id,
        score=hit.score,
        window_index=hit.window_index,
        start_seconds=hit.start_seconds,
        end_seconds=hit.end_seconds,
        metadata_json=json.dumps(hit.metadata),
        moment_start_seconds=moment[0],
        moment_end_seconds=moment[1],
    )


def build_retrieval_servicer(retriever: Retriever, guard: RpcGuard, settings: Settings) -> retrieval_pb2_grpc.RetrievalServiceServicer:
    async def index_one(request: retrieval_pb2.IndexVideosRequest, timeout_s: float | None) -> tuple[retrieval_pb2.IndexedVideo, VideoModel | None]:
        """One item, whatever happens to it: its failure is its own result, not the call's."""
        try:
            item = IndexItem(
                video_id=request.id,
                source=convert.video_source(request.video),
                sampling=convert.sampling_request(request.video.sampling),
                metadata=parse_metadata(request.metadata_json, settings.max_metadata_bytes),
                model=request.model,
            )
            indexed = await retriever.index_video(item, timeout_s)
        except Exception as error:  # noqa: BLE001 - reported per item
            code, message = status_of(error)
            if code == grpc.StatusCode.INTERNAL:
                log.error("IndexVideos item %r failed", request.id, exc_info=error)
            return retrieval_pb2.IndexedVideo(id=request.id, code=code.value[0], error=message), None
        result = retrieval_pb2.IndexedVideo(
            id=request.id, num_windows=indexed.num_windows, duration_seconds=indexed.duration_seconds, collection=indexed.collection
        )
        return result, indexed.model

    async def bounded(slots: asyncio.Semaphore, request: retrieval_pb2.IndexVideosRequest, timeout_s: float | None):
        try:
            return await index_one(request, timeout_s)
        finally:
            slots.release()

    class RetrievalServicer(retrieval_pb2_grpc.RetrievalServiceServicer):
        @guard.unary("IndexVideos")
        async def IndexVideos(
            self, request_iterator: AsyncIterator[retrieval_pb2.IndexVideosRequest], context: grpc.aio.ServicerContext
        ) -> retrieval_pb2.IndexVideosResponse:
            # At most index_concurrency items are in work; reading the stream waits for a free slot.
            slots = asyncio.Semaphore(settings.index_concurrency)
            loop = asyncio.get_running_loop()
            pending: list[asyncio.Future] = []
            try:
                async for request in request_iterator:
                    retriever.metrics.received_bytes.labels("IndexVideos").inc(request.ByteSize())
                    if len(pending) >= settings.max_index_items:
                        refused = loop.create_future()
                        problem = f"max_index_items: more than {settings.max_index_items} items in one call; send the rest in another"
                        refused.set_result((retrieval_pb2.IndexedVideo(id=request.id, code=grpc.StatusCode.RESOURCE_EXHAUSTED.value[0], error=problem), None))
                        pending.append(refused)
                        continue
                    await slots.acquire()
                    pending.append(asyncio.ensure_future(bounded(slots, request, time_remaining(context))))
                outcomes = await asyncio.gather(*pending)
            finally:
                for future in pending:
                    future.cancel()
            await retriever.refresh_row_gauge(model for _, model in outcomes if model is not None)
            return retrieval_pb2.IndexVideosResponse(items=[item for item, _ in outcomes])

        @guard.unary("Search")
        async def Search(self, request: retrieval_pb2.SearchRequest, context: grpc.aio.ServicerContext) -> retrieval_pb2.SearchResponse:
            retriever.metrics.received_bytes.labels("Search").inc(request.ByteSize())
            result = await retriever.search(
                _query(request, settings), request.top_k, request.filter, request.model, request.moments, time_remaining(context)
            )
            return retrieval_pb2.SearchResponse(
                model=convert.model_info(result.model), collection=result.collection, hits=[_search_hit(hit) for hit in result.hits]
            )

        @guard.unary("DeleteVideos")
        async def DeleteVideos(self, request: retrieval_pb2.DeleteVideosRequest, context: grpc.aio.ServicerContext) -> retrieval_pb2.DeleteVideosResponse:
            deleted_ids, rows = await retriever.delete(list(request.ids), request.model)
            return retrieval_pb2.DeleteVideosResponse(deleted_ids=deleted_ids, rows_deleted=rows)

        @guard.unary("GetIndexStats")
        async def GetIndexStats(self, request: retrieval_pb2.GetIndexStatsRequest, context: grpc.aio.ServicerContext) -> retrieval_pb2.GetIndexStatsResponse:
            result = await retriever.stats(request.model, list(request.ids))
            return retrieval_pb2.GetIndexStatsResponse(
                model=convert.model_info(result.model),
                collection=result.collection,
                rows=result.rows,
                videos=result.videos,
                indexed_ids=result.indexed_ids,
                backend=result.backend,
                index_type=result.index_type,
            )

    return RetrievalServicer()
