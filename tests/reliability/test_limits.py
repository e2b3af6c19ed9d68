"""Every limit is a setting: gateways with small limits refuse what exceeds them with
RESOURCE_EXHAUSTED (or INVALID_ARGUMENT) naming the field and the limit, and videos larger than one
message go through the EmbedVideoStream upload."""

from __future__ import annotations

import asyncio
import concurrent.futures
from pathlib import Path

import grpc
import numpy as np
import pytest

from jepa_client import AsyncClient, Client, ClientOptions, RetryPolicy
from jepa_client.v1 import common_pb2, embedding_pb2
from jepa_server.settings import Settings
from support.calls import RawCaller
from support.media import moving_bar_frames, write_video

KIB = 1024
EXHAUSTED = grpc.StatusCode.RESOURCE_EXHAUSTED


def noise_video(path: Path, num_frames: int, height: int, width: int) -> bytes:
    """Noise compresses badly: a few frames make a large file."""
    frames = np.random.default_rng(num_frames).integers(0, 256, size=(num_frames, height, width, 3), dtype=np.uint8)
    return write_video(path, frames, fps=8).read_bytes()


def encoded(data: bytes, **sampling: int) -> embedding_pb2.EmbedVideoRequest:
    return embedding_pb2.EmbedVideoRequest(video=common_pb2.VideoInput(encoded=data, sampling=common_pb2.Sampling(**sampling)))


def assert_refused(outcome, code: grpc.StatusCode, message: str) -> None:
    assert isinstance(outcome, grpc.RpcError), "the call succeeded"
    assert outcome.code() == code and outcome.details().startswith(message), (outcome.code(), outcome.details())


def test_every_limit_has_a_safe_default() -> None:
    defaults = Settings()
    assert defaults.max_message_bytes == 64 << 20
    assert defaults.max_upload_bytes == 2 << 30
    assert (defaults.max_concurrent_requests, defaults.max_decoded_frames, defaults.max_windows) == (64, 4096, 256)
    assert (defaults.max_video_seconds, defaults.max_video_pixels) == (3600.0, 3840 * 2160)
    assert (defaults.max_texts, defaults.max_text_chars, defaults.max_top_k) == (256, 20_000, 1000)
    assert defaults.shutdown_grace_s == 10.0


@pytest.fixture(scope="module")
def upload_gateway(start_gateway):
    return start_gateway(
        max_message_bytes=256 * KIB, max_upload_bytes=512 * KIB, max_texts=4, max_text_chars=2000, truncate_texts=False,
        max_concurrent_requests=1,
    )


@pytest.fixture(scope="module")
def decode_gateway(start_gateway):
    return start_gateway(max_decoded_frames=20, max_video_seconds=3, max_video_pixels=100 * 100, max_windows=2)


@pytest.fixture(scope="module")
def large_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("large") / "noise.mp4"
    noise_video(path, 24, 144, 176)
    assert 256 * KIB < path.stat().st_size < 512 * KIB
    return path


@pytest.fixture
def caller(request: pytest.FixtureRequest):
    raw = RawCaller(request.getfixturevalue(request.param).address)
    yield raw
    raw.close()


def options(address: str) -> ClientOptions:
    return ClientOptions(address=address, retry=RetryPolicy(max_retries=0), timeout=60)


@pytest.mark.parametrize("caller", ["upload_gateway"], indirect=True)
def test_a_message_over_max_message_bytes_is_refused(caller, large_video: Path) -> None:
    refused = caller("EmbedVideo", encoded(large_video.read_bytes()), embedding_pb2.EmbedVideoResponse)
    assert isinstance(refused, grpc.RpcError) and refused.code() == EXHAUSTED
    assert "larger than max" in refused.details()


def test_the_same_video_uploaded_in_pieces_gets_the_same_embedding(upload_gateway, gateway, large_video: Path) -> None:
    with Client(options(gateway.address)) as whole:
        expected = whole.embed_video(large_video, return_windows=True)
    with Client(options(upload_gateway.address)) as client:
        from_path = client.embed_video_stream(large_video, chunk_bytes=64 * KIB, return_windows=True)
        from_bytes = client.embed_video_stream(large_video.read_bytes(), chunk_bytes=100 * KIB)

    async def upload_async():
        async with AsyncClient(options(upload_gateway.address)) as client:
            return await client.embed_video_stream(large_video, chunk_bytes=32 * KIB)

    from_async = asyncio.run(upload_async())
    for result in (from_path, from_bytes, from_async):
        np.testing.assert_allclose(result.embedding, expected.embedding, atol=1e-5)
        assert result.frames_decoded == expected.frames_decoded
    assert [w.start_seconds for w in from_path.windows] == [w.start_seconds for w in expected.windows]


@pytest.mark.parametrize("caller", ["upload_gateway"], indirect=True)
def test_an_upload_over_max_upload_bytes_is_refused(caller, tmp_path: Path) -> None:
    too_large = noise_video(tmp_path / "larger.mp4", 16, 240, 320)
    assert len(too_large) > 512 * KIB
    chunks = [embedding_pb2.EmbedVideoChunk(data=too_large[start : start + 64 * KIB]) for start in range(0, len(too_large), 64 * KIB)]
    assert_refused(caller.stream(chunks), EXHAUSTED, f"video.encoded: the upload exceeds the limit of {512 * KIB} bytes (max_upload_bytes)")


@pytest.mark.parametrize("caller", ["upload_gateway"], indirect=True)
def test_text_limits(caller) -> None:
    def embed(*texts: str):
        return caller("EmbedText", embedding_pb2.EmbedTextRequest(texts=list(texts)), embedding_pb2.EmbedTextResponse)

    assert_refused(embed(*["word"] * 5), EXHAUSTED, "texts: got 5 texts, the limit is 4")
    assert_refused(embed("ok", "b" * 2001), EXHAUSTED, "texts[1]: 2001 characters, the limit is 2000")
    assert_refused(embed("word " * 300), grpc.StatusCode.INVALID_ARGUMENT, "texts[0]: longer than the model's 256 tokens")
    assert isinstance(embed(*["word"] * 4), embedding_pb2.EmbedTextResponse)


def test_calls_beyond_max_concurrent_requests_are_refused_at_once(upload_gateway, tmp_path: Path) -> None:
    video = write_video(tmp_path / "clip.mp4", moving_bar_frames(48), fps=8).read_bytes()
    caller = RawCaller(upload_gateway.address)
    try:
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            outcomes = list(pool.map(lambda _: caller("EmbedVideo", encoded(video), embedding_pb2.EmbedVideoResponse), range(6)))
    finally:
        caller.close()
    refused = [o for o in outcomes if isinstance(o, grpc.RpcError)]
    assert refused and len(refused) < len(outcomes)
    for outcome in refused:
        assert_refused(outcome, EXHAUSTED, "max_concurrent_requests: the server is already serving 1 calls; retry later")


@pytest.mark.parametrize("caller", ["decode_gateway"], indirect=True)
def test_decode_limits(caller, tmp_path: Path) -> None:
    def embed(request):
        return caller("EmbedVideo", request, embedding_pb2.EmbedVideoResponse)

    small = lambda frames, fps: write_video(tmp_path / f"{frames}-{fps}.mp4", moving_bar_frames(frames, 64, 64), fps=fps).read_bytes()  # noqa: E731
    assert_refused(embed(encoded(small(40, 8))), EXHAUSTED, "video.encoded: duration 5.0 s exceeds the limit of 3 s")
    assert_refused(embed(encoded(small(64, 30), frame_step=4)), EXHAUSTED, "video.encoded: more than 20 frames decoded (max_decoded_frames)")
    assert_refused(embed(encoded(small(16, 8), max_windows=3)), EXHAUSTED, "sampling.max_windows: got 3, the limit is 2")
    big_frames = write_video(tmp_path / "big.mp4", moving_bar_frames(8), fps=8).read_bytes()
    assert_refused(embed(encoded(big_frames)), EXHAUSTED, "video.encoded: resolution 128x96 exceeds the limit of 10000 pixels (max_video_pixels)")
    raw = moving_bar_frames(21, 64, 64)
    frames = common_pb2.Frames(data=raw.tobytes(), num_frames=21, height=64, width=64)
    request = embedding_pb2.EmbedVideoRequest(video=common_pb2.VideoInput(frames=frames))
    assert_refused(embed(request), EXHAUSTED, "video.frames.num_frames: got 21, the limit is 20")
    clipped = embed(encoded(small(48, 30)))
    assert isinstance(clipped, embedding_pb2.EmbedVideoResponse) and clipped.num_windows == 2
