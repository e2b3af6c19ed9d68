"""Bearer tokens and their scopes, for every front end (gRPC metadata, HTTP headers).

Tokens come from `JEPA_AUTH_TOKENS` (comma-separated; every scope) and/or `auth_tokens_file` (one
per line, `#` comments, optionally followed by the scopes it may use: `TOKEN search,embed`). A call
passes when it presents `Bearer <token>` for one of them (unauthenticated otherwise) and the token
holds the operation's scope (permission denied otherwise); every comparison runs
(`hmac.compare_digest`), so timing does not tell which one nearly matched. Tokens are never logged.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from jepa_server.settings import Settings

# Scope -> the operations (the RPC names of jepa.v1, which the HTTP routes reuse, and the HTTP-only
# GetMedia and GetEmbeddingHealth of the search page) it opens. An operation in no scope needs a
# token with every scope, so one added later is closed until given one.
SCOPES: dict[str, tuple[str, ...]] = {
    "embed": ("EmbedVideo", "EmbedVideoStream", "EmbedText", "ListModels"),
    "search": ("Search", "GetIndexStats", "GetMedia", "GetEmbeddingHealth", "AnalyzeIndex", "GetServing"),
    "index": ("IndexVideos", "DeleteVideos"),
    "describe": ("Describe", "DescribeStream"),
    # Model migration changes what every caller searches, and drop-old deletes a collection for good.
    "migrate": ("Migrate", "SwitchServing", "RollbackServing", "DropPrevious"),
    # Planning with a world model (PlanService).
    "plan": ("Plan", "PlanStream"),
}
MISSING_TOKEN = "authorization: missing or invalid bearer token (header 'authorization: Bearer <token>')"


@dataclass(frozen=True)
class TokenGrant:
    """One token and the scopes it holds (every scope when `scopes` is None)."""

    token: bytes
    scopes: frozenset[str] | None = None

    def may(self, operation: str) -> bool:
        if self.scopes is None:
            return True
        return any(operation in operations for scope, operations in SCOPES.items() if scope in self.scopes)

    def refusal(self, operation: str) -> str:
        """Why this grant may not run `operation` (the message of a permission-denied answer)."""
        needed = scope_of(operation) or "every scope"
        return f"authorization: this token may not call {operation} (needs scope {needed}; holds {', '.join(sorted(self.scopes or ()))})"


def scope_of(operation: str) -> str | None:
    return next((scope for scope, operations in SCOPES.items() if operation in operations), None)


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


def grant_for(grants: Sequence[TokenGrant], authorization: str | None) -> TokenGrant | None:
    """The grant whose token an `authorization` value (`Bearer <token>`) presents, or None."""
    if not isinstance(authorization, str):
        return None
    scheme, _, credential = authorization.partition(" ")
    candidate = credential.strip().encode()
    matches = [grant for grant in grants if hmac.compare_digest(candidate, grant.token)]
    return matches[0] if scheme.lower() == "bearer" and matches else None
