"""The export job: checkpoints -> ONNX fp32 / fp16 (+ TensorRT on a GPU) -> verification against
PyTorch fp32 -> Triton repositories (cpu, gpu, tensorrt) -> `export_report.json`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np
import onnxruntime
import torch
from pydantic import BaseModel, Field, model_validator
from rich import box
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from jepa_export import checkpoints, tensorrt_plan
from jepa_export.clips import decode_clips, write_synthetic_video
from jepa_export.modules import TextEncoderForExport, video_encoder_for_export
from jepa_export.onnx_export import EXTERNAL_DATA_THRESHOLD_BYTES, DynamicShapes, convert_to_fp16, export_onnx
from jepa_export.parity import ArtifactCheck, Device, InputSet, OnnxRunner, ParityThresholds, Runner, check_artifact, reference_inputs
from jepa_export.repository import (
    DynamicBatchingSettings,
    ModelSettings,
    Target,
    TensorSettings,
    WarmupInput,
    WarmupSettings,
    write_ensemble,
    write_model,
)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
Precision = Literal["fp32", "fp16"]
# Version folders of the ONNX targets (cpu, gpu): one per precision, `--precision` picks the served one.
ONNX_VERSIONS: dict[Precision, int] = {"fp32": 1, "fp16": 2}
# Verification inputs for text models: varied lengths and topics, so neighbours are meaningful.
VERIFICATION_SENTENCES = (
    "a dog catching a frisbee in the park",
    "a puppy jumps to grab a flying disc",
    "a cat asleep on a sunny windowsill",
    "heavy rain falling on a city street at night",
    "a chef slicing vegetables in a busy kitchen",
    "two people playing chess",
    "a red car drives along a coastal road under a clear sky while seagulls circle overhead",
    "stock markets fell sharply today",
)


def default_thresholds() -> dict[str, ParityThresholds]:
    """fp32 must match to rounding; fp16 keeps direction and neighbours (a drift of the kind users
    reported, cosine 0.65, fails by far)."""
    reduced = ParityThresholds(min_cosine=0.999, max_abs_diff=1e-2, min_neighbour_agreement=0.8)
    return {
        "onnx_fp32": ParityThresholds(min_cosine=0.99999, max_abs_diff=1e-4, min_neighbour_agreement=1.0),
        "onnx_fp16": reduced,
        "tensorrt_fp16": reduced.model_copy(),
    }


class ExportSettings(BaseModel):
    """What to export, how it is verified and how the served models are configured."""

    output_dir: Path = Path("artifacts")
    # A local Hugging Face V-JEPA 2 folder or an official `.pt`; None skips the video encoder.
    vjepa2: Path | None = None
    # Which encoder of an official `.pt` to serve, and its config.json (geometry, heads).
    vjepa2_weights: checkpoints.OfficialWeights = "target_encoder"
    vjepa2_config: Path | None = None
    # Short side before the centre crop; None = V-JEPA 2's crop * 256/224.
    resize_short_side: int | None = None
    # A VL-JEPA checkpoint folder (jepa_export.vljepa): exports its X-encoder as `vjepa2_encoder`,
    # `vljepa_predictor`, its Y-encoder as `text_encoder`, `text_decoder` and the `vljepa_video` ensemble.
    vljepa: Path | None = None
    # A local Hugging Face text-encoder folder; None = the bundled all-MiniLM-L6-v2.
    text_encoder: Path | None = None
    export_text_encoder: bool = True
    targets: list[Target] = Field(default_factory=lambda: ["cpu", "gpu"])
    # Frame count as a variable axis (a multiple of the tubelet size, up to max_frames_per_clip).
    dynamic_frames: bool = False
    max_frames_per_clip: int = Field(default=64, ge=2)
    # The precision the repository serves; fp16 needs build_fp16.
    precision: Precision = "fp32"
    build_fp16: bool = True
    # Build a TensorRT plan when this machine can (tensorrt + a CUDA GPU); skipped otherwise.
    tensorrt: bool = True
    tensorrt_opt_batch_size: int = Field(default=8, ge=1)
    tensorrt_workspace_bytes: int = 4 << 30
    max_batch_size: int = Field(default=32, ge=1)
    max_queue_delay_microseconds: int = 1000
    instance_count: int = 1
    warmup: bool = True
    thresholds: dict[str, ParityThresholds] = Field(default_factory=default_thresholds)
    # An artifact that misses its thresholds fails the export unless drift is allowed.
    allow_drift: bool = False
    parity_batch_sizes: list[int] = Field(default_factory=lambda: [1, 4])
    # Where PyTorch (the reference) and ONNX Runtime run during verification.
    device: Device = "cpu"
    # > 0: time PyTorch and each artifact on the largest parity batch (median of this many runs).
    timing_runs: int = Field(default=0, ge=0)
    external_data_threshold_bytes: int = EXTERNAL_DATA_THRESHOLD_BYTES
    seed: int = 0

    @model_validator(mode="after")
    def _consistent(self) -> ExportSettings:
        if self.precision == "fp16" and not self.build_fp16:
            raise ValueError("precision: fp16 is served only when build_fp16 is on")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ValueError("device: cuda asked for, but torch sees no CUDA GPU (a CPU build of torch?)")
        missing = {"onnx_fp32", "onnx_fp16", "tensorrt_fp16"} - set(self.thresholds)
        if missing:
            raise ValueError(f"thresholds: no entry for {sorted(missing)}")
        return self


class ModelReport(BaseModel):
    name: str
    source: str
    embedding_space: str
    onnx_file: str
    artifacts: list[ArtifactCheck]
    # Steps that did not run, with the one-line reason (e.g. tensorrt without a GPU).
    skipped: dict[str, str] = Field(default_factory=dict)
    tensorrt_version: str | None = None
    seconds: float

    @property
    def passed(self) -> bool:
        return all(artifact.passed for artifact in self.artifacts)


class ExportReport(BaseModel):
    created_at: str
    torch_version: str
    onnxruntime_version: str
    served_precision: Precision
    allow_drift: bool
    models: list[ModelReport]
    # Target -> repository folder, for the repositories that were written.
    repositories: dict[str, str]

    @property
    def passed(self) -> bool:
        return all(model.passed for model in self.models)


def weights_fingerprint(*modules: torch.nn.Module | None) -> str:
    """Short hash of the weights: names an embedding space so different weights never share one."""
    digest = hashlib.sha256()
    for module in filter(None, modules):
        for name, tensor in sorted(module.state_dict().items()):
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:12]


class ExportJob(BaseModel, arbitrary_types_allowed=True):
    """One model to export: the module, its inputs and how Triton serves it."""

    settings: ModelSettings
    module: torch.nn.Module
    make_inputs: Callable[[int], tuple[torch.Tensor, ...]]
    # Real inputs (a decoded clip, tokenized sentences) and any extra shapes worth checking.
    extra_inputs: dict[str, tuple[torch.Tensor, ...]]
    dynamic_shapes: DynamicShapes
    tensorrt_profile: tensorrt_plan.ShapeProfile
    source: str
    extra_files: tuple[Path, ...] = ()


def model_settings(settings: ExportSettings, **fields) -> ModelSettings:
    if not settings.warmup:
        fields["warmup"] = []
    return ModelSettings(
        max_batch_size=settings.max_batch_size,
        dynamic_batching=DynamicBatchingSettings(max_queue_delay_microseconds=settings.max_queue_delay_microseconds),
        instance_count=settings.instance_count,
        **fields,
    )


def _video_encoder_job(settings: ExportSettings) -> ExportJob:
    vjepa2 = checkpoints.load_vjepa2(settings.vjepa2, settings.vjepa2_weights, settings.vjepa2_config)
    geometry = checkpoints.video_geometry(vjepa2).model_copy(update={"short_side_override": settings.resize_short_side})
    module = video_encoder_for_export(vjepa2)
    side, frames, tubelet = geometry.crop_size, geometry.frames_per_clip, geometry.tubelet_size
    batch = torch.export.Dim("batch", min=1, max=4096)
    frame_dims, token_dims = [frames, 3, side, side], [geometry.visual_tokens(frames), geometry.hidden_size]
    dynamic_shapes: DynamicShapes = {"pixel_values_videos": {0: batch}}
    frame_range = (frames, frames, frames)
    extra_inputs: dict[str, tuple[torch.Tensor, ...]] = {}
    if settings.dynamic_frames:
        if frames > settings.max_frames_per_clip or settings.max_frames_per_clip % tubelet:
            raise checkpoints.CheckpointError(
                f"max_frames_per_clip: got {settings.max_frames_per_clip}, need a multiple of the tubelet size {tubelet} "
                f"of at least frames_per_clip {frames}"
            )
        tubelets = torch.export.Dim("tubelets", min=1, max=settings.max_frames_per_clip // tubelet)
        dynamic_shapes["pixel_values_videos"][1] = tubelet * tubelets
        frame_dims[0], token_dims[0] = -1, -1
        frame_range = (tubelet, frames, settings.max_frames_per_clip)
        other_frames = max(tubelet, frames // 2 // tubelet * tubelet)
        extra_inputs[f"random T={other_frames}"] = (torch.randn(2, other_frames, 3, side, side),)
    clip_file = write_synthetic_video(settings.output_dir / "verification" / "clip.mp4", scenes=4, frames_per_scene=frames)
    extra_inputs["decoded clip"] = (torch.from_numpy(decode_clips(clip_file, geometry, frames, IMAGENET_MEAN, IMAGENET_STD)),)
    model = model_settings(
        settings,
        name="vjepa2_encoder",
        inputs=[TensorSettings(name="pixel_values_videos", dims=frame_dims)],
        outputs=[
            TensorSettings(name="clip_embedding", dims=[geometry.hidden_size]),
            TensorSettings(name="visual_tokens", dims=token_dims),
        ],
        warmup=[WarmupSettings(name="zeros", inputs=[WarmupInput(name="pixel_values_videos", dims=[frames, 3, side, side])])],
        parameters={
            "jepa.role": "video_encoder",
            "jepa.embedding_space": f"vjepa2-{weights_fingerprint(vjepa2)}",
            "jepa.frames_per_clip": str(frames),
            "jepa.crop_size": str(side),
            "jepa.resize_short_side": str(geometry.resize_short_side),
            "jepa.tubelet_size": str(tubelet),
            "jepa.image_mean": ",".join(map(str, IMAGENET_MEAN)),
            "jepa.image_std": ",".join(map(str, IMAGENET_STD)),
        },
    )
    return ExportJob(
        settings=model,
        module=module,
        make_inputs=lambda batch_size: (torch.randn(batch_size, frames, 3, side, side),),
        extra_inputs=extra_inputs,
        dynamic_shapes=dynamic_shapes,
        tensorrt_profile={
            "pixel_values_videos": tuple(
                (batch_size, frame_count, 3, side, side)
                for batch_size, frame_count in zip((1, settings.tensorrt_opt_batch_size, settings.max_batch_size), frame_range)
            )
        },
        source=f"{settings.vjepa2}" + (f" ({settings.vjepa2_weights})" if Path(settings.vjepa2).is_file() else ""),
    )


def _sentences(tokenizer_file: Path, max_tokens: int) -> tuple[torch.Tensor, torch.Tensor]:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.enable_truncation(max_tokens)
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id("[PAD]") or 0)
    encodings = tokenizer.encode_batch(list(VERIFICATION_SENTENCES))
    input_ids = torch.tensor([encoding.ids for encoding in encodings], dtype=torch.int64)
    attention_mask = torch.tensor([encoding.attention_mask for encoding in encodings], dtype=torch.int64)
    return input_ids, attention_mask


def _text_encoder_job(settings: ExportSettings) -> ExportJob:
    text = checkpoints.load_text_encoder(settings.text_encoder)
    module = TextEncoderForExport(text.model, text.pooling, text.projection)
    vocab_size = text.model.config.vocab_size
    with torch.no_grad():
        embedding_size = module(torch.ones(1, 2, dtype=torch.int64), torch.ones(1, 2, dtype=torch.int64)).shape[-1]

    def make_inputs(batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        generator = torch.Generator().manual_seed(batch)
        input_ids = torch.randint(min(1000, vocab_size // 2), vocab_size, (batch, 12), generator=generator)
        attention_mask = torch.ones_like(input_ids)
        attention_mask[1:, 7:] = 0  # rows of different lengths, as in a real padded batch
        return input_ids, attention_mask

    ragged = dict(data_type="TYPE_INT64", dims=[-1], allow_ragged_batch=True)
    warmup_tokens = min(16, text.max_tokens)
    batch, tokens = torch.export.Dim("batch", min=1, max=4096), torch.export.Dim("tokens", min=1, max=text.max_tokens)
    model = model_settings(
        settings,
        name="text_encoder",
        inputs=[TensorSettings(name="input_ids", **ragged), TensorSettings(name="attention_mask", **ragged)],
        outputs=[TensorSettings(name="text_embedding", dims=[embedding_size])],
        # Token id 0 exists in every vocabulary; a mask of ones makes it a real forward pass.
        warmup=[
            WarmupSettings(
                name="zeros_ids_ones_mask",
                inputs=[
                    WarmupInput(name="input_ids", data_type="TYPE_INT64", dims=[warmup_tokens]),
                    WarmupInput(name="attention_mask", data_type="TYPE_INT64", dims=[warmup_tokens], fill="ones"),
                ],
            )
        ],
        parameters={
            "jepa.role": "text_encoder",
            "jepa.embedding_space": f"text-{weights_fingerprint(text.model, text.projection)}",
            "jepa.max_tokens": str(text.max_tokens),
        },
    )
    opt_tokens = min(64, text.max_tokens)
    token_profile = ((1, 1), (settings.tensorrt_opt_batch_size, opt_tokens), (settings.max_batch_size, text.max_tokens))
    return ExportJob(
        settings=model,
        module=module,
        make_inputs=make_inputs,
        extra_inputs={"sentences": _sentences(text.tokenizer_file, text.max_tokens)},
        dynamic_shapes={name: {0: batch, 1: tokens} for name in module.input_names},
        tensorrt_profile={name: token_profile for name in module.input_names},
        source=str(settings.text_encoder or checkpoints.bundled_minilm_dir()),
        extra_files=(text.tokenizer_file,),
    )


class _Artifacts(BaseModel):
    """What one model's export produced, by artifact name."""

    files: dict[str, Path] = Field(default_factory=dict)
    runners: dict[str, Callable[[], Runner]] = Field(default_factory=dict)
    tensorrt: tensorrt_plan.TensorRTBuild | None = None
    skipped: dict[str, str] = Field(default_factory=dict)


def _build_artifacts(name: str, job: ExportJob, settings: ExportSettings, tensorrt_skipped: str | None, step: Callable[[str], None]) -> _Artifacts:
    """fp32 ONNX, then fp16 ONNX, then a TensorRT plan unless `tensorrt_skipped` says why not."""
    artifacts = _Artifacts()
    step("onnx fp32")
    onnx_file = export_onnx(
        job.module,
        job.make_inputs(2),
        job.module.input_names,
        job.module.output_names,
        settings.output_dir / "onnx" / name / "model.onnx",
        job.dynamic_shapes,
        settings.external_data_threshold_bytes,
    )
    artifacts.files["onnx_fp32"] = onnx_file
    artifacts.runners["onnx_fp32"] = lambda: OnnxRunner(onnx_file, settings.device)
    step("onnx fp16")
    if settings.build_fp16:
        fp16_file = convert_to_fp16(onnx_file, settings.output_dir / "onnx" / name / "fp16" / "model.onnx", settings.external_data_threshold_bytes)
        artifacts.files["onnx_fp16"] = fp16_file
        artifacts.runners["onnx_fp16"] = lambda: OnnxRunner(fp16_file, settings.device)
    step("tensorrt")
    if settings.tensorrt and tensorrt_skipped is None:
        build = tensorrt_plan.build_plan(
            onnx_file,
            settings.output_dir / "tensorrt" / name / "model.plan",
            job.tensorrt_profile,
            settings.output_dir / "tensorrt" / "timing.cache",
            settings.tensorrt_workspace_bytes,
        )
        artifacts.tensorrt = build
        artifacts.files["tensorrt_fp16"] = build.plan_file
        artifacts.runners["tensorrt_fp16"] = lambda: tensorrt_plan.TensorRTRunner(build.plan_file, job.module.output_names)
    elif settings.tensorrt:
        artifacts.skipped["tensorrt"] = tensorrt_skipped
    return artifacts


def _verify(job: ExportJob, artifacts: _Artifacts, settings: ExportSettings) -> list[ArtifactCheck]:
    module = job.module.to(settings.device)
    names = job.module.input_names
    labelled = [(f"random b={batch}", job.make_inputs(batch)) for batch in settings.parity_batch_sizes] + list(job.extra_inputs.items())
    input_sets = [reference_inputs(module, names, label, tensors, settings.device) for label, tensors in labelled]
    largest = max(input_sets[: len(settings.parity_batch_sizes)] or input_sets, key=lambda input_set: input_set.batch_size)
    checks = []
    for artifact, make_runner in artifacts.runners.items():
        timing = (module, largest, settings.device, settings.timing_runs) if settings.timing_runs else None
        checks.append(check_artifact(artifact, artifacts.files[artifact], make_runner(), input_sets, settings.thresholds[artifact], timing))
    job.module.to("cpu")
    return checks


def tensorrt_model_settings(model: ModelSettings, build: tensorrt_plan.TensorRTBuild) -> ModelSettings:
    """The same model, typed as the engine's I/O (TensorRT may narrow INT64), one version, and
    the TensorRT version recorded: a plan runs only under the TensorRT that built it."""
    types = build.input_types | build.output_types

    def retyped(tensors: list) -> list:
        return [tensor.model_copy(update={"data_type": types[tensor.name]}) for tensor in tensors]

    return model.model_copy(
        update={
            "inputs": retyped(model.inputs),
            "outputs": retyped(model.outputs),
            "warmup": [sample.model_copy(update={"inputs": retyped(sample.inputs)}) for sample in model.warmup],
            "parameters": model.parameters | {"jepa.tensorrt_version": build.tensorrt_version},
            "served_versions": [1],
        }
    )


def _write_repositories(job: ExportJob, artifacts: _Artifacts, settings: ExportSettings, repositories: dict[str, Path]) -> None:
    onnx_versions = {version: artifacts.files[f"onnx_{precision}"] for precision, version in ONNX_VERSIONS.items() if f"onnx_{precision}" in artifacts.files}
    for target, repository in repositories.items():
        if target != "tensorrt":
            served = job.settings.model_copy(update={"served_versions": [ONNX_VERSIONS[settings.precision]]})
            write_model(repository, served, onnx_versions, target, job.extra_files)
        elif artifacts.tensorrt is not None:
            write_model(repository, tensorrt_model_settings(job.settings, artifacts.tensorrt), {1: artifacts.tensorrt.plan_file}, target, job.extra_files)


def run_export(settings: ExportSettings, console: Console | None = None) -> ExportReport:
    """Export every requested model, verify every artifact, write the repositories (unless an
    artifact drifted and drift is not allowed) and `export_report.json`."""
    # Off a terminal (CI logs, pipes) rich assumes 80 columns, too narrow for the tables.
    console = console or Console(stderr=True, width=None if sys.stderr.isatty() else 140)
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    torch.manual_seed(settings.seed)
    ensembles = []
    extra_factories: list[tuple[str, Callable[[ExportSettings], ExportJob]]] = []
    if settings.vljepa is not None:
        from jepa_export.vljepa.export import prepare_vljepa_export  # the VL-JEPA model code imports this module

        vljepa = prepare_vljepa_export(settings)
        settings, extra_factories, ensembles = vljepa.settings, vljepa.job_factories, [vljepa.ensemble]
    job_factories: list[tuple[str, Callable[[ExportSettings], ExportJob]]] = []
    if settings.vjepa2 is not None:
        job_factories.append(("vjepa2_encoder", _video_encoder_job))
    if settings.export_text_encoder:
        job_factories.append(("text_encoder", _text_encoder_job))
    job_factories.extend(extra_factories)
    repository_root = settings.output_dir / "repository"
    # The tensorrt repository is written when a plan was built (tensorrt on and a GPU here).
    targets = list(dict.fromkeys([*settings.targets, *(["tensorrt"] if settings.tensorrt else [])]))
    repositories = {target: repository_root / target for target in targets}
    for repository in repositories.values():
        shutil.rmtree(repository, ignore_errors=True)
    steps = ("load", "onnx fp32", "onnx fp16", "tensorrt", "verify")
    reports: list[ModelReport] = []
    built: list[tuple[ExportJob, _Artifacts]] = []
    tensorrt_skipped = tensorrt_plan.unavailable_reason() if settings.tensorrt else None
    if tensorrt_skipped is not None:
        console.print(f"tensorrt: skipped: {tensorrt_skipped}")
    columns = (TextColumn("{task.description:<32}"), BarColumn(), TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("export", total=len(job_factories) * len(steps))

        for name, factory in job_factories:
            def step(label: str, name: str = name) -> None:
                if label != "load":
                    progress.advance(task)
                progress.update(task, description=f"{name}: {label}")

            started = time.perf_counter()
            step("load")
            job = factory(settings)
            artifacts = _build_artifacts(name, job, settings, tensorrt_skipped, step)
            step("verify")
            checks = _verify(job, artifacts, settings)
            progress.advance(task)
            built.append((job, artifacts))
            reports.append(
                ModelReport(
                    name=name,
                    source=job.source,
                    embedding_space=job.settings.parameters["jepa.embedding_space"],
                    onnx_file=str(artifacts.files["onnx_fp32"]),
                    artifacts=checks,
                    skipped=artifacts.skipped,
                    tensorrt_version=artifacts.tensorrt.tensorrt_version if artifacts.tensorrt else None,
                    seconds=round(time.perf_counter() - started, 2),
                )
            )
    written: dict[str, Path] = {}
    if all(report.passed for report in reports) or settings.allow_drift:
        for job, artifacts in built:
            _write_repositories(job, artifacts, settings, repositories)
        for ensemble in ensembles:
            for repository in repositories.values():
                if repository.is_dir():
                    write_ensemble(repository, ensemble)
        written = {target: path for target, path in repositories.items() if path.is_dir()}
    report = ExportReport(
        created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        torch_version=torch.__version__,
        onnxruntime_version=onnxruntime.__version__,
        served_precision=settings.precision,
        allow_drift=settings.allow_drift,
        models=reports,
        repositories={target: str(path) for target, path in written.items()},
    )
    settings.output_dir.mkdir(parents=True, exist_ok=True)
    (settings.output_dir / "export_report.json").write_text(json.dumps(report.model_dump(mode="json"), indent=2))
    for table in summary_tables(report):
        console.print(table)
    return report


def summary_tables(report: ExportReport) -> tuple[Table, Table]:
    """Parity per artifact and input set; then per artifact: size, neighbours, timing, verdict
    (skipped steps are printed once, before the progress bar, and kept in the report)."""
    parity = Table(title=f"verification vs PyTorch fp32 (serving {report.served_precision})", box=box.SIMPLE_HEAD)
    for column in ("model", "artifact", "inputs", "batch", "max |diff|", "min cosine", "ok"):
        parity.add_column(column, no_wrap=True)
    artifacts = Table(box=box.SIMPLE_HEAD)
    for column in ("model", "artifact", "MB", "neighbours kept", "torch ms", "artifact ms", "verified"):
        artifacts.add_column(column, no_wrap=True)
    for model in report.models:
        for artifact in model.artifacts:
            for result in artifact.parity:
                parity.add_row(
                    model.name, artifact.artifact, result.inputs, str(result.batch_size), f"{result.max_abs_diff:.2e}",
                    f"{min(result.min_cosine, result.outputs_min_cosine):.7f}", "yes" if result.passed else "NO",
                )
            neighbours = artifact.neighbours
            artifacts.add_row(
                model.name, artifact.artifact, f"{artifact.size_bytes / 1e6:.1f}",
                f"{neighbours.agreement:.3f} (top-{neighbours.k} of {neighbours.rows})",
                "-" if artifact.torch_ms is None else f"{artifact.torch_ms:.1f}",
                "-" if artifact.artifact_ms is None else f"{artifact.artifact_ms:.1f}",
                "yes" if artifact.passed else "NO",
            )
    return parity, artifacts


def failed_artifacts(report: ExportReport) -> list[str]:
    return [f"{model.name}/{artifact.artifact}" for model in report.models for artifact in model.artifacts if not artifact.passed]
