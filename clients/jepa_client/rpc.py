"""The jepa.v1 methods the clients call: wire path, message types, retry safety, result conversion.

Adding a method to the SDK is one entry here plus a one-line wrapper in each client.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Any, Generic, TypeVar

from google.protobuf import message_factory
from google.protobuf.message import Message

from jepa_client import convert, diagnosis, migration, planning
from jepa_client.results import IndexReport
from jepa_client.v1 import describe_pb2, embedding_pb2, planning_pb2, retrieval_pb2

ResultT = TypeVar("ResultT")


@dataclass(frozen=True)
class Rpc(Generic[ResultT]):
    """One method with one response. `idempotent`: sending it twice has the effect of sending it
    once, so a call that failed with UNAVAILABLE may be resent (true of IndexVideos, which replaces
    the rows of each id it writes; not of DeleteVideos, whose answer says what the call removed).
    `client_streaming`: the request is an iterable of messages, iterated again on a retry."""

    path: str
    request_type: type[Message]
    response_type: type[Message]
    idempotent: bool
    to_result: Callable[[Any], ResultT]
    client_streaming: bool = False
    # The response is a stream of messages, each converted by `to_result` (e.g. Describe's captions).
    server_streaming: bool = False


def rpc(stubs: ModuleType, service: str, method: str, *, idempotent: bool, to_result: Callable[[Any], ResultT]) -> Rpc[ResultT]:
    """The Rpc of `service.method` as declared in the generated `stubs` module (fails at import if absent)."""
    descriptor = stubs.DESCRIPTOR.services_by_name[service].methods_by_name[method]
    return Rpc(
        path=f"/{descriptor.containing_service.full_name}/{descriptor.name}",
        request_type=message_factory.GetMessageClass(descriptor.input_type),
        response_type=message_factory.GetMessageClass(descriptor.output_type),
        idempotent=idempotent,
        to_result=to_result,
        client_streaming=descriptor.client_streaming,
        server_streaming=descriptor.server_streaming,
    )


EMBED_VIDEO = rpc(embedding_pb2, "EmbeddingService", "EmbedVideo", idempotent=True, to_result=convert.video_embedding)
EMBED_TEXT = rpc(embedding_pb2, "EmbeddingService", "EmbedText", idempotent=True, to_result=convert.text_embeddings)
EMBED_VIDEO_STREAM = rpc(embedding_pb2, "EmbeddingService", "EmbedVideoStream", idempotent=True, to_result=convert.video_embedding)
LIST_MODELS = rpc(embedding_pb2, "EmbeddingService", "ListModels", idempotent=True, to_result=convert.model_list)
INDEX_VIDEOS = rpc(retrieval_pb2, "RetrievalService", "IndexVideos", idempotent=True, to_result=convert.index_report)
SEARCH = rpc(retrieval_pb2, "RetrievalService", "Search", idempotent=True, to_result=convert.search_results)
DELETE_VIDEOS = rpc(retrieval_pb2, "RetrievalService", "DeleteVideos", idempotent=False, to_result=convert.delete_result)
GET_INDEX_STATS = rpc(retrieval_pb2, "RetrievalService", "GetIndexStats", idempotent=True, to_result=convert.index_stats)
ANALYZE_INDEX = rpc(retrieval_pb2, "RetrievalService", "AnalyzeIndex", idempotent=True, to_result=diagnosis.analysis_event)
DESCRIBE = rpc(describe_pb2, "DescribeService", "Describe", idempotent=True, to_result=convert.caption)
DESCRIBE_STREAM = rpc(describe_pb2, "DescribeService", "DescribeStream", idempotent=False, to_result=convert.caption)
MIGRATE = rpc(retrieval_pb2, "RetrievalService", "Migrate", idempotent=False, to_result=migration.migrate_event)
GET_SERVING = rpc(retrieval_pb2, "RetrievalService", "GetServing", idempotent=True, to_result=migration.serving_state)
SWITCH_SERVING = rpc(retrieval_pb2, "RetrievalService", "SwitchServing", idempotent=True, to_result=migration.serving_state)
ROLLBACK_SERVING = rpc(retrieval_pb2, "RetrievalService", "RollbackServing", idempotent=False, to_result=migration.serving_state)
DROP_PREVIOUS = rpc(retrieval_pb2, "RetrievalService", "DropPrevious", idempotent=False, to_result=migration.drop_previous_result)
PLAN = rpc(planning_pb2, "PlanService", "Plan", idempotent=True, to_result=planning.plan_event)
# Each observation answers with an action the robot executes: a broken stream is never resent.
PLAN_STREAM = rpc(planning_pb2, "PlanService", "PlanStream", idempotent=False, to_result=planning.plan_step)


def index_videos(requests: convert.IndexRequests) -> Rpc[IndexReport]:
    """IndexVideos for these requests: retried when they can be sent again, never when their items
    come from a one-shot iterator (a retry would send only the items not read yet)."""
    return INDEX_VIDEOS if requests.replayable else replace(INDEX_VIDEOS, idempotent=False)
