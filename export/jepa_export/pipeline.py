"""The export job: checkpoints -> ONNX -> parity -> Triton repositories (cpu, gpu) -> report."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import torch
from pydantic import BaseModel, Field
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from jepa_export import checkpoints
from jepa_export.modules import TextEncoderForExport, VideoEncoderForExport
from jepa_export.onnx_export import export_onnx
from jepa_export.parity import ParityResult, check_parity
from jepa_export.repository import DynamicBatchingSettings, ModelSettings, Target, TensorSettings, write_model

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ExportSettings(BaseModel):
    """What to export and how the served models are configured."""

    output_dir: Path = Path("artifacts")
    # A local Hugging Face V-JEPA 2 folder; None skips the video encoder.
    vjepa2: Path | None = None
    # A local Hugging Face text-encoder folder; None = the bundled all-MiniLM-L6-v2.
    text_encoder: Path | None = None
    export_text_encoder: bool = True
    targets: list[Target] = Field(default_factory=lambda: ["cpu", "gpu"])
    max_batch_size: int = 32
    max_queue_delay_microseconds: int = 1000
    instance_count: int = 1
    parity_min_cosine: float = 0.99999
    parity_batch_sizes: list[int] = Field(default_factory=lambda: [1, 4])
    seed: int = 0


class ModelReport(BaseModel):
    name: str
    source: str
    embedding_space: str
    onnx_file: str
    parity: list[ParityResult]
    seconds: float


class ExportReport(BaseModel):
    created_at: str
    torch_version: str
    models: list[ModelReport]
    repositories: dict[str, str]

    @property
    def passed(self) -> bool:
        return all(result.passed for model in self.models for result in model.parity)


def weights_fingerprint(module: torch.nn.Module) -> str:
    """Short hash of the weights: names an embedding space so different weights never share one."""
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:12]


class _ExportJob(BaseModel, arbitrary_types_allowed=True):
    """One model to export: the module, its example inputs and how Triton serves it."""

    settings: ModelSettings
    module: torch.nn.Module
    make_inputs: Callable[[int], tuple[torch.Tensor, ...]]
    dynamic_axes: dict[str, dict[int, str]]
    source: str
    extra_files: tuple[Path, ...] = ()


def _batching(settings: ExportSettings) -> DynamicBatchingSettings:
    return DynamicBatchingSettings(max_queue_delay_microseconds=settings.max_queue_delay_microseconds)


def _video_encoder_job(settings: ExportSettings) -> _ExportJob:
    vjepa2 = checkpoints.load_vjepa2_hf(settings.vjepa2)
    geometry = checkpoints.video_geometry(vjepa2)
    module = VideoEncoderForExport(vjepa2)
    side = geometry.crop_size
    tokens = (geometry.frames_per_clip // geometry.tubelet_size) * (side // geometry.patch_size) ** 2
    model = ModelSettings(
        name="vjepa2_encoder",
        inputs=[TensorSettings(name="pixel_values_videos", dims=[geometry.frames_per_clip, 3, side, side])],
        outputs=[
            TensorSettings(name="clip_embedding", dims=[geometry.hidden_size]),
            TensorSettings(name="visual_tokens", dims=[tokens, geometry.hidden_size]),
        ],
        max_batch_size=settings.max_batch_size,
        dynamic_batching=_batching(settings),
        instance_count=settings.instance_count,
        parameters={
            "jepa.role": "video_encoder",
            "jepa.embedding_space": f"vjepa2-{weights_fingerprint(vjepa2)}",
            "jepa.frames_per_clip": str(geometry.frames_per_clip),
            "jepa.crop_size": str(side),
            "jepa.resize_short_side": str(geometry.resize_short_side),
            "jepa.tubelet_size": str(geometry.tubelet_size),
            "jepa.image_mean": ",".join(map(str, IMAGENET_MEAN)),
            "jepa.image_std": ",".join(map(str, IMAGENET_STD)),
        },
    )
    return _ExportJob(
        settings=model,
        module=module,
        make_inputs=lambda batch: (torch.randn(batch, geometry.frames_per_clip, 3, side, side),),
        dynamic_axes={"pixel_values_videos": {0: "batch"}},
        source=str(settings.vjepa2),
    )


def _text_encoder_job(settings: ExportSettings) -> _ExportJob:
    text = checkpoints.load_text_encoder(settings.text_encoder)
    module = TextEncoderForExport(text.model, text.pooling)
    vocab_size = text.model.config.vocab_size
    hidden_size = text.model.config.hidden_size

    def make_inputs(batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        generator = torch.Generator().manual_seed(batch)
        input_ids = torch.randint(1000, vocab_size, (batch, 12), generator=generator)
        attention_mask = torch.ones_like(input_ids)
        attention_mask[1:, 7:] = 0  # rows of different lengths, as in a real padded batch
        return input_ids, attention_mask

    ragged = dict(data_type="TYPE_INT64", dims=[-1], allow_ragged_batch=True)
    model = ModelSettings(
        name="text_encoder",
        inputs=[TensorSettings(name="input_ids", **ragged), TensorSettings(name="attention_mask", **ragged)],
        outputs=[TensorSettings(name="text_embedding", dims=[hidden_size])],
        max_batch_size=settings.max_batch_size,
        dynamic_batching=_batching(settings),
        instance_count=settings.instance_count,
        parameters={
            "jepa.role": "text_encoder",
            "jepa.embedding_space": f"text-{weights_fingerprint(text.model)}",
            "jepa.max_tokens": str(text.max_tokens),
        },
    )
    return _ExportJob(
        settings=model,
        module=module,
        make_inputs=make_inputs,
        dynamic_axes={name: {0: "batch", 1: "tokens"} for name in module.input_names},
        source=str(settings.text_encoder or checkpoints.bundled_minilm_dir()),
        extra_files=(text.tokenizer_file,),
    )


def run_export(settings: ExportSettings, console: Console | None = None) -> ExportReport:
    """Export every requested model, verify it, write the repositories and `export_report.json`."""
    console = console or Console(stderr=True)
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    torch.manual_seed(settings.seed)
    job_factories = []
    if settings.vjepa2 is not None:
        job_factories.append(("vjepa2_encoder", _video_encoder_job))
    if settings.export_text_encoder:
        job_factories.append(("text_encoder", _text_encoder_job))
    repositories = {target: settings.output_dir / "repository" / target for target in settings.targets}
    for repository in repositories.values():
        shutil.rmtree(repository, ignore_errors=True)
    reports: list[ModelReport] = []
    with Progress(console=console, transient=False) as progress:
        task = progress.add_task("export", total=len(job_factories) * 3)
        for name, factory in job_factories:
            started = time.perf_counter()
            progress.update(task, description=f"{name}: load")
            job = factory(settings)
            progress.advance(task)
            progress.update(task, description=f"{name}: onnx")
            onnx_file = export_onnx(
                job.module,
                job.make_inputs(2),
                job.module.input_names,
                job.module.output_names,
                settings.output_dir / "onnx" / name / "model.onnx",
                job.dynamic_axes,
            )
            progress.advance(task)
            progress.update(task, description=f"{name}: parity")
            parity = [
                check_parity(job.module, onnx_file, job.module.input_names, job.make_inputs(batch), "onnx_fp32", "random", settings.parity_min_cosine)
                for batch in settings.parity_batch_sizes
            ]
            for target, repository in repositories.items():
                write_model(repository, job.settings, onnx_file, target, job.extra_files)
            progress.advance(task)
            reports.append(
                ModelReport(
                    name=name,
                    source=job.source,
                    embedding_space=job.settings.parameters["jepa.embedding_space"],
                    onnx_file=str(onnx_file),
                    parity=parity,
                    seconds=round(time.perf_counter() - started, 2),
                )
            )
    report = ExportReport(
        created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        torch_version=torch.__version__,
        models=reports,
        repositories={target: str(path) for target, path in repositories.items()},
    )
    (settings.output_dir / "export_report.json").write_text(json.dumps(report.model_dump(mode="json"), indent=2))
    console.print(summary_table(report))
    return report


def summary_table(report: ExportReport) -> Table:
    table = Table(title="export parity vs PyTorch fp32")
    for column in ("model", "artifact", "inputs", "batch", "max |diff|", "min cosine", "ok"):
        table.add_column(column)
    for model in report.models:
        for result in model.parity:
            table.add_row(
                model.name, result.artifact, result.inputs, str(result.batch_size),
                f"{result.max_abs_diff:.2e}", f"{result.min_cosine:.7f}", "yes" if result.passed else "NO",
            )
    return table
