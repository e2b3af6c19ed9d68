"""Client -> gateway -> real Triton, compared with PyTorch and sentence-transformers."""

from __future__ import annotations

import concurrent.futures

import numpy as np
import pytest
import torch

from jepa_client import InvalidArgumentError, NotFoundError
from jepa_export.checkpoints import bundled_minilm_dir, load_vjepa2_hf
from jepa_export.modules import VideoEncoderForExport
from jepa_server.media.video import ClipGeometry, DecodeLimits, SamplingPlan, prepare_video
from support.media import moving_bar_frames, write_video
from support.prometheus_text import sample_value, scrape

TINY_GEOMETRY = ClipGeometry(frames_per_clip=8, crop_size=64, resize_short_side=73)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def torch_video_embedding(vjepa2_dir, pixel_values: np.ndarray) -> np.ndarray:
    module = VideoEncoderForExport(load_vjepa2_hf(vjepa2_dir))
    with torch.no_grad():
        windows, _ = module(torch.from_numpy(pixel_values))
    mean = windows.numpy().mean(axis=0)
    return mean / np.linalg.norm(mean)


def test_served_video_embedding_equals_pytorch_on_the_same_decoded_frames(client, tiny_vjepa2_dir, tmp_path):
    video = write_video(tmp_path / "bar.mp4", moving_bar_frames(24, seed=3), fps=8)
    served = client.embed_video(video, return_windows=True)
    prepared = prepare_video(video.read_bytes(), TINY_GEOMETRY, SamplingPlan(frames_per_clip=8), DecodeLimits())
    expected = torch_video_embedding(tiny_vjepa2_dir, prepared.pixel_values)
    assert served.model.name == "vjepa2_encoder" and served.model.dimension == 64
    assert served.num_windows == 3 and len(served.windows) == 3
    assert cosine(served.embedding, expected) >= 0.9999
    assert served.windows[1].start_seconds == pytest.approx(1.0)


def test_raw_frames_and_encoded_file_of_the_same_video_agree(client, tmp_path):
    frames = moving_bar_frames(16, seed=5)
    from_frames = client.embed_video(frames, frames_fps=8)
    from_file = client.embed_video(write_video(tmp_path / "same.mp4", frames, fps=8))
    # h264 is lossy, so the two inputs are close, not identical.
    assert cosine(from_frames.embedding, from_file.embedding) > 0.98


def test_served_text_embedding_equals_sentence_transformers(client):
    from sentence_transformers import SentenceTransformer

    texts = ["a red circle moving left", "the quick brown fox jumps over the lazy dog " * 3, "ok"]
    served = client.embed_text(texts)
    expected = SentenceTransformer(str(bundled_minilm_dir()), device="cpu").encode(texts, normalize_embeddings=True)
    assert served.embeddings.shape == (3, 384)
    for row in range(3):
        assert cosine(served.embeddings[row], expected[row]) >= 0.9999


def test_text_longer_than_the_model_limit_is_truncated_like_sentence_transformers(client):
    from sentence_transformers import SentenceTransformer

    text = "streaming video embeddings " * 200
    served = client.embed_text([text]).embeddings[0]
    expected = SentenceTransformer(str(bundled_minilm_dir()), device="cpu").encode([text], normalize_embeddings=True)[0]
    assert cosine(served, expected) >= 0.9999


def test_dynamic_batching_batches_concurrent_text_calls(client, local_triton):
    before = scrape(local_triton.metrics_url)
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda index: client.embed_text([f"sentence number {index}"]), range(64)))
    after = scrape(local_triton.metrics_url)
    inferences = sample_value(after, "nv_inference_count", model="text_encoder") - sample_value(before, "nv_inference_count", model="text_encoder")
    executions = sample_value(after, "nv_inference_exec_count", model="text_encoder") - sample_value(before, "nv_inference_exec_count", model="text_encoder")
    assert inferences == 64
    assert executions < inferences


def test_corrupt_video_returns_invalid_argument_and_the_server_keeps_serving(client, tmp_path):
    video = write_video(tmp_path / "ok.mp4", moving_bar_frames(16), fps=8).read_bytes()
    with pytest.raises(InvalidArgumentError, match="video.encoded"):
        client.embed_video(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    with pytest.raises(InvalidArgumentError, match="video.encoded"):
        client.embed_video(video[: len(video) // 10])
    assert client.embed_video(video).embedding.shape == (64,)


def test_empty_text_returns_invalid_argument_naming_the_field(client):
    with pytest.raises(InvalidArgumentError, match=r"texts\[1\]: empty text"):
        client.embed_text(["fine", "  "])
    assert client.embed_text(["fine"]).embeddings.shape == (1, 384)


def test_unknown_model_returns_not_found_listing_the_served_ones(client):
    with pytest.raises(NotFoundError, match="text_encoder"):
        client.embed_text(["hello"], model="no_such_model")


def test_list_models_reports_dimensions_and_embedding_spaces(client):
    models = {model.name: model for model in client.list_models()}
    assert models["vjepa2_encoder"].dimension == 64
    assert models["text_encoder"].dimension == 384
    assert models["text_encoder"].embedding_space.startswith("text-")


def test_gateway_metrics_count_requests_by_method_and_code(client, gateway):
    with pytest.raises(InvalidArgumentError):
        client.embed_text([""])
    text = gateway.metrics_text()
    assert sample_value(text, "jepa_requests_total", method="EmbedText", code="INVALID_ARGUMENT") >= 1
    assert sample_value(text, "jepa_triton_up") == 1
