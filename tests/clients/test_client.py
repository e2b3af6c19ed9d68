"""The jepa_client SDK against a real gRPC server on localhost; most tests run on both clients."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import grpc
import numpy as np
import pytest

import jepa_client
from jepa_client import (
    AsyncClient,
    Client,
    ClientOptions,
    DeadlineExceededError,
    IndexItem,
    InternalError,
    InvalidArgumentError,
    JepaError,
    NotFoundError,
    ResourceExhaustedError,
    RetryPolicy,
    TlsOptions,
    UnauthenticatedError,
    UnavailableError,
    rpc,
)
from jepa_client.convert import frames_array
from jepa_client.retry import Attempts

if TYPE_CHECKING:
    from conftest import Pki, RunningServer

Connect = Callable[..., Any]
FAST_RETRIES = RetryPolicy(max_retries=3, initial_backoff=0.01, max_backoff=0.02)


# --- conversions ------------------------------------------------------------------------------


def test_text_embeddings_arrive_as_float32_rows_in_input_order(server: RunningServer, connect: Connect) -> None:
    texts = ["a dog", "a city at night", "x"]
    result = connect(server.address).embed_text(texts)
    assert result.embeddings.dtype == np.float32
    assert result.embeddings.shape == (3, 4)
    np.testing.assert_array_equal(result.embeddings, [server.servicer.text_vector(text, i) for i, text in enumerate(texts)])
    assert result.model == jepa_client.ModelInfo("text_encoder", "3", 4, "minilm")


def test_a_single_string_is_one_text_not_its_characters(server: RunningServer, connect: Connect) -> None:
    result = connect(server.address).embed_text("hello", model="text_encoder")
    assert result.embeddings.shape == (1, 4)
    assert list(server.servicer.received[0].request.texts) == ["hello"]
    assert server.servicer.received[0].request.model == "text_encoder"


def test_frames_are_sent_as_frames_message_with_their_shape(server: RunningServer, connect: Connect) -> None:
    frames = np.random.default_rng(0).integers(0, 256, size=(4, 6, 10, 3), dtype=np.uint8)
    result = connect(server.address).embed_video(frames, frames_fps=25.0)
    sent = server.servicer.received[0].request.video
    assert sent.WhichOneof("source") == "frames"
    assert (sent.frames.num_frames, sent.frames.height, sent.frames.width, sent.frames.fps) == (4, 6, 10, 25.0)
    np.testing.assert_array_equal(frames_array(sent.frames), frames)
    assert result.embedding.dtype == np.float32 and result.embedding.shape == (4,)
    np.testing.assert_array_equal(result.embedding, [4, 6, 10, 25])


def test_non_contiguous_frames_are_sent_in_row_major_order(server: RunningServer, connect: Connect) -> None:
    frames = np.arange(2 * 8 * 8 * 3, dtype=np.uint8).reshape(2, 8, 8, 3)[:, ::2, 1::2]
    connect(server.address).embed_video(frames)
    np.testing.assert_array_equal(frames_array(server.servicer.received[0].request.video.frames), frames)


@pytest.mark.parametrize("as_type", [str, Path])
def test_a_path_is_read_and_sent_as_encoded_bytes(
    server: RunningServer, connect: Connect, tmp_path: Path, as_type: Callable[[Path], Any]
) -> None:
    content = np.random.default_rng(1).bytes(3000)
    (tmp_path / "clip.mp4").write_bytes(content)
    connect(server.address).embed_video(as_type(tmp_path / "clip.mp4"))
    sent = server.servicer.received[0].request.video
    assert sent.WhichOneof("source") == "encoded"
    assert sent.encoded == content


def test_bytes_are_sent_as_encoded_and_uri_as_uri(server: RunningServer, connect: Connect) -> None:
    client = connect(server.address)
    client.embed_video(b"\x00\x01video")
    client.embed_video(uri="media/clip.webm")
    by_bytes, by_uri = (received.request.video for received in server.servicer.received)
    assert by_bytes.encoded == b"\x00\x01video"
    assert by_uri.WhichOneof("source") == "uri" and by_uri.uri == "media/clip.webm"


def test_sampling_is_sent_and_windows_come_back_with_times_and_vectors(server: RunningServer, connect: Connect) -> None:
    result = connect(server.address).embed_video(
        b"video", model="vjepa2_encoder", frames_per_clip=16, frame_step=2, fps=8.0, window_stride=4, return_windows=True
    )
    request = server.servicer.received[0].request
    sampling = request.video.sampling
    assert (sampling.frames_per_clip, sampling.frame_step, sampling.fps, sampling.window_stride) == (16, 2, 8.0, 4)
    assert request.model == "vjepa2_encoder" and request.return_windows
    assert [(w.index, w.start_seconds, w.end_seconds) for w in result.windows] == [(0, 0.0, 0.5), (1, 0.5, 1.0)]
    np.testing.assert_array_equal(result.windows[1].embedding, result.embedding + 1)
    assert result.windows[1].embedding.dtype == np.float32
    assert (result.frames_decoded, result.num_windows, result.duration_seconds) == (16, 2, 1.0)
    assert result.model.name == "vjepa2_encoder"


@pytest.mark.parametrize(
    ("video", "error", "field_named"),
    [
        (np.zeros((2, 4, 4, 3), dtype=np.float32), TypeError, "frames: got dtype float32"),
        (np.zeros((4, 4, 3), dtype=np.uint8), ValueError, "frames: got shape (4, 4, 3)"),
        (np.zeros((0, 4, 4, 3), dtype=np.uint8), ValueError, "need (T, H, W, 3)"),
        (None, ValueError, "either a source"),
        (12, TypeError, "video: got int"),
    ],
)
def test_invalid_video_input_is_refused_before_sending(
    server: RunningServer, connect: Connect, video: Any, error: type[Exception], field_named: str
) -> None:
    with pytest.raises(error, match=field_named.replace("(", r"\(").replace(")", r"\)")):
        connect(server.address).embed_video(video)
    assert server.servicer.received == []


def test_negative_sampling_value_names_the_field(server: RunningServer, connect: Connect) -> None:
    with pytest.raises(ValueError, match="frame_step: got -1"):
        connect(server.address).embed_video(b"video", frame_step=-1)


def test_list_models_returns_model_infos(server: RunningServer, connect: Connect) -> None:
    models = connect(server.address).list_models()
    assert [(m.name, m.dimension, m.embedding_space) for m in models] == [("vjepa2_encoder", 4, "vjepa2"), ("text_encoder", 4, "minilm")]


# --- metadata and deadlines -------------------------------------------------------------------


def test_token_is_sent_as_bearer_metadata_on_every_call(server: RunningServer, connect: Connect) -> None:
    client = connect(server.address, token="s3cret")
    client.list_models()
    client.embed_text(["a"])
    client.embed_video(b"v")
    assert [received.metadata.get("authorization") for received in server.servicer.received] == ["Bearer s3cret"] * 3


def test_no_authorization_metadata_without_a_token(server: RunningServer, connect: Connect) -> None:
    connect(server.address).list_models()
    assert "authorization" not in server.servicer.received[0].metadata


def test_call_timeout_reaches_the_server_as_its_deadline(server: RunningServer, connect: Connect) -> None:
    connect(server.address, timeout=30.0).embed_text("a", timeout=5.0)
    assert 4.0 < server.servicer.received[0].time_remaining <= 5.1  # the wire rounds deadlines up a little


def test_options_timeout_is_the_default_deadline(server: RunningServer, connect: Connect) -> None:
    connect(server.address, timeout=7.0).list_models()
    assert 6.0 < server.servicer.received[0].time_remaining <= 7.1


def test_a_slow_call_raises_deadline_exceeded_and_is_not_retried(server: RunningServer, connect: Connect) -> None:
    with pytest.raises(DeadlineExceededError):
        connect(server.address, retry=FAST_RETRIES).embed_text("a", model="slow", timeout=0.2)
    assert len(server.servicer.received) == 1


# --- retries ----------------------------------------------------------------------------------


def test_unavailable_is_retried_for_idempotent_calls(server: RunningServer, connect: Connect) -> None:
    server.servicer.unavailable_failures = 2
    client = connect(server.address, retry=FAST_RETRIES)
    assert len(client.list_models()) == 2
    assert len(server.servicer.received) == 3 and client.retries == 2


def test_retries_give_up_after_max_retries_with_unavailable_error(server: RunningServer, connect: Connect) -> None:
    server.servicer.unavailable_failures = 10
    with pytest.raises(UnavailableError, match="backend: warming up"):
        connect(server.address, retry=dataclasses.replace(FAST_RETRIES, max_retries=2)).embed_text("a")
    assert len(server.servicer.received) == 3


def test_index_videos_is_sent_again_whole_after_unavailable(server: RunningServer, connect: Connect) -> None:
    server.servicer.unavailable_failures = 1
    client = connect(server.address, retry=FAST_RETRIES)
    report = client.index_videos([IndexItem("a", b"video a"), IndexItem("b", b"video b")])
    assert [item.id for item in report.items] == ["a", "b"]
    assert [[request.id for request in received.request] for received in server.servicer.received] == [["a", "b"], ["a", "b"]]
    assert client.retries == 1


def test_index_videos_from_a_one_shot_iterator_is_not_retried(server: RunningServer, connect: Connect) -> None:
    server.servicer.unavailable_failures = 1
    client = connect(server.address, retry=FAST_RETRIES)
    with pytest.raises(UnavailableError):
        client.index_videos(iter([IndexItem("a", b"video a"), IndexItem("b", b"video b")]))
    assert len(server.servicer.received) == 1 and client.retries == 0


def test_non_idempotent_methods_are_never_retried(server: RunningServer, connect: Connect) -> None:
    server.servicer.unavailable_failures = 1
    write_like = dataclasses.replace(rpc.EMBED_TEXT, idempotent=False)
    with pytest.raises(UnavailableError):
        connect(server.address, retry=FAST_RETRIES).invoke(write_like, write_like.request_type(texts=["a"]))
    assert len(server.servicer.received) == 1


def test_retries_stop_when_the_backoff_would_pass_the_deadline(server: RunningServer, connect: Connect) -> None:
    server.servicer.unavailable_failures = 10
    client = connect(server.address, retry=RetryPolicy(max_retries=5, initial_backoff=4.0, max_backoff=4.0))
    started = time.monotonic()
    with pytest.raises(UnavailableError):
        client.list_models(timeout=1.0)
    assert time.monotonic() - started < 1.0
    assert len(server.servicer.received) == 1


def test_only_unavailable_is_retried(server: RunningServer, connect: Connect) -> None:
    with pytest.raises(InternalError):
        connect(server.address, retry=FAST_RETRIES).embed_text("a", model="status:INTERNAL")
    assert len(server.servicer.received) == 1


def test_backoff_grows_by_the_multiplier_up_to_max_backoff_with_jitter() -> None:
    policy = RetryPolicy(max_retries=6, initial_backoff=0.5, max_backoff=3.0, multiplier=2.0)
    assert [policy.backoff_ceiling(retry) for retry in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    attempts = Attempts(policy, idempotent=True, timeout=None)
    delays = [attempts.backoff_after(grpc.StatusCode.UNAVAILABLE) for _ in range(7)]
    assert delays[6] is None
    for retry, delay in enumerate(delays[:6]):
        assert policy.backoff_ceiling(retry) / 2 <= delay <= policy.backoff_ceiling(retry)
    assert len({round(delay, 9) for delay in delays[3:6]}) == 3  # jittered, not all the same cap


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        ("INVALID_ARGUMENT", InvalidArgumentError),
        ("RESOURCE_EXHAUSTED", ResourceExhaustedError),
        ("UNAUTHENTICATED", UnauthenticatedError),
        ("DEADLINE_EXCEEDED", DeadlineExceededError),
        ("NOT_FOUND", NotFoundError),
        ("UNAVAILABLE", UnavailableError),
        ("DATA_LOSS", JepaError),
    ],
)
def test_status_codes_raise_their_error_class_with_code_and_server_message(
    server: RunningServer, connect: Connect, status: str, error_class: type[JepaError]
) -> None:
    with pytest.raises(JepaError) as raised:
        connect(server.address, retry=RetryPolicy(max_retries=0)).embed_text("a", model=f"status:{status}")
    assert type(raised.value) is error_class
    assert raised.value.code == grpc.StatusCode[status]
    assert raised.value.details == f"model: forced {status}"
    assert str(raised.value) == f"{status}: model: forced {status}"
    assert isinstance(raised.value.__cause__, grpc.RpcError)


def test_request_over_max_message_bytes_fails_before_reaching_the_server(server: RunningServer, connect: Connect) -> None:
    with pytest.raises(ResourceExhaustedError):
        connect(server.address, max_message_bytes=1024).embed_video(bytes(4096))
    assert server.servicer.received == []


def test_unreachable_server_raises_unavailable_after_retries(connect: Connect) -> None:
    with pytest.raises(UnavailableError):
        connect("127.0.0.1:1", retry=FAST_RETRIES).list_models(timeout=5.0)


# --- options ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: TlsOptions(certificate_chain=b"cert"), "certificate_chain and private_key"),
        (lambda: ClientOptions(timeout=0), "timeout: got 0"),
        (lambda: ClientOptions(max_message_bytes=0), "max_message_bytes: got 0"),
        (lambda: ClientOptions(token="a\nb"), "token:"),
        (lambda: RetryPolicy(max_retries=-1), "max_retries: got -1"),
        (lambda: RetryPolicy(initial_backoff=2.0, max_backoff=1.0), "max_backoff: got 1.0"),
    ],
)
def test_invalid_options_name_the_field_and_the_limit(make: Callable[[], Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_client_accepts_an_address_string_and_closes_as_context_manager(server: RunningServer) -> None:
    with Client(server.address) as client:
        assert client.options.address == server.address
        assert len(client.list_models()) == 2
    with pytest.raises(ValueError):  # the channel is closed
        client.list_models()


async def test_async_client_works_as_async_context_manager(server: RunningServer) -> None:
    async with AsyncClient(ClientOptions(address=server.address, token="t")) as client:
        result = await client.embed_text(["ab", "c"])
        assert result.embeddings.shape == (2, 4)
    assert server.servicer.received[0].metadata["authorization"] == "Bearer t"
    assert result.model.name == "text_encoder"


# --- TLS --------------------------------------------------------------------------------------


def test_tls_with_the_right_ca_and_server_name_succeeds(tls_server: RunningServer, pki: Pki, connect: Connect) -> None:
    client = connect(tls_server.address, tls=TlsOptions(root_certificates=pki.ca, server_name=pki.server_name))
    assert len(client.list_models()) == 2


def test_tls_refuses_a_certificate_for_another_host(tls_server: RunningServer, pki: Pki, connect: Connect) -> None:
    client = connect(tls_server.address, tls=TlsOptions(root_certificates=pki.ca), retry=RetryPolicy(max_retries=0))
    calls_before = len(tls_server.servicer.received)
    with pytest.raises(UnavailableError):
        client.list_models(timeout=5.0)
    assert len(tls_server.servicer.received) == calls_before


def test_tls_refuses_a_server_signed_by_an_unknown_ca(tls_server: RunningServer, pki: Pki, connect: Connect) -> None:
    tls = TlsOptions(root_certificates=pki.stranger_ca, server_name=pki.server_name)
    with pytest.raises(UnavailableError):
        connect(tls_server.address, tls=tls, retry=RetryPolicy(max_retries=0)).list_models(timeout=5.0)


def test_mutual_tls_accepts_a_client_certificate_signed_by_the_ca(
    mtls_server: RunningServer, pki: Pki, connect: Connect, tmp_path: Path
) -> None:
    for name, pem in (("ca.pem", pki.ca), ("client.pem", pki.client_chain), ("client.key", pki.client_key)):
        (tmp_path / name).write_bytes(pem)
    tls = TlsOptions.from_files(tmp_path / "ca.pem", tmp_path / "client.pem", tmp_path / "client.key", pki.server_name)
    assert connect(mtls_server.address, tls=tls, token="t").embed_text("a").embeddings.shape == (1, 4)


def test_mutual_tls_refuses_a_client_without_certificate(mtls_server: RunningServer, pki: Pki, connect: Connect) -> None:
    tls = TlsOptions(root_certificates=pki.ca, server_name=pki.server_name)
    with pytest.raises(UnavailableError):
        connect(mtls_server.address, tls=tls, retry=RetryPolicy(max_retries=0)).list_models(timeout=5.0)


# --- dependencies -----------------------------------------------------------------------------


def test_the_sdk_and_cli_import_nothing_beyond_grpcio_protobuf_and_numpy() -> None:
    probe = (
        "import sys, jepa_client, jepa_client.cli\n"
        "print(sorted({name.split('.')[0] for name in sys.modules} & {'torch', 'pydantic', 'jepa_server', 'jepa_export', 'click'}))"
    )
    imported = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert imported.strip() == "[]"
