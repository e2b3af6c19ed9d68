"""The gateway's errors: each carries its gRPC status code and a message naming the field."""

from __future__ import annotations

import grpc


class GatewayError(Exception):
    code: grpc.StatusCode = grpc.StatusCode.INTERNAL

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem

    def __reduce__(self):  # raised in decode worker processes and pickled back
        return (type(self), (self.field, self.problem))


class InvalidInput(GatewayError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class LimitExceeded(GatewayError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class NotFound(GatewayError):
    code = grpc.StatusCode.NOT_FOUND


class BackendUnavailable(GatewayError):
    code = grpc.StatusCode.UNAVAILABLE


class DeadlineExceeded(GatewayError):
    code = grpc.StatusCode.DEADLINE_EXCEEDED


class FailedPrecondition(GatewayError):
    code = grpc.StatusCode.FAILED_PRECONDITION
