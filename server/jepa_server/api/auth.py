"""Bearer-token authentication and per-token scopes of every RPC, as a grpc.aio server interceptor.

Tokens come from `JEPA_AUTH_TOKENS` (comma-separated; every scope) and/or `auth_tokens_file` (one
per line, `#` comments, optionally followed by the scopes it may use: `TOKEN search,embed`). A call
passes when its `authorization: Bearer <token>` metadata matches one of them (UNAUTHENTICATED
otherwise) and the token holds the method's scope (PERMISSION_DENIED otherwise); every comparison
runs (`hmac.compare_digest`), so timing does not tell which one nearly matched. Tokens are never
logged. Health and reflection can be left open (docs/security.md).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health
from grpc_reflection.v1alpha import reflection

from jepa_server.api.handlers import replace_behavior
from jepa_server.settings import Settings

HEALTH_METHODS = f"/{health.SERVICE_NAME}/"
REFLECTION_METHODS = f"/{reflection.SERVICE_NAME}/"
_REFUSAL = "authorization: missing or invalid bearer token (metadata 'authorization: Bearer <token>')"
# Scope -> the method paths (or service prefixes) it opens. A method in no scope needs a token with
# every scope, so an RPC added later is closed until it is given one.
SCOPES: dict[str, tuple[str, ...]] = {
    "embed": ("/jepa.v1.EmbeddingService/",),
    "search": ("/jepa.v1.RetrievalService/Search", "/jepa.v1.RetrievalService/GetIndexStats"),
    "index": ("/jepa.v1.RetrievalService/IndexVideos", "/jepa.v1.RetrievalService/DeleteVideos"),
    "describe": ("/jepa.v1.DescribeService/",),
}
_OPEN_TO_ANY_TOKEN = (HEALTH_METHODS, REFLECTION_METHODS)


@dataclass(frozen=True)
class TokenGrant:
    """One token and the scopes it holds (every scope when `scopes` is None)."""

    token: bytes
    scopes: frozenset[str] | None = None

    def may_call(self, method: str) -> bool:
        if self.scopes is None or method.startswith(_OPEN_TO_ANY_TOKEN):
            return True
        return any(method.startswith(paths) for scope, paths in SCOPES.items() if scope in self.scopes)


def _file_grant(line: str, position: int, path: Path) -> TokenGrant:
    token, _, scope_text = line.partition(" ")
    if not scope_text.strip():
        return TokenGrant(token.encode())
    scopes = frozenset(scope.strip() for scope in scope_text.split(",") if scope.strip())
    unknown = sorted(scopes - SCOPES.keys())
    if unknown:
        raise ValueError(f"auth_tokens_file: {path} line {position}: unknown scope {', '.join(unknown)}; scopes are {', '.join(SCOPES)}")
    return TokenGrant(token.encode(), scopes)


def load_tokens(settings: Settings) -> tuple[TokenGrant, ...]:
    """Every configured token with its scopes; empty means authentication is off."""
    grants = [TokenGrant(token.strip().encode()) for token in settings.auth_tokens.get_secret_value().split(",") if token.strip()]
    if settings.auth_tokens_file is not None:
        path = settings.auth_tokens_file
        lines = [(position, line.strip()) for position, line in enumerate(path.read_text().splitlines(), 1)]
        from_file = [_file_grant(line, position, path) for position, line in lines if line and not line.startswith("#")]
        if not from_file:
            raise ValueError(f"auth_tokens_file: {path} holds no token")
        grants += from_file
    return tuple(grants)


def exempt_prefixes(settings: Settings) -> tuple[str, ...]:
    """Method paths reachable without a token."""
    return (HEALTH_METHODS,) * settings.auth_exempt_health + (REFLECTION_METHODS,) * settings.auth_exempt_reflection


async def _refuse(request: Any, context: grpc.aio.ServicerContext) -> None:
    await context.abort(grpc.StatusCode.UNAUTHENTICATED, _REFUSAL)


def _forbid(method: str, grant: TokenGrant) -> Callable[..., Awaitable[None]]:
    needed = next((scope for scope, paths in SCOPES.items() if method.startswith(paths)), "every scope")
    message = f"authorization: this token may not call {method} (needs scope {needed}; holds {', '.join(sorted(grant.scopes or ()))})"

    async def forbid(request: Any, context: grpc.aio.ServicerContext) -> None:
        await context.abort(grpc.StatusCode.PERMISSION_DENIED, message)

    return forbid


class TokenAuthInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, grants: Sequence[TokenGrant], exempt: tuple[str, ...] = (HEALTH_METHODS,)) -> None:
        if not grants:
            raise ValueError("grants: need at least one, or leave the interceptor out")
        self._grants = tuple(grants)
        self._exempt = exempt

    def grant_for(self, metadata: Sequence[tuple[str, str | bytes]] | None) -> TokenGrant | None:
        """The grant whose token the call presents, or None."""
        presented = next((value for key, value in metadata or () if key == "authorization"), None)
        if not isinstance(presented, str):
            return None
        scheme, _, credential = presented.partition(" ")
        candidate = credential.strip().encode()
        matches = [grant for grant in self._grants if hmac.compare_digest(candidate, grant.token)]
        return matches[0] if scheme.lower() == "bearer" and matches else None

    async def intercept_service(
        self, continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]], details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None or details.method.startswith(self._exempt):
            return handler
        grant = self.grant_for(details.invocation_metadata)
        if grant is None:
            return replace_behavior(handler, lambda behavior: _refuse)
        if not grant.may_call(details.method):
            return replace_behavior(handler, lambda behavior: _forbid(details.method, grant))
        return handler
