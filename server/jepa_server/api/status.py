"""The one table from the core's domain errors to gRPC status codes, and the message that goes
with them. Only UNAVAILABLE is retried by the SDK: map nothing deterministic to it."""

from __future__ import annotations

import asyncio

import grpc

from jepa_server.errors import (
    BackendUnavailable,
    DeadlineExceeded,
    FailedPrecondition,
    GatewayError,
    InvalidInput,
    LimitExceeded,
    ModelFailure,
    NotFound,
)

GRPC_STATUS: dict[type[GatewayError], grpc.StatusCode] = {
    InvalidInput: grpc.StatusCode.INVALID_ARGUMENT,
    LimitExceeded: grpc.StatusCode.RESOURCE_EXHAUSTED,
    NotFound: grpc.StatusCode.NOT_FOUND,
    BackendUnavailable: grpc.StatusCode.UNAVAILABLE,
    DeadlineExceeded: grpc.StatusCode.DEADLINE_EXCEEDED,
    FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    ModelFailure: grpc.StatusCode.INTERNAL,
    GatewayError: grpc.StatusCode.INTERNAL,  # only reached by an error class missing above
}

# Status messages travel in a trailer (8 KiB metadata limit by default) and may echo client input.
MAX_STATUS_MESSAGE_CHARS = 512  # x 4 bytes of UTF-8 x 3 for percent-encoding: 6 KiB at worst


def status_of(error: BaseException) -> tuple[grpc.StatusCode, str]:
    """The status code and message a failed call answers with."""
    if isinstance(error, GatewayError):
        message = str(error)
        if len(message) > MAX_STATUS_MESSAGE_CHARS:
            message = message[: MAX_STATUS_MESSAGE_CHARS - 3] + "..."
        code = next(GRPC_STATUS[kind] for kind in type(error).__mro__ if kind in GRPC_STATUS)
        return code, message
    if isinstance(error, asyncio.TimeoutError):
        return grpc.StatusCode.DEADLINE_EXCEEDED, "deadline: the call's deadline passed before the server finished"
    return grpc.StatusCode.INTERNAL, f"internal error ({type(error).__name__}); see the server log"
