"""fp16 and TensorRT artifacts are verified against PyTorch fp32; one that drifts fails the export."""

from __future__ import annotations

import json

import numpy as np
import onnx
from onnx import numpy_helper

from jepa_export import pipeline, tensorrt_plan
from jepa_export.cli import main
from jepa_export.onnx_export import convert_to_fp16
from jepa_export.parity import neighbour_agreement


def _artifact(report: dict, model: str, artifact: str) -> dict:
    entry = next(entry for entry in report["models"] if entry["name"] == model)
    return next(check for check in entry["artifacts"] if check["artifact"] == artifact)


def test_fp16_onnx_of_both_models_keeps_cosine_0_999_on_random_and_real_inputs(exported):
    output_dir, _ = exported
    report = json.loads((output_dir / "export_report.json").read_text())
    for model, real_inputs in (("vjepa2_encoder", "decoded clip"), ("text_encoder", "sentences")):
        fp16 = _artifact(report, model, "onnx_fp16")
        assert fp16["passed"] and fp16["runtime"].startswith("onnxruntime")
        assert {result["inputs"] for result in fp16["parity"]} == {"random b=1", "random b=4", real_inputs}
        assert min(min(result["min_cosine"], result["outputs_min_cosine"]) for result in fp16["parity"]) >= 0.999, model
        assert fp16["neighbours"]["agreement"] >= fp16["thresholds"]["min_neighbour_agreement"]
        assert fp16["file"].endswith("fp16/model.onnx")
        assert onnx.load(fp16["file"]).graph.input[0].type.tensor_type.elem_type != onnx.TensorProto.FLOAT16


def test_tensorrt_is_built_on_a_gpu_or_skipped_with_one_line_reason(exported):
    _, report = exported
    reason = tensorrt_plan.unavailable_reason()
    for model in report.models:
        if reason is None:
            assert model.tensorrt_version and any(check.artifact == "tensorrt_fp16" and check.passed for check in model.artifacts)
        else:
            assert model.skipped == {"tensorrt": reason} and "\n" not in reason
            assert "tensorrt_fp16" not in {check.artifact for check in model.artifacts}


def test_neighbour_agreement_counts_kept_neighbours():
    points = np.eye(4)[:, :3] + np.array([[0, 0, 0], [0.1, 0, 0], [0, 0, 0.1], [0.2, 0.2, 0.2]])
    assert neighbour_agreement(points, points, k=1) == 1.0
    swapped = points[[1, 0, 2, 3]]
    assert neighbour_agreement(points, swapped, k=1) < 1.0


def test_perturbed_fp16_artifact_fails_the_export_and_writes_no_repository(tmp_path, monkeypatch, capsys):
    """A converter that corrupts the weights stands for any silent drift (fp16 overflow, a bad
    TensorRT tactic): verification must catch it, and --allow-drift must be needed to write it."""

    def perturbed_fp16(onnx_file, destination, threshold):
        converted = convert_to_fp16(onnx_file, destination, threshold)
        model = onnx.load(str(converted))
        largest = max(model.graph.initializer, key=lambda tensor: int(np.prod(tensor.dims)))
        weights = numpy_helper.to_array(largest)
        noise = np.random.default_rng(0).standard_normal(weights.shape).astype(weights.dtype)
        largest.CopyFrom(numpy_helper.from_array(weights + noise * weights.std() * 2, largest.name))
        onnx.save(model, str(converted))
        return converted

    monkeypatch.setattr(pipeline, "convert_to_fp16", perturbed_fp16)
    arguments = ["--random-vjepa2", "tiny", "--no-text-encoder", "--no-tensorrt", "--target", "cpu", "--parity-batches", "2"]
    assert main([*arguments, "--out", str(tmp_path / "strict")]) == 1
    errors = capsys.readouterr().err
    assert "vjepa2_encoder/onnx_fp16 missed the verification thresholds; nothing written" in errors
    assert not (tmp_path / "strict" / "repository" / "cpu").exists()
    report = json.loads((tmp_path / "strict" / "export_report.json").read_text())
    assert _artifact(report, "vjepa2_encoder", "onnx_fp32")["passed"]
    drifted = _artifact(report, "vjepa2_encoder", "onnx_fp16")
    assert not drifted["passed"] and min(result["min_cosine"] for result in drifted["parity"]) < 0.999
    assert report["repositories"] == {}

    assert main([*arguments, "--out", str(tmp_path / "lenient"), "--allow-drift"]) == 0
    assert (tmp_path / "lenient" / "repository" / "cpu" / "vjepa2_encoder" / "2" / "model.onnx").is_file()
    assert json.loads((tmp_path / "lenient" / "export_report.json").read_text())["allow_drift"] is True


def test_thresholds_are_settings_a_stricter_one_fails_the_export(tmp_path):
    arguments = ["--random-vjepa2", "tiny", "--no-text-encoder", "--no-tensorrt", "--target", "cpu", "--parity-batches", "1"]
    assert main([*arguments, "--out", str(tmp_path), "--threshold", "onnx_fp16.max_abs_diff=1e-9"]) == 1
    fp16 = _artifact(json.loads((tmp_path / "export_report.json").read_text()), "vjepa2_encoder", "onnx_fp16")
    assert fp16["thresholds"]["max_abs_diff"] == 1e-9 and not fp16["passed"]
    assert all(result["min_cosine"] >= 0.999 for result in fp16["parity"])  # only the stricter field failed
