"""Bearer-token authentication of every RPC, as a grpc.aio server interceptor.

Tokens come from `JEPA_AUTH_TOKENS` (comma-separated) and/or `auth_tokens_file` (one per line,
`#` comments). A call passes when its `authorization: Bearer <token>` metadata matches one of
them; every comparison runs (`hmac.compare_digest`), so timing does not tell which one nearly
matched. Tokens are never logged. Health and reflection can be left open (docs/security.md).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import grpc
from grpc_health.v1 import health
from grpc_reflection.v1alpha import reflection

from jepa_server.api.handlers import replace_behavior
from jepa_server.settings import Settings

HEALTH_METHODS = f"/{health.SERVICE_NAME}/"
REFLECTION_METHODS = f"/{reflection.SERVICE_NAME}/"
_REFUSAL = "authorization: missing or invalid bearer token (metadata 'authorization: Bearer <token>')"


def load_tokens(settings: Settings) -> tuple[bytes, ...]:
    """Every configured token; empty means authentication is off."""
    tokens = settings.auth_tokens.get_secret_value().split(",")
    if settings.auth_tokens_file is not None:
        lines = [line.strip() for line in settings.auth_tokens_file.read_text().splitlines()]
        from_file = [line for line in lines if line and not line.startswith("#")]
        if not from_file:
            raise ValueError(f"auth_tokens_file: {settings.auth_tokens_file} holds no token")
        tokens += from_file
    return tuple(token.strip().encode() for token in tokens if token.strip())


def exempt_prefixes(settings: Settings) -> tuple[str, ...]:
    """Method paths reachable without a token."""
    return (HEALTH_METHODS,) * settings.auth_exempt_health + (REFLECTION_METHODS,) * settings.auth_exempt_reflection


async def _refuse(request: Any, context: grpc.aio.ServicerContext) -> None:
    await context.abort(grpc.StatusCode.UNAUTHENTICATED, _REFUSAL)


class TokenAuthInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, tokens: Sequence[bytes], exempt: tuple[str, ...] = (HEALTH_METHODS,)) -> None:
        if not tokens:
            raise ValueError("tokens: need at least one, or leave the interceptor out")
        self._tokens = tuple(tokens)
        self._exempt = exempt

    def authorized(self, metadata: Sequence[tuple[str, str | bytes]] | None) -> bool:
        presented = next((value for key, value in metadata or () if key == "authorization"), None)
        if not isinstance(presented, str):
            return False
        scheme, _, credential = presented.partition(" ")
        candidate = credential.strip().encode()
        matches = [hmac.compare_digest(candidate, token) for token in self._tokens]
        return scheme.lower() == "bearer" and any(matches)

    async def intercept_service(
        self, continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]], details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None or details.method.startswith(self._exempt) or self.authorized(details.invocation_metadata):
            return handler
        return replace_behavior(handler, lambda behavior: _refuse)
