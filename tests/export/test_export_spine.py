"""Export of V-JEPA 2 (Hugging Face folder) and MiniLM: ONNX parity and the repository written."""

from __future__ import annotations

import json

import numpy as np
import onnxruntime
import pytest
import torch
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

from jepa_export.checkpoints import load_text_encoder, load_vjepa2_hf
from jepa_export.modules import TextEncoderForExport, VideoEncoderForExport
from jepa_export.parity import cosine_rows


def test_report_states_fp32_parity_at_batch_1_and_4_for_both_models(exported):
    output_dir, _ = exported
    report = json.loads((output_dir / "export_report.json").read_text())
    for model in report["models"]:
        fp32 = next(artifact for artifact in model["artifacts"] if artifact["artifact"] == "onnx_fp32")
        random_batches = [result for result in fp32["parity"] if result["inputs"].startswith("random b=")]
        assert sorted(result["batch_size"] for result in random_batches) == [1, 4], model["name"]
        assert all(result["min_cosine"] >= 0.99999 for result in fp32["parity"]), model["name"]
    assert {model["name"] for model in report["models"]} == {"vjepa2_encoder", "text_encoder"}


@pytest.mark.parametrize("batch_size", [1, 4])
def test_video_encoder_onnx_matches_pytorch(exported, tiny_vjepa2_dir, batch_size):
    output_dir, _ = exported
    module = VideoEncoderForExport(load_vjepa2_hf(tiny_vjepa2_dir))
    pixels = torch.randn(batch_size, 8, 3, 64, 64, generator=torch.Generator().manual_seed(batch_size + 10))
    session = onnxruntime.InferenceSession(str(output_dir / "onnx" / "vjepa2_encoder" / "model.onnx"))
    clip_embedding, visual_tokens = session.run(None, {"pixel_values_videos": pixels.numpy()})
    with torch.no_grad():
        expected_embedding, expected_tokens = module(pixels)
    assert clip_embedding.shape == (batch_size, 64)
    assert cosine_rows(clip_embedding, expected_embedding.numpy()).min() >= 0.99999
    assert np.abs(visual_tokens - expected_tokens.numpy()).max() < 1e-4
    np.testing.assert_allclose(np.linalg.norm(clip_embedding, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("batch_size", [1, 4])
def test_text_encoder_onnx_matches_pytorch_on_padded_batches(exported, batch_size):
    output_dir, _ = exported
    text = load_text_encoder()
    module = TextEncoderForExport(text.model, text.pooling)
    generator = torch.Generator().manual_seed(batch_size)
    input_ids = torch.randint(1000, 30000, (batch_size, 20), generator=generator)
    attention_mask = torch.ones_like(input_ids)
    attention_mask[:, 13:] = 0
    session = onnxruntime.InferenceSession(str(output_dir / "onnx" / "text_encoder" / "model.onnx"))
    (embedding,) = session.run(None, {"input_ids": input_ids.numpy(), "attention_mask": attention_mask.numpy()})
    with torch.no_grad():
        expected = module(input_ids, attention_mask).numpy()
    assert cosine_rows(embedding, expected).min() >= 0.99999


def test_repository_has_both_targets_with_parsable_configs(exported):
    output_dir, _ = exported
    for target, expected_backend in (("cpu", "python"), ("gpu", "")):
        for name in ("vjepa2_encoder", "text_encoder"):
            model_dir = output_dir / "repository" / target / name
            config = text_format.Parse((model_dir / "config.pbtxt").read_text(), model_config_pb2.ModelConfig())
            assert config.name == name
            assert config.backend == expected_backend
            assert config.platform == ("" if target == "cpu" else "onnxruntime_onnx")
            assert config.max_batch_size == 32 and config.HasField("dynamic_batching")
            assert config.parameters["jepa.role"].string_value
            assert (model_dir / "1" / "model.onnx").is_file()
            assert (model_dir / "1" / "model.py").is_file() == (target == "cpu")
        assert (output_dir / "repository" / target / "text_encoder" / "tokenizer.json").is_file()


def test_export_cli_rejects_a_folder_that_is_not_a_checkpoint(tmp_path, capsys):
    from jepa_export.cli import main

    (tmp_path / "empty").mkdir()
    assert main(["--vjepa2", str(tmp_path / "empty"), "--no-text-encoder", "--out", str(tmp_path / "out")]) == 2
    assert "empty: no config.json" in capsys.readouterr().err
