"""Domain errors and the gRPC front end's one table: every error has its own code, and only an
unreachable backend answers UNAVAILABLE (the one code the SDK retries). Triton's failures are
sorted by the gRPC status of the call, never by their wording."""

from __future__ import annotations

import inspect

import grpc
import pytest
from tritonclient.utils import InferenceServerException

from jepa_server import errors
from jepa_server.api.status import GRPC_STATUS, status_of
from jepa_server.backends.triton import domain_error

DOMAIN_ERRORS = [kind for _, kind in inspect.getmembers(errors, inspect.isclass) if issubclass(kind, errors.GatewayError) and kind is not errors.GatewayError]


@pytest.mark.parametrize("kind", DOMAIN_ERRORS, ids=lambda kind: kind.__name__)
def test_every_domain_error_has_its_own_grpc_status(kind):
    assert kind in GRPC_STATUS or any(base in GRPC_STATUS and base is not errors.GatewayError for base in kind.__mro__[1:])
    code, message = status_of(kind("field", "what went wrong"))
    assert code != grpc.StatusCode.UNKNOWN and message == "field: what went wrong"


def test_only_an_unavailable_backend_is_answered_with_the_retried_code():
    retried = {kind.__name__ for kind in DOMAIN_ERRORS if status_of(kind("f", "p"))[0] == grpc.StatusCode.UNAVAILABLE}
    assert retried == {"BackendUnavailable"}


def test_a_malformed_repository_is_a_failed_precondition():
    assert status_of(errors.MalformedRepository("model text_decoder", "parameter jepa.bos_id is missing"))[0] == grpc.StatusCode.FAILED_PRECONDITION


def test_domain_errors_cross_the_decode_process_boundary_whole():
    import pickle

    error = pickle.loads(pickle.dumps(errors.LimitExceeded("video.encoded", "too long")))
    assert type(error) is errors.LimitExceeded and (error.field, error.problem) == ("video.encoded", "too long")


def triton_failure(status: str | None, message: str) -> InferenceServerException:
    """What tritonclient raises for a failed call: the gRPC status as str(grpc.StatusCode.X)."""
    return InferenceServerException(msg=message, status=status)


@pytest.mark.parametrize(
    ("status", "message", "expected"),
    [
        ("StatusCode.UNAVAILABLE", "failed to connect to all addresses", errors.BackendUnavailable),
        ("StatusCode.NOT_FOUND", "Request for unknown model: 'text_encoder' is not found", errors.BackendUnavailable),
        ("StatusCode.DEADLINE_EXCEEDED", "Deadline Exceeded", errors.DeadlineExceeded),
        ("StatusCode.INVALID_ARGUMENT", "unexpected shape for input 'input_ids'", errors.InvalidInput),
        ("StatusCode.RESOURCE_EXHAUSTED", "Received message larger than max", errors.LimitExceeded),
        # The wording says "connect" and "unavailable": the status says the model failed.
        ("StatusCode.INTERNAL", "RuntimeException: could not connect the graph: unavailable kernel", errors.ModelFailure),
        ("StatusCode.UNKNOWN", "socket closed in the model's own code", errors.ModelFailure),
        (None, "model version must be a string", errors.ModelFailure),
    ],
)
def test_triton_failures_are_sorted_by_their_grpc_status(status, message, expected):
    error = domain_error(triton_failure(status, message), "text_encoder")
    assert type(error) is expected
    assert "text_encoder" in str(error)
