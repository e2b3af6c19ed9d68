"""What every HTTP API call goes through, in the order gRPC's interceptor and RpcGuard apply it:
the bearer token and its scope first (nothing else runs for a stranger), then the body limit, the
shared admission limit, the caller's timeout, and the request metrics with `protocol="http"`.

A pure ASGI middleware rather than a FastAPI dependency: dependencies run after the body is read
and parsed, so a stranger's malformed body would be answered 400 instead of 401."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jepa_server.errors import InvalidInput, LimitExceeded
from jepa_server.http.context import ApiContext
from jepa_server.http.errors import code_name, error_response, response_for, unauthenticated
from jepa_server.tokens import SCOPES, grant_for

PROTOCOL = "http"
OPERATIONS = frozenset(operation for operations in SCOPES.values() for operation in operations)
# Seconds the caller gives the whole request (gRPC callers set a deadline; HTTP has no standard header).
TIMEOUT_HEADER = b"x-request-timeout"
# The video element of the search page cannot set headers: media requests may carry the token here.
TOKEN_QUERY_OPERATIONS = frozenset({"GetMedia"})


class BodyTooLarge(Exception):
    pass


class CallGuard:
    def __init__(self, app: ASGIApp, context: ApiContext, routes: Iterable[BaseRoute]) -> None:
        self.app = app
        self.context = context
        self.routes = list(routes)

    def operation_of(self, scope: Scope) -> str | None:
        for route in self.routes:
            match, _ = route.matches(scope)
            if match == Match.FULL:
                name = getattr(route, "name", None)
                return name if name in OPERATIONS else None
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        operation = self.operation_of(scope) if scope["type"] == "http" else None
        if operation is None:
            await self.app(scope, receive, send)
            return
        metrics = self.context.metrics
        started = time.perf_counter()
        status = {"code": 500, "sent": False}

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"], status["sent"] = message["status"], True
            await send(message)

        refusal = self._refusal(scope, operation)
        if refusal is not None:
            await refusal(scope, receive, recording_send)
        elif not self.context.admission.try_enter():
            await error_response(429, "rate_limit_error", self.context.admission.refusal)(scope, receive, recording_send)
        else:
            metrics.in_flight.labels(operation, PROTOCOL).inc()
            try:
                await self._run(scope, receive, recording_send, status)
            finally:
                self.context.admission.leave()
                metrics.in_flight.labels(operation, PROTOCOL).dec()
        metrics.requests.labels(operation, code_name(int(status["code"])), PROTOCOL).inc()
        metrics.request_seconds.labels(operation, PROTOCOL).observe(time.perf_counter() - started)

    def _refusal(self, scope: Scope, operation: str) -> Any:
        """The response of a request refused before it runs (token, scope, declared body size), or None."""
        headers = dict(scope["headers"])
        if self.context.grants:
            authorization = headers.get(b"authorization", b"").decode("latin-1") or None
            if authorization is None and operation in TOKEN_QUERY_OPERATIONS:
                authorization = _query_token(scope)
            grant = grant_for(self.context.grants, authorization)
            if grant is None:
                return unauthenticated()
            if not grant.may(operation):
                return error_response(403, "permission_error", grant.refusal(operation))
        declared = headers.get(b"content-length", b"").decode("latin-1")
        limit = self.context.settings.max_message_bytes
        if declared.isdigit() and int(declared) > limit:
            return response_for(LimitExceeded("body", f"{declared} bytes, the limit is {limit} (max_message_bytes)"))
        return None

    async def _run(self, scope: Scope, receive: Receive, send: Send, status: dict[str, Any]) -> None:
        limit = self.context.settings.max_message_bytes
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge
            return message

        try:
            timeout = _timeout(scope)
            await asyncio.wait_for(self.app(scope, limited_receive, send), timeout)
        except Exception as error:  # noqa: BLE001 - the one place HTTP calls become error answers
            if status["sent"]:
                raise
            if isinstance(error, BodyTooLarge):
                error = LimitExceeded("body", f"more than {limit} bytes (max_message_bytes)")
            await response_for(error)(scope, receive, send)


def _query_token(scope: Scope) -> str | None:
    tokens = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("access_token")
    return f"Bearer {tokens[0]}" if tokens else None


def _timeout(scope: Scope) -> float | None:
    raw = dict(scope["headers"]).get(TIMEOUT_HEADER)
    if raw is None:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        raise InvalidInput("x-request-timeout", f"got {raw.decode('latin-1')!r}, expected seconds") from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise InvalidInput("x-request-timeout", f"got {seconds}, expected a positive number of seconds")
    return seconds

