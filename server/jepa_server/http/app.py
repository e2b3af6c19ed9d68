"""The HTTP front end's application and server. It runs inside the gateway's process and event loop
(uvicorn beside grpc.aio), on the same core objects: one Milvus Lite client (a Lite file allows one
process), one admission limit and one metrics registry for both protocols, and no second hop."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from fastapi_offline import FastAPIOffline

from jepa_server.http import schemas
from jepa_server.http.bodies import field_path
from jepa_server.http.context import ApiContext
from jepa_server.http.errors import error_response
from jepa_server.http.guard import CallGuard
from jepa_server.http.routes import router
from jepa_server.settings import Settings

STATIC = Path(__file__).parent / "static"
# Bodies the routes parse themselves (JSON or multipart), named in the schema for clients and /docs.
BODY_SCHEMAS: dict[str, type[schemas.BaseModel]] = {
    "/v1/embeddings": schemas.EmbeddingsRequest,
    "/v1/videos/embeddings": schemas.VideoEmbeddingsRequest,
    "/v1/search": schemas.SearchRequest,
    "/v1/index": schemas.IndexRequest,
    "/v1/plan": schemas.PlanRequest,
}


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema, plus the request bodies that routes read themselves."""
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = document.setdefault("components", {}).setdefault("schemas", {})
    for path, model in BODY_SCHEMAS.items():
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(schema.pop("$defs", {}))
        components[model.__name__] = schema
        body = document["paths"][path]["post"].setdefault("requestBody", {"required": True, "content": {}})
        body["content"].setdefault("application/json", {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}})
    app.openapi_schema = document
    return document


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    first = error.errors()[0] if isinstance(error, RequestValidationError) and error.errors() else {"loc": (), "msg": str(error)}
    location = tuple(part for part in first["loc"] if part not in ("query", "path", "body", "header"))
    return error_response(400, "invalid_request_error", f"{field_path(location)}: {first['msg']}", field_path(location))


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    status = error.status_code if isinstance(error, HTTPException) else 500
    detail = error.detail if isinstance(error, HTTPException) else "internal error"
    return error_response(status, "invalid_request_error" if status < 500 else "server_error", f"{request.url.path}: {detail}")


def build_http_app(context: ApiContext) -> FastAPI:
    # Swagger UI at /docs from files inside the fastapi-offline package: no CDN.
    app = FastAPIOffline(
        title="jepa-serve",
        version="0.1.0",
        description="V-JEPA 2 video embeddings, OpenAI-compatible text embeddings, text-to-video retrieval and planning with a world model (docs/http.md).",
        redoc_url=None,
        static_url="/static/docs",
        favicon_url="/static/favicon.svg",
    )
    app.state.context = context
    app.include_router(router)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def search_page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    app.add_middleware(CallGuard, context=context, routes=router.routes)
    return app


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port, created with protocol IPPROTO_TCP: asyncio sets TCP_NODELAY
    only on connections whose socket says TCP (a plain `socket.create_server` socket says 0), and
    without it every response waits ~40 ms for the client's delayed ACK."""
    family, kind, protocol, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP, flags=socket.AI_PASSIVE)[0]
    listener = socket.socket(family, kind, protocol)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    listener.bind(address)
    return listener


class _EmbeddedServer(uvicorn.Server):
    """uvicorn inside the gateway's event loop: the gateway owns SIGINT/SIGTERM and the drain."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HttpServer:
    def __init__(self, app: FastAPI, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.port = 0
        self._server: _EmbeddedServer | None = None
        self._task: asyncio.Task[None] | None = None

    def _config(self) -> uvicorn.Config:
        settings = self.settings
        tls: dict[str, Any] = {}
        if settings.tls_cert_file is not None and settings.tls_key_file is not None:
            tls = {"ssl_certfile": str(settings.tls_cert_file), "ssl_keyfile": str(settings.tls_key_file)}
            if settings.tls_client_ca_file is not None:
                tls["ssl_ca_certs"] = str(settings.tls_client_ca_file)
                tls["ssl_cert_reqs"] = ssl.CERT_REQUIRED if settings.tls_require_client_cert else ssl.CERT_OPTIONAL
        return uvicorn.Config(self.app, lifespan="off", log_config=None, log_level="warning", access_log=False, **tls)

    async def start(self, port: int) -> None:
        try:
            listener = listening_socket(self.settings.host, port)
        except OSError as error:
            raise RuntimeError(f"http_port: cannot bind {self.settings.host}:{port} ({error.strerror or error}); set JEPA_HTTP_PORT or --http-port") from error
        self.port = listener.getsockname()[1]
        self._server = _EmbeddedServer(self._config())
        self._task = asyncio.create_task(self._server.serve(sockets=[listener]))
        while not self._server.started and not self._task.done():
            await asyncio.sleep(0.01)
        if self._task.done():
            self._task.result()

    async def stop(self, grace_s: float) -> None:
        if self._server is None or self._task is None:
            return
        self._server.config.timeout_graceful_shutdown = max(int(grace_s), 1)
        self._server.should_exit = True
        await self._task
