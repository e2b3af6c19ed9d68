"""The domain errors of the gateway's core and adapters: what went wrong, with the field it
concerns, and nothing about any transport. Each front end maps them to its own codes in one
table (`api/status.py` for gRPC)."""

from __future__ import annotations

from jepa_media import FieldError


class GatewayError(FieldError):
    """Base of every domain error: `field` names what the caller can fix or look at."""

    def with_field(self, field: str) -> GatewayError:
        """The same error about the same problem, for a front end that calls the field otherwise."""
        return type(self)(field, self.problem)


class InvalidInput(GatewayError):
    """The request itself is wrong; sending it again fails again."""


class LimitExceeded(GatewayError):
    """The request is over a configured limit (size, count, concurrency)."""


class NotFound(GatewayError):
    """The request names something this server does not have."""


class BackendUnavailable(GatewayError):
    """A backend (Triton, Milvus, a decode worker) cannot be reached now; a retry may succeed."""


class DeadlineExceeded(GatewayError):
    """The caller's deadline (or the backend's timeout) passed before the work finished."""


class FailedPrecondition(GatewayError):
    """The server is not in a state to do this (mismatched spaces, a malformed model repository)."""


class SpaceMismatch(FailedPrecondition):
    """The request pairs models of different embedding spaces (a text model and a video collection,
    a video model and a caption decoder): it conflicts with what the server holds."""


class MalformedRepository(FailedPrecondition):
    """The repository Triton serves lacks something the gateway needs to use one of its models."""


class ModelFailure(GatewayError):
    """A served model failed on a request that was valid: deterministic, so never worth retrying."""
