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

from jepa_server.api.status import status_of
from jepa_server.metrics import GatewayMetrics

log = logging.getLogger("jepa_server.rpc")


def _is_abort(error: BaseException) -> bool:
    # grpc.aio raises AbortError out of context.abort(); it must pass through untouched.
    return type(error).__name__ == "AbortError"


def time_remaining(context: grpc.aio.ServicerContext) -> float | None:
    remaining = context.time_remaining()
    return None if remaining is None else max(0.0, remaining)


class RpcGuard:
    """Wraps servicer methods: `@guard.unary("EmbedText")` or `@guard.stream("Describe")`."""

    def __init__(self, metrics: GatewayMetrics, max_concurrent_requests: int) -> None:
        self.metrics = metrics
        self.max_concurrent_requests = max_concurrent_requests
        self.active = 0

    @asynccontextmanager
    async def call(self, method: str, context: grpc.aio.ServicerContext) -> AsyncIterator[None]:
        started = time.perf_counter()
        if self.active >= self.max_concurrent_requests:
            # Refuse at once: an unbounded queue only turns overload into timeouts.
            self.metrics.requests.labels(method, grpc.StatusCode.RESOURCE_EXHAUSTED.name).inc()
            await context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"max_concurrent_requests: the server is already serving {self.max_concurrent_requests} calls; retry later",
            )
        self.active += 1
        self.metrics.in_flight.labels(method).inc()
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
            self.active -= 1
            self.metrics.in_flight.labels(method).dec()
            self.metrics.requests.labels(method, code.name).inc()
            self.metrics.request_seconds.labels(method).observe(time.perf_counter() - started)

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
