"""Gateways with settings of their own (small limits, TLS, tokens) in front of the session Triton,
and raw gRPC calls that send exactly the bytes a test wants."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message

from jepa_client.v1 import embedding_pb2
from support.gateway import GatewayThread

EMBEDDING_SERVICE = "/jepa.v1.EmbeddingService/"


def _fresh_index(settings_type: type, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    # Each gateway gets an index file of its own (Milvus Lite serves one file to one client).
    if "index_uri" in settings_type.model_fields:
        return {"index_uri": str(tmp_path_factory.mktemp("index") / "index.db")}
    return {}


@pytest.fixture(scope="module")
def start_gateway(gateway: GatewayThread, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., GatewayThread]]:
    """start_gateway(**settings) -> a gateway like the session one (same Triton, same media root)
    with those settings changed; stopped when the module ends."""
    from jepa_server.settings import Settings

    started: list[GatewayThread] = []

    def start(ready_timeout_s: float | None = 120.0, **overrides: Any) -> GatewayThread:
        fields = {**gateway.settings.model_dump(), "port": 0, "metrics_port": 0, **_fresh_index(Settings, tmp_path_factory), **overrides}
        thread = GatewayThread(Settings(**fields))
        started.append(thread)
        return thread.start(ready_timeout_s)

    yield start
    for thread in started:
        thread.stop()


class RawCaller:
    """Calls gateway methods with a request message or raw bytes (bypassing client-side checks);
    returns the response or the grpc.RpcError."""

    def __init__(self, address: str, credentials: grpc.ChannelCredentials | None = None, **channel_options: Any) -> None:
        options = [("grpc.max_send_message_length", 256 << 20), *channel_options.items()]
        self.channel = grpc.secure_channel(address, credentials, options) if credentials else grpc.insecure_channel(address, options)

    def __call__(self, method: str, request: Message | bytes, response_type: type[Message], timeout: float = 60.0, metadata: Any = None) -> Any:
        path = method if method.startswith("/") else EMBEDDING_SERVICE + method
        call = self.channel.unary_unary(path, request_serializer=None, response_deserializer=response_type.FromString)
        raw = request if isinstance(request, bytes) else request.SerializeToString()
        try:
            return call(raw, timeout=timeout, metadata=metadata)
        except grpc.RpcError as error:
            return error

    def stream(self, messages: list[Message], timeout: float = 60.0) -> Any:
        call = self.channel.stream_unary(
            EMBEDDING_SERVICE + "EmbedVideoStream", request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=embedding_pb2.EmbedVideoResponse.FromString,
        )
        try:
            return call(iter(messages), timeout=timeout)
        except grpc.RpcError as error:
            return error

    def close(self) -> None:
        self.channel.close()


@pytest.fixture(scope="module")
def raw_caller(gateway: GatewayThread) -> Iterator[RawCaller]:
    caller = RawCaller(gateway.address)
    yield caller
    caller.close()
