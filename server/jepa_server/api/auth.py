"""Bearer-token authentication and per-token scopes of every RPC, as a grpc.aio server interceptor
(the tokens and scopes themselves: `jepa_server.tokens`). Health and reflection can be left open
(docs/security.md); any valid token may call them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import grpc
from grpc_health.v1 import health
from grpc_reflection.v1alpha import reflection

from jepa_server.api.handlers import replace_behavior
from jepa_server.settings import Settings
from jepa_server.tokens import MISSING_TOKEN, TokenGrant, grant_for

HEALTH_METHODS = f"/{health.SERVICE_NAME}/"
REFLECTION_METHODS = f"/{reflection.SERVICE_NAME}/"
_OPEN_TO_ANY_TOKEN = (HEALTH_METHODS, REFLECTION_METHODS)


def operation_of(method: str) -> str:
    """`/jepa.v1.EmbeddingService/EmbedText` -> `EmbedText`: the name scopes are given to."""
    return method.rsplit("/", 1)[-1]


def exempt_prefixes(settings: Settings) -> tuple[str, ...]:
    """Method paths reachable without a token."""
    return (HEALTH_METHODS,) * settings.auth_exempt_health + (REFLECTION_METHODS,) * settings.auth_exempt_reflection


async def _refuse(request: Any, context: grpc.aio.ServicerContext) -> None:
    await context.abort(grpc.StatusCode.UNAUTHENTICATED, MISSING_TOKEN)


def _forbid(message: str) -> Callable[..., Awaitable[None]]:
    async def forbid(request: Any, context: grpc.aio.ServicerContext) -> None:
        await context.abort(grpc.StatusCode.PERMISSION_DENIED, message)

    return forbid


class TokenAuthInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, grants: Sequence[TokenGrant], exempt: tuple[str, ...] = (HEALTH_METHODS,)) -> None:
        if not grants:
            raise ValueError("grants: need at least one, or leave the interceptor out")
        self._grants = tuple(grants)
        self._exempt = exempt

    async def intercept_service(
        self, continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]], details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None or details.method.startswith(self._exempt):
            return handler
        presented = next((value for key, value in details.invocation_metadata or () if key == "authorization"), None)
        grant = grant_for(self._grants, presented if isinstance(presented, str) else None)
        if grant is None:
            return replace_behavior(handler, lambda behavior: _refuse)
        operation = operation_of(details.method)
        if not details.method.startswith(_OPEN_TO_ANY_TOKEN) and not grant.may(operation):
            message = grant.refusal(operation)
            return replace_behavior(handler, lambda behavior: _forbid(message))
        return handler
