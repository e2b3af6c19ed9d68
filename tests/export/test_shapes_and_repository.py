"""Dynamic frame counts, external weight data, version folders, warm-up, and the repositories in
the server's check (`jepa-serve check`, the one repository check there is)."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

from jepa_export.checkpoints import VideoGeometry, load_vjepa2_hf
from jepa_export.clips import decode_clips, write_synthetic_video
from jepa_export.modules import VideoEncoderForExport
from jepa_export.parity import cosine_rows
from jepa_export.pipeline import run_export
from jepa_export.settings import IMAGENET_MEAN, IMAGENET_STD, ExportSettings
from jepa_server.cli import main as jepa_serve


def _config(model_dir) -> model_config_pb2.ModelConfig:
    return text_format.Parse((model_dir / "config.pbtxt").read_text(), model_config_pb2.ModelConfig())


@pytest.fixture(scope="module")
def dynamic_fp16_export(tmp_path_factory, tiny_vjepa2_dir):
    """Video only: dynamic frames, every weight in a sidecar (threshold 0), serving fp16."""
    output_dir = tmp_path_factory.mktemp("dynamic")
    settings = ExportSettings(
        output_dir=output_dir, vjepa2=tiny_vjepa2_dir, export_text_encoder=False, dynamic_frames=True,
        max_frames_per_clip=32, external_data_threshold_bytes=0, precision="fp16", tensorrt=False, parity_batch_sizes=[2],
    )
    return output_dir, run_export(settings)


def test_dynamic_frames_export_has_variable_frame_and_token_dims(dynamic_fp16_export):
    output_dir, report = dynamic_fp16_export
    for target in ("cpu", "gpu"):
        config = _config(output_dir / "repository" / target / "vjepa2_encoder")
        assert list(config.input[0].dims) == [-1, 3, 64, 64]
        assert [list(output.dims) for output in config.output] == [[64], [-1, 64]]
        assert config.parameters["jepa.frames_per_clip"].string_value == "8"
    (model,) = report.models
    assert all(check.passed for check in model.artifacts)
    assert "random T=4" in {result.inputs for result in model.artifacts[0].parity}


@pytest.mark.parametrize("frames", [2, 4, 16, 32])
def test_dynamic_frames_onnx_matches_pytorch_at_any_multiple_of_the_tubelet(dynamic_fp16_export, tiny_vjepa2_dir, frames):
    output_dir, _ = dynamic_fp16_export
    session = onnxruntime.InferenceSession(str(output_dir / "onnx" / "vjepa2_encoder" / "model.onnx"))
    pixels = torch.randn(1, frames, 3, 64, 64, generator=torch.Generator().manual_seed(frames))
    clip_embedding, visual_tokens = session.run(None, {"pixel_values_videos": pixels.numpy()})
    with torch.no_grad():
        expected, _ = VideoEncoderForExport(load_vjepa2_hf(tiny_vjepa2_dir))(pixels)
    assert visual_tokens.shape == (1, frames // 2 * 16, 64)
    assert cosine_rows(clip_embedding, expected.numpy()).min() >= 0.99999


def test_weights_over_the_threshold_go_to_a_sidecar_in_every_artifact_and_version(dynamic_fp16_export):
    output_dir, _ = dynamic_fp16_export
    for graph in (output_dir / "onnx" / "vjepa2_encoder" / "model.onnx", output_dir / "onnx" / "vjepa2_encoder" / "fp16" / "model.onnx"):
        weights = [tensor for tensor in onnx.load(str(graph), load_external_data=False).graph.initializer if np.prod(tensor.dims) >= 1024]
        assert weights and all(tensor.data_location == onnx.TensorProto.EXTERNAL for tensor in weights)
        assert graph.with_name("model.onnx.data").stat().st_size >= sum(np.prod(tensor.dims) for tensor in weights) * 2
    for version in ("1", "2"):
        version_dir = output_dir / "repository" / "cpu" / "vjepa2_encoder" / version
        assert (version_dir / "model.onnx.data").is_file()
        session = onnxruntime.InferenceSession(str(version_dir / "model.onnx"))
        (embedding, _) = session.run(None, {"pixel_values_videos": np.zeros((1, 8, 3, 64, 64), np.float32)})
        assert np.isfinite(embedding).all()


def test_versions_are_folders_and_version_policy_serves_the_chosen_precision(exported, dynamic_fp16_export):
    for output_dir, served in ((exported[0], 1), (dynamic_fp16_export[0], 2)):
        model_dir = output_dir / "repository" / "gpu" / "vjepa2_encoder"
        assert sorted(path.name for path in model_dir.iterdir() if path.is_dir()) == ["1", "2"]
        assert list(_config(model_dir).version_policy.specific.versions) == [served]


def test_configs_carry_warmup_requests_and_their_data_files(exported):
    output_dir, _ = exported
    video = _config(output_dir / "repository" / "cpu" / "vjepa2_encoder").model_warmup
    assert [(sample.batch_size, list(sample.inputs["pixel_values_videos"].dims), sample.inputs["pixel_values_videos"].zero_data) for sample in video] == [(1, [8, 3, 64, 64], True)]
    text_dir = output_dir / "repository" / "cpu" / "text_encoder"
    (sample,) = _config(text_dir).model_warmup
    mask = sample.inputs["attention_mask"]
    assert sample.inputs["input_ids"].zero_data and list(mask.dims) == [16]
    np.testing.assert_array_equal(np.fromfile(text_dir / "warmup" / mask.input_data_file, dtype="<i8"), np.ones(16))


def test_export_verifies_on_pixels_bit_for_bit_equal_to_the_gateways(tmp_path):
    """The decoded clip of the export's verification is what the gateway makes of the same file
    sent as bytes: one preprocessing (jepa_media), no tolerance."""
    from jepa_server.media.video import ClipGeometry, DecodeLimits, SamplingPlan, prepare_video

    video = write_synthetic_video(tmp_path / "clip.mp4", scenes=2, frames_per_scene=8)
    geometry = VideoGeometry(frames_per_clip=8, crop_size=64, tubelet_size=2, patch_size=16, hidden_size=64)
    ours = decode_clips(video, geometry, 8, IMAGENET_MEAN, IMAGENET_STD)
    gateway = prepare_video(
        video.read_bytes(),
        ClipGeometry(frames_per_clip=8, crop_size=64, resize_short_side=geometry.resize_short_side, tubelet_size=2),
        SamplingPlan(frames_per_clip=8),
        DecodeLimits(),
    )
    assert ours.shape == gateway.pixel_values.shape == (2, 8, 3, 64, 64)
    np.testing.assert_array_equal(ours, gateway.pixel_values)
    assert cosine_rows(ours[:1], ours[1:]).item() < 0.9  # the scenes differ


def test_check_passes_on_the_exported_repository_in_the_local_triton(exported, capfd):
    assert jepa_serve(["check", str(exported[0] / "repository" / "cpu")]) == 0
    lines = capfd.readouterr().out.splitlines()
    assert "text_encoder (version 1): text_embedding (1, 384), norm 1.0000: ok" in lines
    assert "vjepa2_encoder (version 1): clip_embedding (1, 64), norm 1.0000: ok" in lines


def test_check_serves_the_fp16_version_with_dynamic_frames_and_external_data(dynamic_fp16_export, capfd):
    assert jepa_serve(["check", str(dynamic_fp16_export[0] / "repository" / "cpu")]) == 0
    (line,) = capfd.readouterr().out.splitlines()
    # fp16 normalises in fp16: the norm is 1 to about 3 decimals, which the check allows.
    assert line.startswith("vjepa2_encoder (version 2): clip_embedding (1, 64), norm 0.99") or "norm 1.000" in line
    assert line.endswith(": ok")


def test_check_fails_on_a_repository_triton_cannot_load(tmp_path, capfd):
    broken = tmp_path / "repository" / "vjepa2_encoder"
    (broken / "1").mkdir(parents=True)
    (broken / "config.pbtxt").write_text('name: "vjepa2_encoder"\nbackend: "python"\nmax_batch_size: 4\n')
    (broken / "1" / "model.py").write_text("raise RuntimeError('broken model')\n")
    assert jepa_serve(["check", str(tmp_path / "repository")]) == 1
    assert "does not load" in capfd.readouterr().err


def test_tensorrt_target_serves_the_plan_typed_as_the_engine_with_its_version(tmp_path, exported):
    from jepa_export.pipeline import tensorrt_model_settings
    from jepa_export.repository import ModelSettings, write_model
    from jepa_export.tensorrt_plan import TensorRTBuild

    text_dir = exported[0] / "repository" / "gpu" / "text_encoder"
    source = _config(text_dir)
    model = ModelSettings(
        name="text_encoder",
        inputs=[{"name": tensor.name, "data_type": "TYPE_INT64", "dims": list(tensor.dims)} for tensor in source.input],
        outputs=[{"name": "text_embedding", "dims": [384]}],
        warmup=[{"name": "w", "inputs": [{"name": "attention_mask", "data_type": "TYPE_INT64", "dims": [16], "fill": "ones"}]}],
        parameters={key: value.string_value for key, value in source.parameters.items()},
    )
    plan = tmp_path / "build" / "model.plan"
    plan.parent.mkdir()
    plan.write_bytes(b"plan bytes")
    build = TensorRTBuild(
        plan_file=plan, tensorrt_version="10.13.3", seconds=1.0,
        input_types={"input_ids": "TYPE_INT32", "attention_mask": "TYPE_INT32"}, output_types={"text_embedding": "TYPE_FP32"},
    )
    model_dir = write_model(tmp_path / "tensorrt", tensorrt_model_settings(model, build), {1: plan}, "tensorrt", (text_dir / "tokenizer.json",))
    config = _config(model_dir)
    assert config.platform == "tensorrt_plan" and config.backend == ""
    assert [model_config_pb2.DataType.Name(tensor.data_type) for tensor in config.input] == ["TYPE_INT32", "TYPE_INT32"]
    assert not any(tensor.allow_ragged_batch for tensor in config.input)
    assert config.parameters["jepa.tensorrt_version"].string_value == "10.13.3"
    assert config.parameters["jepa.role"].string_value == "text_encoder"
    assert list(config.version_policy.specific.versions) == [1]
    assert sorted(path.name for path in (model_dir / "1").iterdir()) == ["model.plan"]
    assert np.fromfile(model_dir / "warmup" / "w_attention_mask", dtype="<i4").tolist() == [1] * 16
    assert (model_dir / "tokenizer.json").is_file()
