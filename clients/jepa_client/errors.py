"""Exceptions of the client: one class per gRPC status code a caller is likely to handle."""

from __future__ import annotations

import grpc


class JepaError(Exception):
    """A call failed on the server or the wire; `code` and `details` are the gRPC status."""

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(self, details: str, code: grpc.StatusCode | None = None) -> None:
        if code is not None:
            self.code = code
        self.details = details
        super().__init__(f"{self.code.name}: {details}")


class CancelledError(JepaError):
    code = grpc.StatusCode.CANCELLED


class InvalidArgumentError(JepaError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class DeadlineExceededError(JepaError):
    code = grpc.StatusCode.DEADLINE_EXCEEDED


class NotFoundError(JepaError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExistsError(JepaError):
    code = grpc.StatusCode.ALREADY_EXISTS


class PermissionDeniedError(JepaError):
    code = grpc.StatusCode.PERMISSION_DENIED


class ResourceExhaustedError(JepaError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class FailedPreconditionError(JepaError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class UnimplementedError(JepaError):
    code = grpc.StatusCode.UNIMPLEMENTED


class InternalError(JepaError):
    code = grpc.StatusCode.INTERNAL


class UnavailableError(JepaError):
    code = grpc.StatusCode.UNAVAILABLE


class UnauthenticatedError(JepaError):
    code = grpc.StatusCode.UNAUTHENTICATED


_ERROR_BY_CODE: dict[grpc.StatusCode, type[JepaError]] = {
    error.code: error
    for error in (
        CancelledError,
        InvalidArgumentError,
        DeadlineExceededError,
        NotFoundError,
        AlreadyExistsError,
        PermissionDeniedError,
        ResourceExhaustedError,
        FailedPreconditionError,
        UnimplementedError,
        InternalError,
        UnavailableError,
        UnauthenticatedError,
    )
}


def error_from_rpc(rpc_error: grpc.RpcError) -> JepaError:
    """The JepaError for a failed call (sync `grpc.Call` or `grpc.aio.AioRpcError`); raise it `from` the original."""
    code: grpc.StatusCode = rpc_error.code()
    details: str = rpc_error.details() or ""
    error_class = _ERROR_BY_CODE.get(code, JepaError)
    return error_class(details, code=code)
