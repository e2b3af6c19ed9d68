"""Assemble and run the gateway: gRPC server, health, reflection, metrics, Triton watch."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import grpc
import numpy as np
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from prometheus_client import start_http_server

from jepa_client.v1 import describe_pb2, describe_pb2_grpc, embedding_pb2, embedding_pb2_grpc, planning_pb2, planning_pb2_grpc, retrieval_pb2, retrieval_pb2_grpc
from jepa_server.admission import Admission
from jepa_server.api.auth import TokenAuthInterceptor, exempt_prefixes
from jepa_server.api.decoding import RequestDecodingInterceptor
from jepa_server.api.describe_servicer import build_describe_servicer
from jepa_server.api.embedding_servicer import build_embedding_servicer
from jepa_server.api.guard import RpcGuard
from jepa_server.api.planning_servicer import build_planning_servicer
from jepa_server.api.retrieval_servicer import build_retrieval_servicer
from jepa_server.backends.triton import TritonBackend
from jepa_server.core.describe import Describer
from jepa_server.core.diagnostics.analyzer import IndexAnalyzer
from jepa_server.core.embedding import Embedder
from jepa_server.core.migration import Migrator
from jepa_server.core.planning import Planner
from jepa_server.core.registry import ModelRegistry, TextModel, VideoModel
from jepa_server.core.retrieval import Retriever
from jepa_server.http.app import HttpServer, build_http_app
from jepa_server.http.context import ApiContext
from jepa_server.errors import BackendUnavailable, GatewayError, MalformedRepository
from jepa_server.index.milvus import MilvusIndex
from jepa_server.media.pool import VideoPreparer
from jepa_server.metrics import GatewayMetrics
from jepa_server.settings import Settings
from jepa_server.tokens import TokenGrant, load_tokens

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

log = logging.getLogger("jepa_server")

RETRIEVAL_SERVICE = retrieval_pb2.DESCRIPTOR.services_by_name["RetrievalService"].full_name
SERVICE_NAMES = (
    embedding_pb2.DESCRIPTOR.services_by_name["EmbeddingService"].full_name,
    RETRIEVAL_SERVICE,
    describe_pb2.DESCRIPTOR.services_by_name["DescribeService"].full_name,
    planning_pb2.DESCRIPTOR.services_by_name["PlanService"].full_name,
)


class _NotReadyRegistry(ModelRegistry):
    """Stands in until Triton's models are loaded: every lookup answers why they are not (Triton not
    ready yet: UNAVAILABLE; a malformed repository: FAILED_PRECONDITION naming model and parameter)."""

    def __init__(self, reason: GatewayError) -> None:
        super().__init__({}, Path(), token_bucket=1)
        self.reason = reason

    def video_model(self, name: str) -> NoReturn:
        raise self.reason

    text_model = video_model
    world_model = video_model

    def decoder_for(self, video: VideoModel) -> NoReturn:
        raise self.reason


NOT_LOADED_YET = BackendUnavailable("triton", "the gateway has not loaded its models from Triton yet")


class Gateway:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = GatewayMetrics()
        self.backend = TritonBackend(settings.triton_url, settings.triton_timeout_s)
        self.preparer = VideoPreparer(settings.decode_workers, settings.max_concurrent_decodes)
        self.embedder = Embedder(_NotReadyRegistry(NOT_LOADED_YET), self.backend, self.preparer, self.metrics, settings)
        self.index = MilvusIndex(
            settings.index_uri, settings.index_type, settings.index_build_params, settings.index_search_params, settings.max_windows, settings.index_ann_threshold_rows
        )
        self.retriever = Retriever(self.embedder, self.index, settings)
        self.analyzer = IndexAnalyzer(self.retriever)
        self.migrator = Migrator(self.retriever)
        self.describer = Describer(self.embedder)
        self.planner = Planner(self.embedder)
        self.admission = Admission(settings.max_concurrent_requests)
        self.guard = RpcGuard(self.metrics, self.admission)
        self.health = health.aio.HealthServicer()
        self.server: grpc.aio.Server | None = None
        self.http: HttpServer | None = None
        self.port: int = 0
        self.http_port: int = 0
        self.metrics_port: int = 0
        self._metrics_server: WSGIServer | None = None
        self._watch_tasks: list[asyncio.Task] = []
        self.ready = asyncio.Event()
        self._models_serving = False
        self._index_up = False

    async def start(self) -> None:
        options = [
            ("grpc.max_receive_message_length", self.settings.max_message_bytes),
            ("grpc.max_send_message_length", self.settings.max_message_bytes),
        ]
        grants = load_tokens(self.settings)  # read once: both front ends check the same tokens
        self.server = grpc.aio.server(options=options, interceptors=_interceptors(grants, self.settings))
        embedding_pb2_grpc.add_EmbeddingServiceServicer_to_server(
            build_embedding_servicer(self.embedder, self.guard), self.server
        )
        retrieval_pb2_grpc.add_RetrievalServiceServicer_to_server(build_retrieval_servicer(self.retriever, self.analyzer, self.migrator, self.guard, self.settings), self.server)
        describe_pb2_grpc.add_DescribeServiceServicer_to_server(build_describe_servicer(self.describer, self.guard, self.settings), self.server)
        planning_pb2_grpc.add_PlanServiceServicer_to_server(build_planning_servicer(self.planner, self.guard), self.server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection((*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME), self.server)
        address = f"{self.settings.host}:{self.settings.port}"
        credentials = _server_credentials(self.settings)
        self.port = self.server.add_secure_port(address, credentials) if credentials else self.server.add_insecure_port(address)
        if self.port == 0:
            raise RuntimeError(f"port: cannot bind {self.settings.host}:{self.settings.port}")
        await self._set_serving(False)
        if self.settings.metrics_port is not None:
            self._metrics_server, _ = start_http_server(self.settings.metrics_port, addr=self.settings.host, registry=self.metrics.registry)
            self.metrics_port = self._metrics_server.server_port
        await self.preparer.start()
        await self.server.start()
        if self.settings.http_port is not None:
            self.http = HttpServer(build_http_app(self._api_context(grants)), self.settings)
            await self.http.start(self.settings.http_port)
            self.http_port = self.http.port
        self._watch_tasks = [asyncio.create_task(self._watch_triton()), asyncio.create_task(self._watch_index())]
        if self.settings.drift_check_interval_s > 0:
            self._watch_tasks.append(asyncio.create_task(self._watch_drift()))
        log.info("gateway listening on %s:%d (HTTP :%d, metrics :%d)", self.settings.host, self.port, self.http_port, self.metrics_port)

    def _api_context(self, grants: tuple[TokenGrant, ...]) -> ApiContext:
        return ApiContext(
            settings=self.settings, embedder=self.embedder, retriever=self.retriever, analyzer=self.analyzer, planner=self.planner,
            metrics=self.metrics, admission=self.admission, grants=grants, readiness=self.readiness,
        )

    def readiness(self) -> dict[str, bool]:
        """Service name -> serving, as gRPC health publishes it ("" is the whole server)."""
        return {service: self._models_serving and (self._index_up or service != RETRIEVAL_SERVICE) for service in ("", *SERVICE_NAMES)}

    async def _set_serving(self, serving: bool) -> None:
        self._models_serving = serving
        if serving:
            self.ready.set()
        else:
            self.ready.clear()
        await self._publish_health()

    async def _publish_health(self) -> None:
        """The server ("") and every service follow Triton; RetrievalService also needs the index."""
        for service, serving in self.readiness().items():
            await self.health.set(service, health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING)

    async def _check_index(self) -> None:
        up = await self.index.ping(self.settings.index_health_timeout_s)
        self.metrics.index_up.set(1 if up else 0)
        if up != self._index_up:
            self._index_up = up
            if not up:
                log.warning("index at %s is not answering; RetrievalService is NOT_SERVING until it is back", self.settings.index_uri)
            await self._publish_health()

    async def _watch_index(self) -> None:
        """From the start, in the background: the gateway serves embeddings while a large index is
        still loading, with RetrievalService NOT_SERVING until the index answers."""
        while True:
            await self._check_index()
            await asyncio.sleep(self.settings.index_health_interval_s)

    async def _watch_drift(self) -> None:
        """The drift metrics (and their alert) of the default video model's collection, kept fresh."""
        while True:
            await asyncio.sleep(self.settings.drift_check_interval_s)
            if not self.ready.is_set():
                continue
            try:
                await self.analyzer.check_drift(self.settings.default_video_model, self.settings.drift_window_s)
            except GatewayError as error:
                log.warning("drift check failed: %s", error)

    async def _load_models(self) -> None:
        """Discover Triton's models and warm each one up: ready means every model has answered."""
        served = await self.backend.discover()
        registry = ModelRegistry(
            served, self.settings.model_repository, self.settings.token_bucket, self.settings.default_video_model, self.settings.default_text_model
        )
        if self.settings.warmup:
            await self._warm_up(registry)
        self.embedder.registry = registry
        log.info("models: video %s, text %s, world %s", sorted(registry.video), sorted(registry.text), sorted(registry.worlds))

    async def _warm_up(self, registry: ModelRegistry) -> None:
        model: VideoModel | TextModel
        for model in registry.video.values():
            geometry = model.geometry
            pixels = np.zeros((1, geometry.frames_per_clip, 3, geometry.crop_size, geometry.crop_size), np.float32)
            await self.backend.infer(model.served, {"pixel_values_videos": pixels}, [model.output])
        for model in registry.text.values():
            tokens = model.tokenizer.encode(["warm-up"])
            await self.backend.infer(
                model.served, {"input_ids": tokens.input_ids, "attention_mask": tokens.attention_mask}, [model.output]
            )

    async def _watch_triton(self, interval_s: float = 1.0) -> None:
        """Follow Triton's readiness: NOT_SERVING while it is down, reload models when it is back."""
        loaded = False
        refusal = ""
        while True:
            up = await self.backend.is_ready()
            self.metrics.triton_up.set(1 if up else 0)
            if up and not loaded:
                try:
                    await self._load_models()
                    loaded = True
                    await self._set_serving(True)
                except MalformedRepository as error:
                    # Refused, not guessed: calls answer why until Triton serves a repository that is whole.
                    self.embedder.registry = _NotReadyRegistry(error)
                    if str(error) != refusal:
                        refusal = str(error)
                        log.error("refusing the repository Triton serves: %s", error)
                except Exception as error:  # noqa: BLE001 - retried on the next tick
                    log.warning("models not ready yet: %s", error)
            elif not up and loaded:
                loaded = False
                await self._set_serving(False)
                log.warning("Triton at %s is not ready; serving UNAVAILABLE until it is back", self.settings.triton_url)
            await asyncio.sleep(interval_s)

    async def stop(self, grace_s: float = 5.0) -> None:
        """Stop taking calls, let in-flight calls finish within the grace period, release everything."""
        await self._set_serving(False)
        for task in self._watch_tasks:
            task.cancel()
        draining = [self.server.stop(grace_s)] if self.server else []
        if self.http:
            draining.append(self.http.stop(grace_s))
        await asyncio.gather(*draining)
        await self.backend.close()
        self.preparer.close()
        await self.index.close()
        if self._metrics_server:
            self._metrics_server.shutdown()


def _interceptors(grants: tuple[TokenGrant, ...], settings: Settings) -> list[grpc.aio.ServerInterceptor]:
    """Authentication first (when tokens are configured), so nothing else runs for a stranger."""
    authentication = [TokenAuthInterceptor(grants, exempt_prefixes(settings))] if grants else []
    return [*authentication, RequestDecodingInterceptor()]


def _server_credentials(settings: Settings) -> grpc.ServerCredentials | None:
    """TLS when a certificate is configured; client certificates checked against the client CA."""
    if settings.tls_cert_file is None or settings.tls_key_file is None:
        return None
    client_ca = settings.tls_client_ca_file.read_bytes() if settings.tls_client_ca_file else None
    return grpc.ssl_server_credentials(
        [(settings.tls_key_file.read_bytes(), settings.tls_cert_file.read_bytes())],
        root_certificates=client_ca,
        require_client_auth=settings.tls_require_client_cert,
    )


async def wait_for_stop_signal() -> None:
    """Return on SIGINT or SIGTERM (the gateway then drains)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()


async def serve_forever(settings: Settings) -> None:
    gateway = Gateway(settings)
    await gateway.start()
    http = f", HTTP and search page on http://{settings.host}:{gateway.http_port}/" if gateway.http else ""
    print(f"jepa-serve gateway on {settings.host}:{gateway.port}{http}, metrics on :{gateway.metrics_port}", flush=True)
    await wait_for_stop_signal()
    log.info("draining (grace %.0f s)", settings.shutdown_grace_s)
    await gateway.stop(settings.shutdown_grace_s)
