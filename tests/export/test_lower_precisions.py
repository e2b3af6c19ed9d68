"""int8 and bf16 on the CPU: built from the fp32 graph, judged on real inputs, served by the
runtime `runtime.json` names, refused when they drift; and `--tune` writes what it measured."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

from jepa_export.cli import main
from jepa_export.parity import cosine_rows
from jepa_export.precision import bf16_unavailable_reason
from jepa_export.triton_python_model import length_groups, load_runtime

BF16_MISSING = bf16_unavailable_reason()


def _config(model_dir: Path) -> model_config_pb2.ModelConfig:
    return text_format.Parse((model_dir / "config.pbtxt").read_text(), model_config_pb2.ModelConfig())


def _artifact(report: dict, model: str, artifact: str) -> dict:
    entry = next(entry for entry in report["models"] if entry["name"] == model)
    return next(check for check in entry["artifacts"] if check["artifact"] == artifact)


@pytest.fixture(scope="module")
def int8_export(tmp_path_factory: pytest.TempPathFactory, tiny_vjepa2_dir: Path) -> Path:
    """The tiny V-JEPA 2 serving int8, bf16 built beside it, serving layout measured (--tune)."""
    output_dir = tmp_path_factory.mktemp("int8")
    builds = [] if BF16_MISSING else ["--build", "bf16"]
    code = main([
        "--vjepa2", str(tiny_vjepa2_dir), "--no-text-encoder", "--out", str(output_dir), "--target", "cpu", "--no-tensorrt",
        "--precision", "int8", *builds, "--tune", "--parity-batches", "2",
    ])
    assert code == 0
    return output_dir


def _products(graph_file: Path) -> dict[str, tuple[int, int]]:
    """Per product op type (MatMul, Attention): (nodes, nodes whose first two inputs come
    through DequantizeLinear, i.e. run on int8)."""
    import onnx

    graph = onnx.load(str(graph_file)).graph
    producers = {output: node.op_type for node in graph.node for output in node.output}
    counts: dict[str, tuple[int, int]] = {}
    for node in graph.node:
        if node.op_type in ("MatMul", "Attention"):
            total, quantized = counts.get(node.op_type, (0, 0))
            counts[node.op_type] = (total + 1, quantized + all(producers.get(name) == "DequantizeLinear" for name in node.input[:2]))
    return counts


def test_int8_is_version_3_statically_quantized_run_by_openvino_and_judged_on_the_decoded_clip(int8_export: Path):
    report = json.loads((int8_export / "export_report.json").read_text())
    int8 = _artifact(report, "vjepa2_encoder", "onnx_int8")
    assert int8["passed"] and int8["runtime"].startswith("openvino")
    judged = {result["inputs"]: result["judged"] for result in int8["parity"]}
    assert judged == {"random b=2": False, "decoded clip": True}
    model_dir = int8_export / "repository" / "cpu" / "vjepa2_encoder"
    assert list(_config(model_dir).version_policy.specific.versions) == [3]
    assert json.loads((model_dir / "3" / "runtime.json").read_text())["runtime"] == "openvino"
    # Attention's query and key are quantized (activation x activation), and most linear layers.
    products = _products(model_dir / "3" / "model.onnx")
    attentions, quantized_attentions = products["Attention"]
    assert attentions == quantized_attentions == 2  # the tiny model's two layers
    matmuls, quantized_matmuls = products["MatMul"]
    assert quantized_matmuls >= 0.75 * matmuls


def test_int8_without_openvino_falls_back_to_dynamic_quantization_run_by_onnx_runtime(tmp_path: Path, monkeypatch):
    from jepa_export import precision

    monkeypatch.setattr(precision, "static_int8_unavailable_reason", lambda: "nncf not installed")
    code = main([
        "--random-vjepa2", "tiny", "--no-text-encoder", "--out", str(tmp_path), "--target", "cpu", "--no-tensorrt",
        "--precision", "int8", "--parity-batches", "1",
    ])
    assert code == 0
    version_dir = tmp_path / "repository" / "cpu" / "vjepa2_encoder" / "3"
    assert json.loads((version_dir / "runtime.json").read_text())["runtime"] == "onnxruntime"
    import onnx

    ops = {node.op_type for node in onnx.load(str(version_dir / "model.onnx")).graph.node}
    assert {"DynamicQuantizeLinear", "MatMulInteger"} & ops or "DynamicQuantizeMatMul" in ops


@pytest.mark.skipif(BF16_MISSING is not None, reason=f"bf16: {BF16_MISSING}")
def test_bf16_is_the_fp32_graph_run_by_openvino_in_bf16_and_stays_within_0_995(int8_export: Path):
    report = json.loads((int8_export / "export_report.json").read_text())
    bf16 = _artifact(report, "vjepa2_encoder", "openvino_bf16")
    assert bf16["passed"] and "openvino" in bf16["runtime"] and bf16["runtime"].endswith("bf16")
    version_dir = int8_export / "repository" / "cpu" / "vjepa2_encoder" / "4"
    assert json.loads((version_dir / "runtime.json").read_text()) == {"runtime": "openvino", "inference_precision": "bf16"}
    pixels = np.random.default_rng(0).standard_normal((2, 8, 3, 64, 64)).astype(np.float32)
    fp32 = load_runtime(version_dir.parent / "1", {}).run(["clip_embedding"], {"pixel_values_videos": pixels})[0]
    bf16_embedding = load_runtime(version_dir, {}).run(["clip_embedding"], {"pixel_values_videos": pixels})[0]
    assert 0.995 <= cosine_rows(fp32, bf16_embedding).min() < 1.0 - 1e-7  # close, and really a different precision


def test_tune_writes_the_measured_layout_and_reports_every_candidate(int8_export: Path):
    report = json.loads((int8_export / "export_report.json").read_text())
    (model,) = report["models"]
    int8 = model["serving"]["int8"]
    layouts = {(c["instance_count"], c["intra_op_threads"]) for c in int8["candidates"]}
    assert layouts == {(1, 2), (2, 1)} and all(c["items_per_s"] > 0 and c["cpu_ms_per_item"] > 0 for c in int8["candidates"])
    assert int8["chosen"]["items_per_s"] >= 0.97 * max(c["items_per_s"] for c in int8["candidates"])
    config = _config(int8_export / "repository" / "cpu" / "vjepa2_encoder")
    assert config.instance_group[0].count == int8["chosen"]["instance_count"]
    assert config.parameters["jepa.intra_op_threads"].string_value == str(int8["chosen"]["intra_op_threads"])
    recipes = {candidate["recipe"]: candidate for candidate in model["graph_candidates"]}
    assert set(recipes) == {"dynamo-rope-attention", "dynamo", "dynamo-attention", "torchscript-fused"}
    fastest = min((c for c in recipes.values() if c["passed"]), key=lambda candidate: candidate["ms_per_item"])
    assert model["graph_recipe"] == fastest["recipe"]
    assert recipes["torchscript-fused"]["fused_ops"].get("SkipLayerNormalization", 0) > 0


def test_a_broken_quantization_is_refused_and_nothing_is_written(tmp_path: Path, monkeypatch, capsys):
    """A quantizer whose int8 weights come out scrambled with scales 50x too large (mis-ordered
    channels, a wrong scale) stands for any broken quantization: the gate must refuse it and
    write no repository."""
    import onnx
    from onnx import numpy_helper

    from jepa_export import pipeline
    from jepa_export.precision import build_int8

    def scrambled_int8(*arguments):
        destination, fallback = build_int8(*arguments)
        model = onnx.load(str(destination))
        for tensor in model.graph.initializer:
            weights = numpy_helper.to_array(tensor)
            if tensor.data_type == onnx.TensorProto.INT8:
                broken = np.random.default_rng(0).permutation(weights.ravel()).reshape(weights.shape)
            elif tensor.name.endswith("_scale"):
                broken = weights * np.float32(50)
            else:
                continue
            tensor.CopyFrom(numpy_helper.from_array(broken, tensor.name))
        onnx.save(model, str(destination))
        return destination, fallback

    monkeypatch.setattr(pipeline, "build_int8", scrambled_int8)
    arguments = ["--random-vjepa2", "tiny", "--no-text-encoder", "--no-tensorrt", "--target", "cpu", "--parity-batches", "1", "--precision", "int8"]
    assert main([*arguments, "--out", str(tmp_path)]) == 1
    assert "vjepa2_encoder/onnx_int8 missed the verification thresholds; nothing written" in capsys.readouterr().err
    report = json.loads((tmp_path / "export_report.json").read_text())
    assert _artifact(report, "vjepa2_encoder", "onnx_fp32")["passed"]
    int8 = _artifact(report, "vjepa2_encoder", "onnx_int8")
    real = next(result for result in int8["parity"] if result["inputs"] == "decoded clip")
    assert not int8["passed"] and real["judged"] and real["min_cosine"] < 0.995
    assert report["repositories"] == {} and not (tmp_path / "repository" / "cpu").exists()


def test_cli_refuses_int8_for_the_gpu_target_with_exit_2(tmp_path: Path, capsys):
    assert main(["--random-vjepa2", "tiny", "--out", str(tmp_path), "--precision", "int8", "--target", "gpu"]) == 2
    assert "cpu target only" in capsys.readouterr().err


@pytest.mark.parametrize("lengths", [[5, 5, 5, 5], [3, 30, 4, 31, 29, 2], [1], list(range(1, 33))])
def test_length_groups_are_the_cheapest_cut_of_the_sorted_rows(lengths):
    order, bounds = length_groups(np.array(lengths), overhead_tokens=8)
    sorted_lengths = np.array(lengths)[order]
    assert list(sorted_lengths) == sorted(lengths) and bounds[0][0] == 0 and bounds[-1][1] == len(lengths)
    assert all(stop == next_start for (_, stop), (next_start, _) in zip(bounds, bounds[1:]))

    def cost(cuts: list[tuple[int, int]]) -> int:
        return sum((stop - start) * int(sorted_lengths[stop - 1]) + 8 for start, stop in cuts)

    # Exhaustive over every cut of up to 8 rows; against the two trivial cuts beyond.
    if len(lengths) <= 8:
        import itertools

        best = min(
            cost([(a, b) for a, b in zip((0, *cut), (*cut, len(lengths)))])
            for size in range(len(lengths))
            for cut in itertools.combinations(range(1, len(lengths)), size)
        )
        assert cost(bounds) == best
    assert cost(bounds) <= min(cost([(0, len(lengths))]), cost([(i, i + 1) for i in range(len(lengths))]))
