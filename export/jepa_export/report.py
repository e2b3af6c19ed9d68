"""What an export reports (`export_report.json`) and the tables it prints."""

from __future__ import annotations

from pydantic import BaseModel, Field, computed_field
from rich import box
from rich.table import Table

from jepa_export.parity import ArtifactCheck
from jepa_export.repository import Precision
from jepa_export.tuning import GraphCandidate, ServingChoice


class ModelReport(BaseModel):
    name: str
    source: str
    embedding_space: str
    onnx_file: str
    served_precision: Precision
    artifacts: list[ArtifactCheck]
    # The graph recipe the fp32 graph was built with, and every recipe measured (`--tune`).
    graph_recipe: str
    graph_candidates: list[GraphCandidate] = Field(default_factory=list)
    # Per CPU precision: runtime, instances and threads measured with `--tune` (config.pbtxt takes
    # the served precision's); empty = the settings' instances and threads.
    serving: dict[Precision, ServingChoice] = Field(default_factory=dict)
    # Steps that did not run, with the one-line reason (e.g. tensorrt without a GPU).
    skipped: dict[str, str] = Field(default_factory=dict)
    tensorrt_version: str | None = None
    seconds: float

    @property
    def passed(self) -> bool:
        return all(artifact.passed for artifact in self.artifacts)


class QualityCheck(BaseModel):
    """A lower precision of a VL-JEPA checkpoint against its fp32 ONNX models, end to end
    (`jepa_export.vljepa.quality`): held-out template R@1 and decoded-caption accuracy."""

    precision: Precision
    # The precision each model ran at (a model without that precision runs fp32).
    model_precisions: dict[str, Precision]
    r_at_1: float
    reference_r_at_1: float
    caption_accuracy: float
    reference_caption_accuracy: float
    max_r_at_1_loss: float
    max_caption_accuracy_loss: float

    @computed_field  # type: ignore[prop-decorator]  # mypy rejects decorators over @property; pydantic documents this ignore
    @property
    def passed(self) -> bool:
        return (
            self.reference_r_at_1 - self.r_at_1 <= self.max_r_at_1_loss + 1e-9
            and self.reference_caption_accuracy - self.caption_accuracy <= self.max_caption_accuracy_loss + 1e-9
        )


class ExportReport(BaseModel):
    created_at: str
    torch_version: str
    onnxruntime_version: str
    openvino_version: str | None = None
    served_precision: Precision
    allow_drift: bool
    models: list[ModelReport]
    quality: list[QualityCheck] = Field(default_factory=list)
    # Target -> repository folder, for the repositories that were written.
    repositories: dict[str, str]

    @property
    def passed(self) -> bool:
        return all(model.passed for model in self.models) and all(check.passed for check in self.quality)


def failed_artifacts(report: ExportReport) -> list[str]:
    failed = [f"{model.name}/{artifact.artifact}" for model in report.models for artifact in model.artifacts if not artifact.passed]
    return failed + [f"vljepa quality gate ({check.precision})" for check in report.quality if not check.passed]


def summary_tables(report: ExportReport) -> list[Table]:
    """Parity per artifact and input set; per artifact: size, neighbours, timing, verdict; the
    graph recipes and serving layouts measured; the VL-JEPA quality gate (skipped steps are
    printed once, before the progress bar, and kept in the report)."""
    parity = Table(title=f"verification vs PyTorch fp32 (serving {report.served_precision})", box=box.SIMPLE_HEAD)
    for column in ("model", "artifact", "inputs", "batch", "max |diff|", "min cosine", "ok"):
        parity.add_column(column, no_wrap=True)
    artifacts = Table(box=box.SIMPLE_HEAD)
    for column in ("model", "artifact", "runtime", "MB", "neighbours kept", "torch ms", "artifact ms", "verified"):
        artifacts.add_column(column, no_wrap=True)
    for model in report.models:
        for artifact in model.artifacts:
            for result in artifact.parity:
                verdict = ("yes" if result.passed else "NO") if result.judged else "(not judged)"
                parity.add_row(
                    model.name, artifact.artifact, result.inputs, str(result.batch_size), f"{result.max_abs_diff:.2e}",
                    f"{min(result.min_cosine, result.outputs_min_cosine):.7f}", verdict,
                )
            neighbours = artifact.neighbours
            artifacts.add_row(
                model.name, artifact.artifact, artifact.runtime, f"{artifact.size_bytes / 1e6:.1f}",
                f"{neighbours.agreement:.3f} (top-{neighbours.k} of {neighbours.rows})",
                "-" if artifact.torch_ms is None else f"{artifact.torch_ms:.1f}",
                "-" if artifact.artifact_ms is None else f"{artifact.artifact_ms:.1f}",
                "yes" if artifact.passed else "NO",
            )
    tables = [parity, artifacts]
    tuned = [model for model in report.models if len(model.graph_candidates) > 1 or model.serving]
    if tuned:
        tuning = Table(title="graph recipes and serving layouts (timed with --tune)", box=box.SIMPLE_HEAD)
        for column in ("model", "what", "candidate", "speed", "chosen"):
            tuning.add_column(column, no_wrap=True)
        for model in tuned:
            for graph in model.graph_candidates:
                speed = "failed parity" if not graph.passed else "-" if graph.ms_per_item is None else f"{graph.ms_per_item:.2f} ms/item"
                fused = ", ".join(f"{op} {count}" for op, count in graph.fused_ops.items())
                tuning.add_row(model.name, "graph", f"{graph.recipe} ({fused or 'no fusions'})", speed, "yes" if graph.recipe == model.graph_recipe else "")
            for precision, choice in model.serving.items():
                for layout in choice.candidates:
                    runtime = layout.runtime.runtime + (f" {layout.runtime.inference_precision}" if layout.runtime.runtime == "openvino" else "")
                    label = f"{precision}: {runtime}, {layout.instance_count} x {layout.intra_op_threads} threads"
                    tuning.add_row(model.name, "serving", label, f"{layout.items_per_s:.1f} items/s", "yes" if layout == choice.chosen else "")
        tables.append(tuning)
    if report.quality:
        gate = Table(title="VL-JEPA quality gate (vs fp32 ONNX)", box=box.SIMPLE_HEAD)
        for column in ("precision", "R@1", "fp32 R@1", "caption accuracy", "fp32 caption accuracy", "passed"):
            gate.add_column(column, no_wrap=True)
        for check in report.quality:
            gate.add_row(
                check.precision, f"{check.r_at_1:.3f}", f"{check.reference_r_at_1:.3f}", f"{check.caption_accuracy:.3f}",
                f"{check.reference_caption_accuracy:.3f}", "yes" if check.passed else "NO",
            )
        tables.append(gate)
    return tables
