"""jepa.v1.RetrievalService: IndexVideos, Search, DeleteVideos, GetIndexStats, AnalyzeIndex, and the model
migration: Migrate, GetServing, SwitchServing, RollbackServing, DropPrevious."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import grpc
import numpy as np
from google.protobuf.message import Message

from jepa_client.v1 import retrieval_pb2, retrieval_pb2_grpc
from jepa_server.api import convert
from jepa_server.api.guard import RpcGuard, time_remaining
from jepa_server.api.status import status_of
from jepa_client.diagnosis import AnalysisProgress, AnalyzeOptions, TimeRange, fill_message, from_message
from jepa_client.migration import MigrateOptions
from jepa_server.core.diagnostics.analyzer import IndexAnalyzer
from jepa_server.core.migration import Migration, Migrator
from jepa_server.core.retrieval import (
    IndexItem,
    IndexedVideo,
    Query,
    FailedItem,
    Retriever,
    SearchHit,
    TextQuery,
    VectorQuery,
    VideoQuery,
    parse_metadata,
)
from jepa_server.errors import GatewayError, InvalidInput
from jepa_server.settings import Settings


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


def _index_item(request: retrieval_pb2.IndexVideosRequest, settings: Settings) -> IndexItem | FailedItem:
    try:
        return IndexItem(
            video_id=request.id,
            source=convert.video_source(request.video),
            sampling=convert.sampling_request(request.video.sampling),
            metadata=parse_metadata(request.metadata_json, settings.max_metadata_bytes),
            model=request.model,
        )
    except GatewayError as error:
        return FailedItem(request.id, error)


def _indexed_video(outcome: IndexedVideo | FailedItem) -> retrieval_pb2.IndexedVideo:
    if isinstance(outcome, FailedItem):
        code, message = status_of(outcome.error)
        return retrieval_pb2.IndexedVideo(id=outcome.video_id, code=code.value[0], error=message)
    indexed = outcome
    return retrieval_pb2.IndexedVideo(
        id=indexed.video_id, num_windows=indexed.num_windows, duration_seconds=indexed.duration_seconds, collection=indexed.collection
    )


def analyze_options(request: retrieval_pb2.AnalyzeIndexRequest) -> AnalyzeOptions:
    has_reference, has_current = request.HasField("drift_reference"), request.HasField("drift_current")
    if has_reference != has_current:
        raise InvalidInput("drift_current" if has_reference else "drift_reference", "drift needs both time ranges, or neither")
    drift = None
    if has_reference:
        reference, current = request.drift_reference, request.drift_current
        drift = (TimeRange(reference.start_unix_s, reference.end_unix_s), TimeRange(current.start_unix_s, current.end_unix_s))
    return AnalyzeOptions(
        model=request.model, filter=request.filter, max_rows=request.max_rows, duplicate_threshold=request.duplicate_threshold,
        outlier_neighbours=request.outlier_neighbours, min_cluster_size=request.min_cluster_size, captions=request.captions,
        gap_threshold=request.gap_threshold, drift=drift, top_outliers=request.top_outliers, map_points=request.map_points, seed=request.seed,
    )


def _migration_report(migration: Migration) -> retrieval_pb2.MigrationReport:
    message = retrieval_pb2.MigrationReport()
    fill_message(message, migration.report)
    for item in migration.failed:
        code, error = status_of(item.error)
        message.failed.add(id=item.video_id, code=code.value[0], error=error)
    return message


def build_retrieval_servicer(
    retriever: Retriever, analyzer: IndexAnalyzer, migrator: Migrator, guard: RpcGuard, settings: Settings
) -> retrieval_pb2_grpc.RetrievalServiceServicer:
    class RetrievalServicer(retrieval_pb2_grpc.RetrievalServiceServicer):
        @guard.unary("IndexVideos")
        async def IndexVideos(
            self, request_iterator: AsyncIterator[retrieval_pb2.IndexVideosRequest], context: grpc.aio.ServicerContext
        ) -> retrieval_pb2.IndexVideosResponse:
            async def items() -> AsyncIterator[IndexItem | FailedItem]:
                async for request in request_iterator:
                    retriever.metrics.received_bytes.labels("IndexVideos").inc(request.ByteSize())
                    yield _index_item(request, settings)

            outcomes = await retriever.index_videos(items(), time_remaining(context))
            return retrieval_pb2.IndexVideosResponse(items=[_indexed_video(outcome) for outcome in outcomes])

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

        @guard.stream("AnalyzeIndex")
        async def AnalyzeIndex(self, request: retrieval_pb2.AnalyzeIndexRequest, context: grpc.aio.ServicerContext) -> AsyncIterator[retrieval_pb2.AnalyzeIndexEvent]:
            async for event in analyzer.analyze(analyze_options(request), time_remaining(context)):
                if isinstance(event, AnalysisProgress):
                    yield retrieval_pb2.AnalyzeIndexEvent(progress=fill_message(retrieval_pb2.AnalysisProgress(), event))
                else:
                    yield retrieval_pb2.AnalyzeIndexEvent(diagnosis=fill_message(retrieval_pb2.IndexDiagnosis(), event))

        @guard.stream("Migrate")
        async def Migrate(self, request: retrieval_pb2.MigrateRequest, context: grpc.aio.ServicerContext) -> AsyncIterator[retrieval_pb2.MigrateEvent]:
            async for event in migrator.migrate(from_message(MigrateOptions, request), time_remaining(context)):
                if isinstance(event, AnalysisProgress):
                    yield retrieval_pb2.MigrateEvent(progress=fill_message(retrieval_pb2.AnalysisProgress(), event))
                else:
                    yield retrieval_pb2.MigrateEvent(report=_migration_report(event))

        @guard.unary("GetServing")
        async def GetServing(self, request: retrieval_pb2.GetServingRequest, context: grpc.aio.ServicerContext) -> Message:
            return fill_message(retrieval_pb2.ServingState(), await migrator.state())

        @guard.unary("SwitchServing")
        async def SwitchServing(self, request: retrieval_pb2.SwitchServingRequest, context: grpc.aio.ServicerContext) -> Message:
            return fill_message(retrieval_pb2.ServingState(), await migrator.switch(request.model))

        @guard.unary("RollbackServing")
        async def RollbackServing(self, request: retrieval_pb2.RollbackServingRequest, context: grpc.aio.ServicerContext) -> Message:
            return fill_message(retrieval_pb2.ServingState(), await migrator.rollback())

        @guard.unary("DropPrevious")
        async def DropPrevious(self, request: retrieval_pb2.DropPreviousRequest, context: grpc.aio.ServicerContext) -> Message:
            return fill_message(retrieval_pb2.DropPreviousResponse(), await migrator.drop_previous())

    return RetrievalServicer()
