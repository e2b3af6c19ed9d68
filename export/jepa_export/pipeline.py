"""The export job: checkpoints -> fp32 ONNX (by the fastest verified graph recipe with `--tune`)
-> fp16, int8, bf16 and TensorRT artifacts -> verification against PyTorch fp32 -> the VL-JEPA
quality gate -> Triton repositories (cpu, gpu, tensorrt) -> `export_report.json`.

Settings are `jepa_export.settings`, the models `jepa_export.jobs`, the report `jepa_export.report`.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import onnxruntime
import torch
from pydantic import BaseModel, Field
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from jepa_export import tensorrt_plan
from jepa_export.checkpoints import CheckpointError
from jepa_export.jobs import ExportJob, JobFactory, bundled_text_encoder_job, video_encoder_job
from jepa_export.onnx_export import GraphRecipe, convert_to_fp16, export_onnx, fuse_graph
from jepa_export.parity import ArtifactCheck, InputSet, OnnxRunner, Runner, ServedRunner, check_artifact, reference_inputs
from jepa_export.precision import Feeds, bf16_unavailable_reason, build_bf16, build_int8, openvino_installed
from jepa_export.rope import tabulated_rope
from jepa_export.report import ExportReport, ModelReport, QualityCheck, summary_tables
from jepa_export.repository import CPU_ONLY_PRECISIONS, PRECISION_ARTIFACTS, VERSIONS, ModelSettings, Precision, RuntimeSpec, Target, write_ensemble, write_model
from jepa_export.settings import ExportSettings
from jepa_export.tuning import GraphCandidate, ServingChoice, choose_serving, median_ms_per_item
from jepa_export.triton_python_model import runtime_spec

# Runtimes measured for each CPU precision with `--tune` (OpenVINO's only if installed).
_TUNED_RUNTIMES: dict[Precision, list[RuntimeSpec]] = {
    "fp32": [RuntimeSpec(), RuntimeSpec(runtime="openvino")],
    "fp16": [RuntimeSpec()],
    "bf16": [RuntimeSpec(runtime="openvino", inference_precision="bf16")],
}  # int8: the runtime its quantization was made for (`runtime.json` of the artifact)


class BuiltModel(BaseModel, arbitrary_types_allowed=True):
    """One model's artifacts (artifact name -> file), how to run each, and what was measured."""

    job: ExportJob
    files: dict[str, Path] = Field(default_factory=dict)
    runners: dict[str, Callable[[], Runner]] = Field(default_factory=dict)
    graph_recipe: str = ""
    # The graph OpenVINO's artifacts (int8, bf16) start from: the job's first recipe that passed,
    # which `tune` may not have chosen for ONNX Runtime (V-JEPA 2's constant rotary tables: on
    # OpenVINO upstream's rotation runs as reference Split/Concat kernels, about a third of an int8 clip).
    openvino_graph: Path | None = None
    graph_candidates: list[GraphCandidate] = Field(default_factory=list)
    # Per CPU precision built: runtime, instances and threads measured with `tune`.
    serving: dict[Precision, ServingChoice] = Field(default_factory=dict)
    tensorrt: tensorrt_plan.TensorRTBuild | None = None
    skipped: dict[str, str] = Field(default_factory=dict)

    def artifact_dir(self, precision: Precision) -> Path | None:
        file = self.files.get(PRECISION_ARTIFACTS[precision])
        return None if file is None else file.parent


def _input_sets(job: ExportJob, settings: ExportSettings) -> list[InputSet]:
    """PyTorch fp32 outputs on random batches, other shapes and real inputs, computed once."""
    module = job.module.to(settings.device)
    names = job.settings.input_names
    labelled = [(f"random b={batch}", job.make_inputs(batch), False) for batch in settings.parity_batch_sizes]
    labelled += [(label, tensors, False) for label, tensors in job.extra_inputs.items()]
    labelled += [(label, tensors, True) for label, tensors in job.real_inputs.items()]
    input_sets = [reference_inputs(module, names, label, tensors, settings.device, real) for label, tensors, real in labelled]
    job.module.to("cpu")
    return input_sets


def _cpu_runner(folder: Path, job: ExportJob) -> Callable[[], Runner]:
    return lambda: ServedRunner(folder, job.settings.output_names)


def _export_graph(recipe: GraphRecipe, job: ExportJob, path: Path, settings: ExportSettings) -> dict[str, int]:
    with tabulated_rope(job.module, job.max_visual_tokens) if recipe.rope_tables else contextlib.nullcontext():
        export_onnx(
            job.module, job.make_inputs(2), job.settings.input_names, job.settings.output_names, path, job.dynamic_shapes,
            settings.external_data_threshold_bytes, recipe,
        )
    return fuse_graph(path, recipe.fuse, job.module) if recipe.fuse else {}


def _build_fp32(name: str, built: BuiltModel, input_sets: list[InputSet], settings: ExportSettings) -> Path:
    """The fp32 graph by the job's first recipe that exports (an exporter may not trace every
    architecture; verification follows in `_verify`); with `tune`, every recipe exported,
    verified and timed on the real inputs, and the fastest that matches PyTorch kept."""
    job, fp32_file = built.job, settings.output_dir / "onnx" / name / "model.onnx"
    real = next(input_set for input_set in input_sets if input_set.real)
    exported: list[tuple[float, Path, str]] = []  # (ms per item, or inf when it missed parity; graph; recipe)
    for recipe in job.graph_recipes:
        path = settings.output_dir / "onnx" / name / "graphs" / recipe.name / "model.onnx"
        try:
            fused = _export_graph(recipe, job, path, settings)
        except Exception as error:  # noqa: BLE001 - the next recipe is tried; the reason is reported
            built.graph_candidates.append(GraphCandidate(recipe=recipe.name, passed=False, error=f"{type(error).__name__}: {error}"[:300]))
            continue
        if not settings.tune:
            built.graph_candidates.append(GraphCandidate(recipe=recipe.name, fused_ops=fused, passed=True))
            exported.append((0.0, path, recipe.name))
            break
        runner = ServedRunner(path.parent, job.settings.output_names)
        passed = check_artifact("onnx_fp32", path, runner, input_sets, settings.thresholds["onnx_fp32"]).passed
        ms = median_ms_per_item(partial(runner.run, real.feeds), real.batch_size, settings.tune_seconds) if passed else None
        built.graph_candidates.append(GraphCandidate(recipe=recipe.name, fused_ops=fused, passed=passed, ms_per_item=ms))
        exported.append((float("inf") if ms is None else ms, path, recipe.name))
    if not exported:
        raise CheckpointError(f"{name}: no exporter could trace it: {'; '.join(str(c.error) for c in built.graph_candidates)}")
    _, chosen, built.graph_recipe = min(exported, key=lambda entry: entry[0])
    preferred = next((path for ms, path, _ in exported if ms != float("inf")), chosen)
    built.openvino_graph = fp32_file
    if preferred != chosen:
        built.openvino_graph = _move_graph(preferred, fp32_file.parent / "openvino-graph")
    _move_graph(chosen, fp32_file.parent)
    shutil.rmtree(fp32_file.parent / "graphs")
    return fp32_file


def _move_graph(graph: Path, folder: Path) -> Path:
    """Moved, not linked: onnx refuses to load weights from a file with several hard links."""
    folder.mkdir(parents=True, exist_ok=True)
    for source in [graph, *graph.parent.glob(f"{graph.name}.data")]:
        source.replace(folder / source.name)
    return folder / graph.name


def _calibration(input_sets: list[InputSet]) -> list[Feeds]:
    """Each row of the real inputs as a batch of one: what static quantization calibrates on."""
    return [
        {name: array[row : row + 1] for name, array in input_set.feeds.items()}
        for input_set in input_sets if input_set.real for row in range(input_set.batch_size)
    ]


def _build_artifacts(name: str, built: BuiltModel, input_sets: list[InputSet], settings: ExportSettings, tensorrt_skipped: str | None, step: Callable[[str], None]) -> None:
    """fp32 ONNX, then each further precision, then a TensorRT plan unless `tensorrt_skipped` says why not."""
    job = built.job
    step("onnx fp32")
    fp32_file = _build_fp32(name, built, input_sets, settings)
    cuda = settings.device == "cuda"
    built.files["onnx_fp32"] = fp32_file
    built.runners["onnx_fp32"] = (lambda: OnnxRunner(fp32_file, "cuda")) if cuda else _cpu_runner(fp32_file.parent, job)
    step("lower precisions")
    openvino_graph = built.openvino_graph or fp32_file
    # bf16 last: it hard-links the fp32 graph, which the other conversions must still be able to load.
    for precision in sorted(settings.precisions_built(name), key=list(VERSIONS).index):
        folder = settings.output_dir / "onnx" / name / precision
        if precision == "fp16":
            fp16_file = convert_to_fp16(fp32_file, folder / "model.onnx", settings.external_data_threshold_bytes)
            built.files["onnx_fp16"] = fp16_file
            built.runners["onnx_fp16"] = partial(OnnxRunner, fp16_file, "cuda") if cuda else _cpu_runner(folder, job)
        elif precision == "int8":
            built.files["onnx_int8"], fallback = build_int8(fp32_file, openvino_graph, folder, settings.int8, _calibration(input_sets))
            if fallback is not None:
                built.skipped["int8 static"] = f"{fallback}: dynamic quantization, run by ONNX Runtime"
            built.runners["onnx_int8"] = _cpu_runner(folder, job)
        elif precision == "bf16":
            reason = bf16_unavailable_reason()
            if reason is not None:
                if precision == settings.served_precision(name):
                    raise CheckpointError(f"precision bf16 for {name}: {reason}")
                built.skipped["bf16"] = reason
                continue
            built.files["openvino_bf16"] = build_bf16(openvino_graph, folder)
            built.runners["openvino_bf16"] = _cpu_runner(folder, job)
    step("tensorrt")
    if settings.tensorrt and tensorrt_skipped is None:
        build = tensorrt_plan.build_plan(
            fp32_file,
            settings.output_dir / "tensorrt" / name / "model.plan",
            job.tensorrt_profile,
            settings.output_dir / "tensorrt" / "timing.cache",
            settings.tensorrt_workspace_bytes,
        )
        built.tensorrt = build
        built.files["tensorrt_fp16"] = build.plan_file
        built.runners["tensorrt_fp16"] = lambda: tensorrt_plan.TensorRTRunner(build.plan_file, job.settings.output_names)
    elif settings.tensorrt and tensorrt_skipped is not None:
        built.skipped["tensorrt"] = tensorrt_skipped


def _verify(built: BuiltModel, input_sets: list[InputSet], settings: ExportSettings) -> list[ArtifactCheck]:
    largest = max(input_sets[: len(settings.parity_batch_sizes)] or input_sets, key=lambda input_set: input_set.batch_size)
    module = built.job.module.to(settings.device)
    timing = (module, largest, settings.device, settings.timing_runs) if settings.timing_runs else None
    checks = [
        check_artifact(artifact, built.files[artifact], make_runner(), input_sets, settings.thresholds[artifact], timing)
        for artifact, make_runner in built.runners.items()
    ]
    built.job.module.to("cpu")
    return checks


def _tune_serving(name: str, built: BuiltModel, input_sets: list[InputSet], settings: ExportSettings) -> None:
    """Runtime, instances and threads of every verified precision, measured on its real inputs."""
    real = next(input_set for input_set in input_sets if input_set.real)
    for precision in VERSIONS:
        artifact_dir = built.artifact_dir(precision)
        if artifact_dir is None:
            continue
        runtimes = _TUNED_RUNTIMES.get(precision) or [RuntimeSpec.model_validate(runtime_spec(artifact_dir))]
        built.serving[precision] = choose_serving(
            artifact_dir, [spec for spec in runtimes if spec.runtime == "onnxruntime" or openvino_installed()],
            built.job.settings.output_names, real.feeds, settings.output_dir / "tuning" / name / precision, settings.tune_seconds,
        )


def _served_settings(name: str, built: BuiltModel, settings: ExportSettings) -> ModelSettings:
    """The model's settings with the instances and threads of its served precision."""
    layout = built.serving.get(settings.served_precision(name))
    threads = layout.chosen.intra_op_threads if layout else settings.intra_op_threads
    return built.job.settings.model_copy(
        update={
            "instance_count": layout.chosen.instance_count if layout else settings.instance_count,
            "parameters": built.job.settings.parameters | {"jepa.intra_op_threads": str(threads)},
        }
    )


def _write_repositories(name: str, built: BuiltModel, settings: ExportSettings, repositories: dict[Target, Path]) -> None:
    job, served = built.job, settings.served_precision(name)
    model = _served_settings(name, built, settings)
    for target, repository in repositories.items():
        if target == "tensorrt":
            if built.tensorrt is not None:
                plan = tensorrt_model_settings(model, built.tensorrt)
                write_model(repository, plan, {1: built.tensorrt.plan_file}, target, job.extra_files)
            continue
        precisions = [p for p in VERSIONS if built.artifact_dir(p) is not None and (target == "cpu" or p not in CPU_ONLY_PRECISIONS)]
        versions = {VERSIONS[p]: built.files[PRECISION_ARTIFACTS[p]] for p in precisions}
        runtimes = {
            VERSIONS[p]: built.serving[p].chosen.runtime if p in built.serving else RuntimeSpec.model_validate(runtime_spec(built.artifact_dir(p)))
            for p in precisions
        }
        write_model(repository, model.model_copy(update={"served_versions": [VERSIONS[served]]}), versions, target, job.extra_files, runtimes)


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


def _openvino_version() -> str | None:
    try:
        import openvino
    except ImportError:
        return None
    return openvino.__version__


def run_export(settings: ExportSettings, console: Console | None = None) -> ExportReport:
    """Export every requested model, verify every artifact, write the repositories (unless an
    artifact drifted and drift is not allowed) and `export_report.json`."""
    # Off a terminal (CI logs, pipes) rich assumes 80 columns, too narrow for the tables.
    console = console or Console(stderr=True, width=None if sys.stderr.isatty() else 160)
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    torch.manual_seed(settings.seed)
    ensembles = []
    quality_gate = None
    extra_factories: list[tuple[str, JobFactory]] = []
    if settings.vljepa is not None:
        from jepa_export.vljepa.export import prepare_vljepa_export

        vljepa = prepare_vljepa_export(settings)
        settings, extra_factories, ensembles, quality_gate = vljepa.settings, vljepa.job_factories, [vljepa.ensemble], vljepa.quality_gate
    world = None
    if settings.world is not None:
        from jepa_export.world.export import prepare_world_export

        world = prepare_world_export(settings)
        extra_factories = [*extra_factories, *world.job_factories]
    job_factories: list[tuple[str, JobFactory]] = []
    if settings.vjepa2 is not None:
        job_factories.append(("vjepa2_encoder", video_encoder_job))
    if settings.export_text_encoder:
        job_factories.append(("text_encoder", bundled_text_encoder_job))
    job_factories.extend(extra_factories)
    repository_root = settings.output_dir / "repository"
    # The tensorrt repository is written when a plan was built (tensorrt on and a GPU here).
    targets: list[Target] = list(dict.fromkeys(settings.targets + (["tensorrt"] if settings.tensorrt else [])))
    repositories = {target: repository_root / target for target in targets}
    for repository in repositories.values():
        shutil.rmtree(repository, ignore_errors=True)
    steps = ("load", "onnx fp32", "lower precisions", "tensorrt", "verify", "tune")
    reports: list[ModelReport] = []
    built_models: dict[str, BuiltModel] = {}
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
            built = BuiltModel(job=factory(settings))
            input_sets = _input_sets(built.job, settings)
            _build_artifacts(name, built, input_sets, settings, tensorrt_skipped, step)
            step("verify")
            checks = _verify(built, input_sets, settings)
            step("tune")
            if settings.tune and all(check.passed for check in checks):
                _tune_serving(name, built, input_sets, settings)
            progress.advance(task)
            built_models[name] = built
            reports.append(
                ModelReport(
                    name=name,
                    source=built.job.source,
                    # World models name their own space: observation tokens are not retrieval embeddings.
                    embedding_space=built.job.settings.parameters.get("jepa.embedding_space") or built.job.settings.parameters["jepa.world_space"],
                    onnx_file=str(built.files["onnx_fp32"]),
                    served_precision=settings.served_precision(name),
                    artifacts=checks,
                    graph_recipe=built.graph_recipe,
                    graph_candidates=built.graph_candidates,
                    serving=built.serving,
                    skipped=built.skipped,
                    tensorrt_version=built.tensorrt.tensorrt_version if built.tensorrt else None,
                    seconds=round(time.perf_counter() - started, 2),
                )
            )
    quality: list[QualityCheck] = []
    if quality_gate is not None:
        console.print("vljepa: quality gate (held-out R@1, caption accuracy) for each lower precision")
        quality = quality_gate({name: built.files for name, built in built_models.items()})
    report = ExportReport(
        created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        torch_version=torch.__version__,
        onnxruntime_version=onnxruntime.__version__,
        openvino_version=_openvino_version(),
        served_precision=settings.precision,
        allow_drift=settings.allow_drift,
        models=reports,
        quality=quality,
        repositories={},
    )
    if report.passed or settings.allow_drift:
        for name, built in built_models.items():
            _write_repositories(name, built, settings, repositories)
        for ensemble in ensembles:
            for repository in repositories.values():
                if repository.is_dir():
                    write_ensemble(repository, ensemble)
        if world is not None:
            world.write_rollout_model(built_models["world_predictor"].files["onnx_fp32"], repositories)
        report.repositories = {target: str(path) for target, path in repositories.items() if path.is_dir()}
    settings.output_dir.mkdir(parents=True, exist_ok=True)
    (settings.output_dir / "export_report.json").write_text(report.model_dump_json(indent=2))
    for table in summary_tables(report):
        console.print(table)
    return report
