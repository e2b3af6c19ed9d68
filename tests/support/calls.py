"""Raw gRPC calls to a gateway: a request message or raw bytes (bypassing every client-side
check), answered with the response or the grpc.RpcError."""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf.message import Message

from jepa_client.v1 import embedding_pb2

EMBEDDING_SERVICE = "/jepa.v1.EmbeddingService/"


class RawCaller:
    def __init__(self, address: str, credentials: grpc.ChannelCredentials | None = None, **channel_options: Any) -> None:
        options = [("grpc.max_send_message_length", 256 << 20), *channel_options.items()]
        self.channel = grpc.secure_channel(address, credentials, options) if credentials else grpc.insecure_channel(address, options)

    def __call__(self, method: str, request: Message | bytes, response_type: type[Message], timeout: float = 60.0, metadata: Any = None) -> Any:
        """`method` is a full path or an EmbeddingService method name."""
        path = method if method.startswith("/") else EMBEDDING_SERVICE + method
        call = self.channel.unary_unary(path, request_serializer=None, response_deserializer=response_type.FromString)
        raw = request if isinstance(request, bytes) else request.SerializeToString()
        try:
            return call(raw, timeout=timeout, metadata=metadata)
        except grpc.RpcError as error:
            return error

    def stream(self, messages: list[embedding_pb2.EmbedVideoChunk], timeout: float = 60.0) -> Any:
        call = self.channel.stream_unary(
            EMBEDDING_SERVICE + "EmbedVideoStream", request_serializer=embedding_pb2.EmbedVideoChunk.SerializeToString,
            response_deserializer=embedding_pb2.EmbedVideoResponse.FromString,
        )
        try:
            return call(iter(messages), timeout=timeout)
        except grpc.RpcError as error:
            return error

    def close(self) -> None:
        self.channel.close()


def fresh_index(settings_type: type, directory_factory: Any) -> dict[str, str]:
    """Settings that give a gateway an index file of its own (Milvus Lite serves a file to one
    client), where the settings have an index at all. `directory_factory`: pytest's tmp_path_factory."""
    if "index_uri" in settings_type.model_fields:
        return {"index_uri": str(directory_factory.mktemp("index") / "index.db")}
    return {}
