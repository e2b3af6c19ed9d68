"""The one table from the core's domain errors to HTTP statuses, and errors in OpenAI's JSON shape
(`{"error": {"message", "type", "code", "param"}}`) so that OpenAI clients raise their matching
exceptions. Metrics label every answer with the gRPC code name of the same outcome, so that one
alert covers both protocols."""

from __future__ import annotations

import asyncio
import logging

from starlette.responses import JSONResponse

from jepa_server.errors import (
    BackendUnavailable,
    DeadlineExceeded,
    FailedPrecondition,
    GatewayError,
    InvalidInput,
    LimitExceeded,
    ModelFailure,
    NotFound,
    SpaceMismatch,
)
from jepa_server.tokens import MISSING_TOKEN

log = logging.getLogger("jepa_server.http")

# Domain error -> (HTTP status, OpenAI error type). The first class in an error's MRO decides.
HTTP_STATUS: dict[type[GatewayError], tuple[int, str]] = {
    InvalidInput: (400, "invalid_request_error"),
    NotFound: (404, "not_found_error"),
    SpaceMismatch: (409, "conflict_error"),
    FailedPrecondition: (412, "precondition_failed_error"),
    LimitExceeded: (413, "request_too_large"),
    BackendUnavailable: (503, "service_unavailable_error"),
    DeadlineExceeded: (504, "timeout_error"),
    ModelFailure: (500, "server_error"),
    GatewayError: (500, "server_error"),  # only reached by an error class missing above
}

# HTTP status -> the gRPC code name the request metrics carry (`code` label).
CODE_NAME: dict[int, str] = {
    200: "OK",
    206: "OK",
    304: "OK",
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "UNIMPLEMENTED",
    409: "FAILED_PRECONDITION",
    412: "FAILED_PRECONDITION",
    413: "RESOURCE_EXHAUSTED",
    416: "OUT_OF_RANGE",
    422: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
MAX_MESSAGE_CHARS = 2048
RETRY_AFTER_SECONDS = "1"


def code_name(status: int) -> str:
    return CODE_NAME.get(status, "UNKNOWN" if status >= 500 else "INVALID_ARGUMENT" if status >= 400 else "OK")


def error_response(status: int, error_type: str, message: str, param: str | None = None, code: str | None = None) -> JSONResponse:
    """An error in OpenAI's shape; 429 and 503 say when to retry."""
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[: MAX_MESSAGE_CHARS - 3] + "..."
    headers = {"Retry-After": RETRY_AFTER_SECONDS} if status in (429, 503) else None
    body = {"error": {"message": message, "type": error_type, "code": code or code_name(status).lower(), "param": param}}
    return JSONResponse(body, status_code=status, headers=headers)


def unauthenticated() -> JSONResponse:
    """401: tokens are configured and the request presents none that matches."""
    return error_response(401, "authentication_error", MISSING_TOKEN, code="invalid_api_key")


def status_of(error: BaseException) -> tuple[int, str, str, str | None]:
    """(HTTP status, OpenAI error type, message, param) of a failed request."""
    if isinstance(error, GatewayError):
        status, error_type = next(HTTP_STATUS[kind] for kind in type(error).__mro__ if kind in HTTP_STATUS)
        return status, error_type, str(error), error.field
    if isinstance(error, asyncio.TimeoutError):
        return 504, "timeout_error", "deadline: the request's timeout passed before the server finished", None
    return 500, "server_error", f"internal error ({type(error).__name__}); see the server log", None


def response_for(error: BaseException) -> JSONResponse:
    status, error_type, message, param = status_of(error)
    if status == 500:
        log.error("request failed", exc_info=error)
    return error_response(status, error_type, message, param)
