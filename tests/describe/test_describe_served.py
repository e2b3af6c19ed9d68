"""Describe through the real gateway and Triton, on a tiny random VL-JEPA (mechanics, not accuracy:
the accuracy of the trained demo checkpoint is what `jepa-serve demo` and benchmarks/describe_eval.py measure)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from jepa_client import Client, FailedPreconditionError, InvalidArgumentError
from jepa_export.vljepa.model import load_vljepa
from support.media import moving_bar_frames, write_video
from support.prometheus_text import sample_value, scrape
from support.waiting import wait_until


def decoder_calls(triton) -> float:
    return sample_value(scrape(triton.metrics_url), "nv_inference_count", model="text_decoder")


@pytest.fixture()
def client(vljepa_gateway):
    with Client(vljepa_gateway.address) as connected:
        yield connected


def test_ensemble_equals_encoder_then_predictor(client, tiny_vljepa_dir, tmp_path):
    frames = moving_bar_frames(8, height=32, width=32, seed=2)
    served = client.embed_video(frames, frames_fps=4, return_windows=True)
    model = load_vljepa(tiny_vljepa_dir)
    pixels = (frames.astype(np.float32) / 255 - np.array([0.485, 0.456, 0.406], np.float32)) / np.array([0.229, 0.224, 0.225], np.float32)
    windows = torch.from_numpy(np.ascontiguousarray(pixels.reshape(2, 4, 32, 32, 3).transpose(0, 1, 4, 2, 3)))
    expected = model.embed_videos(windows).numpy()
    assert served.model.name == "vljepa_video"
    for window, vector in zip(served.windows, expected):
        assert float(window.embedding @ vector) >= 0.9999


def test_video_and_text_share_one_embedding_space(client):
    models = {model.name: model for model in client.list_models()}
    assert models["vljepa_video"].embedding_space == models["text_encoder"].embedding_space
    assert models["vljepa_video"].embedding_space != models["vjepa2_encoder"].embedding_space


def test_uniform_mode_captions_every_window_and_selective_never_more(client, tmp_path):
    video = write_video(tmp_path / "bar.mp4", moving_bar_frames(24, height=32, width=32, seed=4), fps=4)
    uniform = list(client.describe(video, mode="uniform"))
    selective = list(client.describe(video, mode="selective", threshold=0.05))
    assert [(c.first_window, c.last_window) for c in uniform] == [(index, index) for index in range(6)]
    assert 1 <= len(selective) <= len(uniform)
    assert selective[0].first_window == 0 and selective[-1].last_window == 5
    assert all(later.first_window == earlier.last_window + 1 for earlier, later in zip(selective, selective[1:]))
    assert all(caption.decoder_steps >= 1 and 0 < caption.confidence <= 1 for caption in uniform)
    assert uniform[1].start_seconds == pytest.approx(1.0) and uniform[1].end_seconds == pytest.approx(2.0)


def test_selective_mode_calls_the_decoder_once_per_segment(client, vljepa_triton, tmp_path):
    video = write_video(tmp_path / "bar.mp4", moving_bar_frames(24, height=32, width=32, seed=5), fps=4)
    before = decoder_calls(vljepa_triton)
    captions = list(client.describe(video, mode="selective", threshold=2.0))
    assert len(captions) == 1
    assert decoder_calls(vljepa_triton) - before == captions[0].decoder_steps


def test_cancelling_a_describe_stream_stops_the_decoder(client, vljepa_gateway, vljepa_triton, tmp_path):
    video = write_video(tmp_path / "long.mp4", moving_bar_frames(400, height=32, width=32, seed=6), fps=4)  # 100 windows
    cancelled = sample_value(vljepa_gateway.metrics_text(), "jepa_requests_total", method="Describe", code="CANCELLED")
    before = decoder_calls(vljepa_triton)
    captions = client.describe(video, mode="uniform", segmentation="online")
    next(captions)
    captions.close()  # cancels the call on the server
    # The gateway has ended the call as cancelled, and Triton holds no decoder request of it.
    assert wait_until(
        lambda: sample_value(vljepa_gateway.metrics_text(), "jepa_requests_total", method="Describe", code="CANCELLED") == cancelled + 1, 30
    )
    assert wait_until(lambda: sample_value(scrape(vljepa_triton.metrics_url), "nv_inference_pending_request_count", model="text_decoder") == 0, 10)
    after_cancel = decoder_calls(vljepa_triton)
    assert after_cancel - before < 100, "uniform decoding went on through the windows after the cancel"
    # Nothing decodes on in the background: a short call adds exactly its own decoder steps.
    short = write_video(tmp_path / "short.mp4", moving_bar_frames(4, height=32, width=32, seed=6), fps=4)
    (caption,) = list(client.describe(short, mode="uniform"))
    assert decoder_calls(vljepa_triton) - after_cancel == caption.decoder_steps


def test_live_stream_of_frame_chunks_is_captioned_online(vljepa_gateway):
    from jepa_client.v1 import common_pb2, describe_pb2, describe_pb2_grpc
    import grpc

    frames = moving_bar_frames(16, height=32, width=32, seed=7)
    chunks = [
        describe_pb2.DescribeChunk(
            options=describe_pb2.DescribeOptions(mode=describe_pb2.DECODING_MODE_UNIFORM) if index == 0 else None,
            frames=common_pb2.Frames(data=frames[index : index + 3].tobytes(), num_frames=len(frames[index : index + 3]), height=32, width=32, fps=4),
        )
        for index in range(0, 16, 3)
    ]
    with grpc.insecure_channel(vljepa_gateway.address) as channel:
        captions = list(describe_pb2_grpc.DescribeServiceStub(channel).DescribeStream(iter(chunks), timeout=60))
    assert [caption.first_window for caption in captions] == [0, 1, 2, 3]
    assert captions[1].start_seconds == pytest.approx(1.0)


def test_describe_rejects_a_threshold_outside_cosine_range(client, tmp_path):
    video = write_video(tmp_path / "bar.mp4", moving_bar_frames(8, height=32, width=32), fps=4)
    with pytest.raises(InvalidArgumentError, match="options.threshold"):
        list(client.describe(video, threshold=3.0))


def test_describe_with_a_model_that_has_no_decoder_is_a_failed_precondition(client, tmp_path):
    video = write_video(tmp_path / "bar.mp4", moving_bar_frames(8, height=32, width=32), fps=4)
    with pytest.raises(FailedPreconditionError, match="options.model"):
        list(client.describe(video, model="vjepa2_encoder"))
