"""The bad-input catalogue: every item gets its documented status and a message naming the field,
and after the whole catalogue the server still answers a valid request with the same embedding.

Requests go out as raw messages (or raw bytes) so that client-side checks cannot hide anything.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from jepa_client.v1 import common_pb2, embedding_pb2, retrieval_pb2
from support.bad_input import CATALOGUE, EXHAUSTED, Case, encoded, uri
from support.media import moving_bar_frames, write_video
from support.prometheus_text import sample_value

@pytest.fixture(scope="module", autouse=True)
def reference(raw_caller, env) -> np.ndarray:
    """The embedding of a valid video before the catalogue runs."""
    response = raw_caller("EmbedVideo", encoded(env.video), embedding_pb2.EmbedVideoResponse)
    assert isinstance(response, embedding_pb2.EmbedVideoResponse), response
    return np.asarray(response.embedding.values)


def call(raw_caller, case: Case, env: SimpleNamespace):
    request = case.build(env)
    if case.method == "EmbedVideoStream":
        return raw_caller.stream(request)
    return raw_caller(case.method, request, case.response_type)


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_bad_input_gets_its_documented_status_and_names_the_field(name: str, raw_caller, env) -> None:
    case = CATALOGUE[name]
    outcome = call(raw_caller, case, env)
    assert isinstance(outcome, grpc.RpcError), f"{name}: expected {case.code.name}, the call succeeded"
    assert outcome.code() == case.code, f"{name}: {outcome.code()} {outcome.details()!r}"
    assert re.match(case.message, outcome.details()), f"{name}: {outcome.details()!r} does not match {case.message!r}"


def test_single_frame_video_is_one_padded_window(raw_caller, tmp_path: Path) -> None:
    single = write_video(tmp_path / "one.mp4", moving_bar_frames(1), fps=8).read_bytes()
    response = raw_caller("EmbedVideo", encoded(single), embedding_pb2.EmbedVideoResponse)
    assert isinstance(response, embedding_pb2.EmbedVideoResponse), response
    assert (response.frames_decoded, response.num_windows) == (1, 1)
    assert np.isclose(np.linalg.norm(response.embedding.values), 1.0, atol=1e-5)


def test_a_file_under_the_media_root_is_embedded(raw_caller, env) -> None:
    inside = env.root / "inside.mp4"
    inside.write_bytes(env.video)
    for value in ("inside.mp4", str(inside), f"file://{inside}", f"file://localhost{inside}"):
        response = raw_caller("EmbedVideo", uri(value), embedding_pb2.EmbedVideoResponse)
        assert isinstance(response, embedding_pb2.EmbedVideoResponse), (value, response)


def search(raw_caller, wire: bytes):
    return raw_caller("/jepa.v1.RetrievalService/Search", wire, retrieval_pb2.SearchResponse)


def test_top_k_over_the_limit_or_negative_on_the_wire_is_refused(raw_caller) -> None:
    huge = search(raw_caller, retrieval_pb2.SearchRequest(text="a dog", top_k=1001).SerializeToString())
    assert isinstance(huge, grpc.RpcError) and huge.code() == EXHAUSTED
    assert huge.details() == "top_k: got 1001, the limit is 1000"
    # -1 sent as a 64-bit varint (what a client with a signed type sends) lands as 2**32 - 1.
    negative = search(raw_caller, retrieval_pb2.SearchRequest(text="a dog").SerializeToString() + b"\x20" + b"\xff" * 9 + b"\x01")
    assert isinstance(negative, grpc.RpcError) and negative.code() == EXHAUSTED
    assert negative.details() == "top_k: got 4294967295, the limit is 1000"


def test_bad_metadata_json_fails_its_item_with_invalid_argument(raw_caller, env) -> None:
    call = raw_caller.channel.stream_unary(
        "/jepa.v1.RetrievalService/IndexVideos", request_serializer=retrieval_pb2.IndexVideosRequest.SerializeToString,
        response_deserializer=retrieval_pb2.IndexVideosResponse.FromString,
    )
    video = common_pb2.VideoInput(encoded=env.video)
    bad = {"not-json": "{tag: 1", "a-list": "[1, 2]", "nan": '{"score": NaN}'}
    items = [retrieval_pb2.IndexVideosRequest(id=video_id, video=video, metadata_json=text) for video_id, text in bad.items()]
    response = call(iter(items), timeout=60)
    results = {item.id: item for item in response.items}
    for video_id in bad:
        assert results[video_id].code == grpc.StatusCode.INVALID_ARGUMENT.value[0], results[video_id]
        assert results[video_id].error.startswith("metadata_json: "), results[video_id].error


def test_after_the_whole_catalogue_the_server_answers_correctly(raw_caller, env, reference: np.ndarray, gateway) -> None:
    response = raw_caller("EmbedVideo", encoded(env.video), embedding_pb2.EmbedVideoResponse)
    assert isinstance(response, embedding_pb2.EmbedVideoResponse), response
    np.testing.assert_allclose(np.asarray(response.embedding.values), reference, atol=1e-5)
    health = health_pb2_grpc.HealthStub(raw_caller.channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    metrics = gateway.metrics_text()
    assert sample_value(metrics, "jepa_requests_total", code="INTERNAL") == 0
    assert sample_value(metrics, "jepa_requests_total", code="UNKNOWN") == 0
