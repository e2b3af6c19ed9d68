"""What every RPC goes through: admission control, metrics, and errors answered as statuses."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import grpc

from jepa_server.admission import Admission
from jepa_server.api.status import status_of
from jepa_server.metrics import GatewayMetrics

log = logging.getLogger("jepa_server.rpc")
PROTOCOL = "grpc"  # the `protocol` label of the request metrics


def _is_abort(error: BaseException) -> bool:
    # grpc.aio raises AbortError out of context.abort(); it must pass through untouched.
    return type(error).__name__ == "AbortError"


def time_remaining(context: grpc.aio.ServicerContext) -> float | None:
    remaining = context.time_remaining()
    return None if remaining is None else max(0.0, remaining)


class RpcGuard:
    """Wraps servicer methods: `@guard.unary("EmbedText")` or `@guard.stream("Describe")`."""

    def __init__(self, metrics: GatewayMetrics, admission: Admission) -> None:
        self.metrics = metrics
        self.admission = admission

    @asynccontextmanager
    async def call(self, method: str, context: grpc.aio.ServicerContext) -> AsyncIterator[None]:
        started = time.perf_counter()
        if not self.admission.try_enter():
            self.metrics.requests.labels(method, grpc.StatusCode.RESOURCE_EXHAUSTED.name, PROTOCOL).inc()
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, self.admission.refusal)
        self.metrics.in_flight.labels(method, PROTOCOL).inc()
        code = grpc.StatusCode.OK
        try:
            yield
        except (asyncio.CancelledError, GeneratorExit):
            code = grpc.StatusCode.CANCELLED
            raise
        except Exception as error:  # noqa: BLE001 - the one place errors become statuses
            if _is_abort(error):
                code = context.code() or grpc.StatusCode.UNKNOWN
                raise
            code, message = status_of(error)
            if code == grpc.StatusCode.INTERNAL:
                log.exception("%s failed", method)
            await context.abort(code, message)
        finally:
            self.admission.leave()
            self.metrics.in_flight.labels(method, PROTOCOL).dec()
            self.metrics.requests.labels(method, code.name, PROTOCOL).inc()
            self.metrics.request_seconds.labels(method, PROTOCOL).observe(time.perf_counter() - started)

    def unary(self, method: str) -> Callable:
        """For unary-unary and stream-unary handlers `async def Handler(self, request, context)`."""

        def decorate(handler: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
            @functools.wraps(handler)
            async def guarded(servicer: Any, request: Any, context: grpc.aio.ServicerContext) -> Any:
                async with self.call(method, context):
                    return await handler(servicer, request, context)

            return guarded

        return decorate

    def stream(self, method: str) -> Callable:
        """For server-streaming handlers that yield their messages."""

        def decorate(handler: Callable[..., AsyncIterator[Any]]) -> Callable[..., AsyncIterator[Any]]:
            @functools.wraps(handler)
            async def guarded(servicer: Any, request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
                async with self.call(method, context):
                    async for message in handler(servicer, request, context):
                        yield message

            return guarded

        return decorate
