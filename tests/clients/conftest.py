"""A real gRPC EmbeddingService on a localhost port for the client tests, with TLS variants.

The servicer answers deterministically from the request (so tests can predict every value),
records what reached it (request, metadata, deadline), and fails on demand:
`unavailable_failures` calls fail with UNAVAILABLE first (IndexVideos once it has read its whole stream); `model="status:NAME"` aborts with that
status; `model="slow"` outlives short deadlines.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest

from jepa_client import AsyncClient, Client, ClientOptions
from jepa_client.v1 import common_pb2, embedding_pb2, embedding_pb2_grpc, retrieval_pb2, retrieval_pb2_grpc
from support.pki import SERVER_NAME, Pki, make_pki  # noqa: F401 - Pki and SERVER_NAME are imported from here by the tests

TEXT_MODEL = common_pb2.ModelInfo(name="text_encoder", version="3", dimension=4, embedding_space="minilm")
VIDEO_MODEL = common_pb2.ModelInfo(name="vjepa2_encoder", version="1", dimension=4, embedding_space="vjepa2")
SLOW_SECONDS = 1.0


def video_vector(video: common_pb2.VideoInput) -> list[float]:
    """What the test server returns for a video: the facts the client put on the wire."""
    source = video.WhichOneof("source")
    if source == "frames":
        frames = video.frames
        return [float(frames.num_frames), float(frames.height), float(frames.width), frames.fps]
    if source == "encoded":
        return [float(len(video.encoded)), 0.0, 0.0, 1.0]
    return [float(len(video.uri)), 0.0, 0.0, 2.0]


@dataclass
class Received:
    method: str
    request: Any
    metadata: dict[str, str]
    time_remaining: float | None


@dataclass
class RecordingServicer(embedding_pb2_grpc.EmbeddingServiceServicer, retrieval_pb2_grpc.RetrievalServiceServicer):
    unavailable_failures: int = 0
    received: list[Received] = field(default_factory=list)

    @staticmethod
    def text_vector(text: str, position: int) -> list[float]:
        """What the server returns for `text` at `position` of its batch."""
        return [float(len(text)), float(position), float(ord(text[0])) if text else 0.0, 0.5]

    def _receive(self, method: str, request: Any, context: grpc.ServicerContext) -> None:
        self.received.append(Received(method, request, dict(context.invocation_metadata()), context.time_remaining()))
        if self.unavailable_failures > 0:
            self.unavailable_failures -= 1
            context.abort(grpc.StatusCode.UNAVAILABLE, "backend: warming up")
        model = getattr(request, "model", "")
        if model.startswith("status:"):
            code = grpc.StatusCode[model.removeprefix("status:")]
            context.abort(code, f"model: forced {code.name}")
        if model == "slow":
            time.sleep(SLOW_SECONDS)

    def EmbedVideo(self, request: embedding_pb2.EmbedVideoRequest, context: grpc.ServicerContext) -> embedding_pb2.EmbedVideoResponse:
        self._receive("EmbedVideo", request, context)
        vector = video_vector(request.video)
        windows = [
            common_pb2.WindowEmbedding(
                index=index, start_seconds=index * 0.5, end_seconds=index * 0.5 + 0.5,
                embedding=common_pb2.Embedding(values=[value + index for value in vector]),
            )
            for index in range(2 if request.return_windows else 0)
        ]
        return embedding_pb2.EmbedVideoResponse(
            model=VIDEO_MODEL, embedding=common_pb2.Embedding(values=vector), windows=windows,
            frames_decoded=16, num_windows=2, duration_seconds=1.0,
        )

    def EmbedText(self, request: embedding_pb2.EmbedTextRequest, context: grpc.ServicerContext) -> embedding_pb2.EmbedTextResponse:
        self._receive("EmbedText", request, context)
        embeddings = [common_pb2.Embedding(values=self.text_vector(text, position)) for position, text in enumerate(request.texts)]
        return embedding_pb2.EmbedTextResponse(model=TEXT_MODEL, embeddings=embeddings)

    def ListModels(self, request: embedding_pb2.ListModelsRequest, context: grpc.ServicerContext) -> embedding_pb2.ListModelsResponse:
        self._receive("ListModels", request, context)
        return embedding_pb2.ListModelsResponse(models=[VIDEO_MODEL, TEXT_MODEL])

    def IndexVideos(self, requests: Iterator[retrieval_pb2.IndexVideosRequest], context: grpc.ServicerContext) -> retrieval_pb2.IndexVideosResponse:
        """Records the stream as one list of requests; every item is reported indexed in one window."""
        received = list(requests)
        self._receive("IndexVideos", received, context)
        return retrieval_pb2.IndexVideosResponse(items=[retrieval_pb2.IndexedVideo(id=request.id, num_windows=1) for request in received])


@dataclass
class RunningServer:
    address: str
    servicer: RecordingServicer


def serve(credentials: grpc.ServerCredentials | None) -> Iterator[RunningServer]:
    servicer = RecordingServicer()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    embedding_pb2_grpc.add_EmbeddingServiceServicer_to_server(servicer, server)
    retrieval_pb2_grpc.add_RetrievalServiceServicer_to_server(servicer, server)
    if credentials is None:
        port = server.add_insecure_port("127.0.0.1:0")
    else:
        port = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    try:
        yield RunningServer(f"127.0.0.1:{port}", servicer)
    finally:
        server.stop(grace=None)


@pytest.fixture(scope="module")
def plain_server() -> Iterator[RunningServer]:
    yield from serve(None)


@pytest.fixture
def server(plain_server: RunningServer) -> RunningServer:
    """The plaintext server with a fresh record and no pending failures."""
    plain_server.servicer.received.clear()
    plain_server.servicer.unavailable_failures = 0
    return plain_server


class AsyncClientOnPrivateLoop:
    """Drives an AsyncClient on an event loop of its own, so one test body checks both clients."""

    def __init__(self, options: ClientOptions) -> None:
        self._loop = asyncio.new_event_loop()
        self._client = self._loop.run_until_complete(self._open(options))

    @staticmethod
    async def _open(options: ClientOptions) -> AsyncClient:
        return AsyncClient(options)

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute
        return lambda *args, **kwargs: self._loop.run_until_complete(attribute(*args, **kwargs))

    def close(self) -> None:
        self._loop.run_until_complete(self._client.close())
        self._loop.close()


@pytest.fixture(params=["sync", "async"])
def connect(request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    """connect(address, **option_fields) -> a Client, or an AsyncClient driven synchronously."""
    opened: list[Any] = []

    def open_client(address: str, **option_fields: Any) -> Any:
        options = ClientOptions(address=address, **option_fields)
        client = Client(options) if request.param == "sync" else AsyncClientOnPrivateLoop(options)
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        client.close()


# --- certificates ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki()


@pytest.fixture(scope="module")
def tls_server(pki: Pki) -> Iterator[RunningServer]:
    yield from serve(grpc.ssl_server_credentials([(pki.server_key, pki.server_chain)]))


@pytest.fixture(scope="module")
def mtls_server(pki: Pki) -> Iterator[RunningServer]:
    credentials = grpc.ssl_server_credentials(
        [(pki.server_key, pki.server_chain)], root_certificates=pki.ca, require_client_auth=True
    )
    yield from serve(credentials)
