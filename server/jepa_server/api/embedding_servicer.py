"""jepa.v1.EmbeddingService: EmbedVideo, EmbedText, ListModels."""

from __future__ import annotations

import grpc

from jepa_client.v1 import common_pb2, embedding_pb2, embedding_pb2_grpc
from jepa_server.api import convert
from jepa_server.api.guard import RpcGuard, time_remaining
from jepa_server.core.embedding import Embedder
from jepa_server.settings import Settings


def build_embedding_servicer(embedder: Embedder, guard: RpcGuard, settings: Settings) -> embedding_pb2_grpc.EmbeddingServiceServicer:
    class EmbeddingServicer(embedding_pb2_grpc.EmbeddingServiceServicer):
        @guard.unary("EmbedVideo")
        async def EmbedVideo(self, request: embedding_pb2.EmbedVideoRequest, context: grpc.aio.ServicerContext) -> embedding_pb2.EmbedVideoResponse:
            embedder.metrics.received_bytes.labels("EmbedVideo").inc(request.ByteSize())
            result = await embedder.embed_video(
                convert.video_source(request.video, settings.media_roots),
                convert.sampling_request(request.video.sampling),
                request.model,
                time_remaining(context),
            )
            response = embedding_pb2.EmbedVideoResponse(
                model=convert.model_info(result.model.served, result.model.dimension),
                embedding=convert.embedding(result.embedding),
                frames_decoded=result.frames_decoded,
                num_windows=len(result.window_spans),
                duration_seconds=result.duration_seconds,
            )
            if request.return_windows:
                response.windows.extend(
                    common_pb2.WindowEmbedding(
                        index=span.index,
                        start_seconds=span.start_seconds,
                        end_seconds=span.end_seconds,
                        embedding=convert.embedding(vector),
                    )
                    for span, vector in zip(result.window_spans, result.window_embeddings)
                )
            return response

        @guard.unary("EmbedText")
        async def EmbedText(self, request: embedding_pb2.EmbedTextRequest, context: grpc.aio.ServicerContext) -> embedding_pb2.EmbedTextResponse:
            embedder.metrics.received_bytes.labels("EmbedText").inc(request.ByteSize())
            result = await embedder.embed_text(list(request.texts), request.model, time_remaining(context))
            return embedding_pb2.EmbedTextResponse(
                model=convert.model_info(result.model.served, result.model.dimension),
                embeddings=[convert.embedding(vector) for vector in result.embeddings],
            )

        @guard.unary("ListModels")
        async def ListModels(self, request: embedding_pb2.ListModelsRequest, context: grpc.aio.ServicerContext) -> embedding_pb2.ListModelsResponse:
            registry = embedder.registry
            models = [convert.model_info(m.served, m.dimension) for m in [*registry.video.values(), *registry.text.values()]]
            return embedding_pb2.ListModelsResponse(models=models)

    return EmbeddingServicer()
