"""jepa.v1.EmbeddingService: EmbedVideo, EmbedVideoStream, EmbedText, ListModels."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from jepa_client.v1 import embedding_pb2, embedding_pb2_grpc
from jepa_server.api import convert
from jepa_server.api.guard import RpcGuard, time_remaining
from jepa_server.core.embedding import Embedder
from jepa_server.errors import InvalidInput


def build_embedding_servicer(embedder: Embedder, guard: RpcGuard) -> embedding_pb2_grpc.EmbeddingServiceServicer:
    class EmbeddingServicer(embedding_pb2_grpc.EmbeddingServiceServicer):
        @guard.unary("EmbedVideo")
        async def EmbedVideo(self, request: embedding_pb2.EmbedVideoRequest, context: grpc.aio.ServicerContext) -> embedding_pb2.EmbedVideoResponse:
            embedder.metrics.received_bytes.labels("EmbedVideo").inc(request.ByteSize())
            result = await embedder.embed_video(
                convert.video_source(request.video),
                convert.sampling_request(request.video.sampling),
                request.model,
                time_remaining(context),
            )
            return convert.video_response(result, request.return_windows)

        @guard.unary("EmbedVideoStream")
        async def EmbedVideoStream(
            self, request_iterator: AsyncIterator[embedding_pb2.EmbedVideoChunk], context: grpc.aio.ServicerContext
        ) -> embedding_pb2.EmbedVideoResponse:
            first = await anext(aiter(request_iterator), None)
            if first is None:
                raise InvalidInput("video.encoded", "empty video")

            async def pieces() -> AsyncIterator[bytes]:
                async for chunk in convert.prepend(first, request_iterator):
                    embedder.metrics.received_bytes.labels("EmbedVideoStream").inc(chunk.ByteSize())
                    yield chunk.data

            result = await embedder.embed_upload(pieces(), convert.sampling_request(first.sampling), first.model, time_remaining(context))
            return convert.video_response(result, first.return_windows)

        @guard.unary("EmbedText")
        async def EmbedText(self, request: embedding_pb2.EmbedTextRequest, context: grpc.aio.ServicerContext) -> embedding_pb2.EmbedTextResponse:
            embedder.metrics.received_bytes.labels("EmbedText").inc(request.ByteSize())
            result = await embedder.embed_text(list(request.texts), request.model, time_remaining(context))
            return embedding_pb2.EmbedTextResponse(
                model=convert.model_info(result.model.info),
                embeddings=[convert.embedding(vector) for vector in result.embeddings],
            )

        @guard.unary("ListModels")
        async def ListModels(self, request: embedding_pb2.ListModelsRequest, context: grpc.aio.ServicerContext) -> embedding_pb2.ListModelsResponse:
            return embedding_pb2.ListModelsResponse(models=[convert.model_info(model) for model in embedder.registry.models()])

    return EmbeddingServicer()
