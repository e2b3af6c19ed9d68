"""jepa.v1.EmbeddingService: EmbedVideo, EmbedVideoStream, EmbedText, ListModels."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from jepa_client.v1 import embedding_pb2, embedding_pb2_grpc
from jepa_server.api import convert
from jepa_server.api.guard import RpcGuard, time_remaining
from jepa_server.core.embedding import Embedder
from jepa_server.media.spool import spooled_upload
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
            return convert.video_response(result, request.return_windows)

        @guard.unary("EmbedVideoStream")
        async def EmbedVideoStream(
            self, request_iterator: AsyncIterator[embedding_pb2.EmbedVideoChunk], context: grpc.aio.ServicerContext
        ) -> embedding_pb2.EmbedVideoResponse:
            chunks: list[embedding_pb2.EmbedVideoChunk] = []  # the first one only: it holds the options

            async def pieces() -> AsyncIterator[bytes]:
                async for chunk in request_iterator:
                    if not chunks:
                        chunks.append(chunk)
                        embedder.registry.video_model(chunk.model)  # an unknown model fails before the upload
                    embedder.metrics.received_bytes.labels("EmbedVideoStream").inc(chunk.ByteSize())
                    yield chunk.data

            async with spooled_upload(pieces(), settings.max_upload_bytes, settings.upload_dir) as video:
                first = chunks[0]
                result = await embedder.embed_video(video, convert.sampling_request(first.sampling), first.model, time_remaining(context))
            return convert.video_response(result, first.return_windows)

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
