"""Property-based requests and mutated video bytes against the real gateway, for a bounded number
of examples: whatever arrives, the answer is OK or a client-error status, never INTERNAL or
UNKNOWN, and the server keeps serving."""

from __future__ import annotations

import grpc
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jepa_client.v1 import common_pb2, embedding_pb2
from support.media import moving_bar_frames, write_video

CLIENT_ERRORS = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.NOT_FOUND}
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

uint32 = st.integers(0, 2**32 - 1)
small = st.integers(0, 20)
strings = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)  # proto3 strings hold no lone surrogates
floats = st.floats(allow_nan=True, allow_infinity=True)

# Mostly defaults and values the tiny model takes, so that many requests reach the decoder.
sampling = st.one_of(st.none(), st.builds(
    common_pb2.Sampling,
    frames_per_clip=st.one_of(st.just(0), st.just(8), small, uint32), frame_step=st.one_of(st.just(0), small, uint32),
    fps=st.one_of(st.just(0.0), st.floats(0, 30), floats), window_stride=st.one_of(st.just(0), small, uint32),
    max_windows=st.one_of(st.just(0), small, uint32),
))


@st.composite
def raw_frames(draw) -> common_pb2.Frames:
    num_frames, height, width = draw(st.integers(0, 4)), draw(st.integers(0, 24)), draw(st.integers(0, 24))
    exact = num_frames * height * width * 3
    length = draw(st.sampled_from([exact, exact, max(0, exact - 1), exact + 3]))
    return common_pb2.Frames(
        data=draw(st.binary(min_size=length, max_size=length)), num_frames=draw(st.one_of(st.just(num_frames), uint32)),
        height=height, width=width, fps=draw(floats),
    )


video_input = st.one_of(
    st.builds(common_pb2.VideoInput, encoded=st.binary(max_size=512), sampling=sampling),
    st.builds(common_pb2.VideoInput, frames=raw_frames(), sampling=sampling),
    st.builds(common_pb2.VideoInput, uri=strings, sampling=sampling),
    st.builds(common_pb2.VideoInput, sampling=sampling),
)
models = st.one_of(st.just(""), st.just(""), st.just("vjepa2_encoder"), st.just("text_encoder"), strings)
video_requests = st.builds(embedding_pb2.EmbedVideoRequest, video=video_input, model=models, return_windows=st.booleans())
text_requests = st.builds(embedding_pb2.EmbedTextRequest, texts=st.lists(strings, max_size=6), model=models)


def assert_answered_properly(outcome) -> None:
    if isinstance(outcome, grpc.RpcError):
        assert outcome.code() in CLIENT_ERRORS, f"{outcome.code()}: {outcome.details()}"
        assert ":" in outcome.details(), f"no field named in {outcome.details()!r}"


@FUZZ
@given(request=video_requests)
def test_any_video_request_gets_ok_or_a_client_error(raw_caller, request) -> None:
    assert_answered_properly(raw_caller("EmbedVideo", request, embedding_pb2.EmbedVideoResponse, timeout=30))


@FUZZ
@given(request=text_requests)
def test_any_text_request_gets_ok_or_a_client_error(raw_caller, request) -> None:
    assert_answered_properly(raw_caller("EmbedText", request, embedding_pb2.EmbedTextResponse, timeout=30))


@FUZZ
@given(wire=st.binary(max_size=256), method=st.sampled_from(["EmbedVideo", "EmbedText"]))
def test_any_bytes_on_the_wire_get_ok_or_a_client_error(raw_caller, wire: bytes, method: str) -> None:
    response_type = embedding_pb2.EmbedVideoResponse if method == "EmbedVideo" else embedding_pb2.EmbedTextResponse
    assert_answered_properly(raw_caller(method, wire, response_type, timeout=30))


@pytest.fixture(scope="module")
def real_video(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return write_video(tmp_path_factory.mktemp("fuzz") / "seed.mp4", moving_bar_frames(12, seed=4), fps=8).read_bytes()


@st.composite
def mutations(draw, size: int) -> list[tuple[str, int, int]]:
    """Byte flips, zeroed runs, cuts and duplicated runs at positions inside a file of `size` bytes."""
    position = st.integers(0, size - 1)
    one = st.tuples(st.sampled_from(["flip", "zero", "cut", "repeat"]), position, st.integers(1, 64))
    return draw(st.lists(one, min_size=1, max_size=8))


def mutate(data: bytes, edits: list[tuple[str, int, int]]) -> bytes:
    mutable = bytearray(data)
    for kind, at, length in edits:
        at = min(at, max(len(mutable) - 1, 0))
        if kind == "flip":
            mutable[at] ^= 1 << (length % 8)
        elif kind == "zero":
            mutable[at : at + length] = bytes(len(mutable[at : at + length]))
        elif kind == "cut":
            del mutable[at : at + length]
        else:
            mutable[at:at] = mutable[at : at + length]
    return bytes(mutable)


def test_mutated_real_videos_get_ok_or_a_client_error(raw_caller, real_video: bytes) -> None:
    @settings(FUZZ, max_examples=300)
    @given(edits=mutations(len(real_video)))
    def run(edits) -> None:
        request = embedding_pb2.EmbedVideoRequest(video=common_pb2.VideoInput(encoded=mutate(real_video, edits)))
        assert_answered_properly(raw_caller("EmbedVideo", request, embedding_pb2.EmbedVideoResponse, timeout=30))

    run()
    healthy = raw_caller("EmbedVideo", embedding_pb2.EmbedVideoRequest(video=common_pb2.VideoInput(encoded=real_video)), embedding_pb2.EmbedVideoResponse)
    assert isinstance(healthy, embedding_pb2.EmbedVideoResponse), healthy
    assert np.isclose(np.linalg.norm(healthy.embedding.values), 1.0, atol=1e-5)
