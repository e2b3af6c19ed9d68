"""Study 1: served vs in-process. Three sides alternate in every round, each alone on the machine
while it is measured:
- PyTorch eager in a worker process, at its best batch size: the V-JEPA 2 module on tensors that
  are already decoded and normalised; MiniLM through sentence-transformers' `encode`;
- the runtime alone, in this process: the served artifact of each precision through the runtime,
  threads and instances `model.py` uses, on the same preprocessed input (the ceiling of serving);
- served: client -> gateway -> Triton, at fp32 (the layout `--tune` measured), int8 and bf16.
Each round also times square fp32 products on every core: the ceiling that bounds fp32 speed-ups.
The served side still pays for gRPC, resizing, cropping and normalising in the gateway."""

from __future__ import annotations

import asyncio
import json
import statistics
from pathlib import Path

import numpy as np

from benchmarks.calls import embed_text_call, embed_video_call, gateway_client
from benchmarks.context import StudyContext
from benchmarks.eager import EagerPoint, EagerSpec, EagerWorker, matmul_ceiling_gflops
from benchmarks.loadgen import LoadPoint, closed_loop
from benchmarks.models import (
    ExportedModels, ServedModel, assemble_repository, client_frames, encoder_gflops, model_parameters, model_tokenizer, served_layout, served_version_dir,
)
from benchmarks.processes import ServedStack
from benchmarks.results import Cell, Goal, Plot, PlotSeries, Table
from benchmarks.workloads import sentences
from jepa_export.repository import Precision
from jepa_export.tuning import LayoutMeasurement, measure_layout

# (texts per request, concurrency): one text per call with the batcher filling batches, and
# a client that batches itself.
TEXT_CONFIGS = ((1, 32), (32, 2), (32, 4))
VIDEO_PRECISIONS: tuple[Precision, ...] = ("fp32", "int8", "bf16")
TEXT_PRECISIONS: tuple[Precision, ...] = ("fp32", "bf16")
# The goals: served / eager throughput at fp32 (the best runtime we ship) and at int8.
VIDEO_GOALS = {"fp32": 2.0, "int8": 3.0}
TEXT_GOAL = 1.5
CPU_GOAL = 1.25


class Variant:
    """One served model: a precision of an export, served under its own name."""

    def __init__(self, kind: str, base: str, precision: Precision, source: Path) -> None:
        self.kind, self.base, self.precision, self.source = kind, base, precision, source
        self.name = f"{base}_{precision}"


def _pixels(frames: np.ndarray, parameters: dict[str, str]) -> np.ndarray:
    """What the gateway makes of `client_frames`: centre crop, /255, mean/std, channels first."""
    crop, side = int(parameters["jepa.crop_size"]), frames.shape[1]
    top = (side - crop) // 2
    mean = np.asarray([float(v) for v in parameters["jepa.image_mean"].split(",")], np.float32)
    std = np.asarray([float(v) for v in parameters["jepa.image_std"].split(",")], np.float32)
    pixels = (frames[:, top : top + crop, top : top + crop].astype(np.float32) / 255 - mean) / std
    return np.ascontiguousarray(pixels.transpose(0, 3, 1, 2))[None]


def _runtime_alone(repository: Path, variant: Variant, duration_s: float, texts: list[str]) -> LayoutMeasurement:
    model_dir = repository / variant.name
    instances, threads = served_layout(model_dir)
    version_dir = served_version_dir(model_dir)
    if variant.kind == "video":
        feeds = [{"pixel_values_videos": _pixels(client_frames(model_dir), model_parameters(model_dir))}]
        outputs = ["clip_embedding"]
    else:
        tokenizer = model_tokenizer(model_dir)
        feeds = [
            {"input_ids": tokens.input_ids, "attention_mask": tokens.attention_mask}
            for tokens in (tokenizer.encode(texts[start : start + 32]) for start in range(0, len(texts), 32))
        ]
        outputs = ["text_embedding"]
    return measure_layout(version_dir, outputs, feeds, instances, threads, duration_s)


async def _served_round(context: StudyContext, stack: ServedStack, repository: Path, variants: list[Variant], texts: list[str]) -> dict[str, list[LoadPoint]]:
    settings = context.settings
    points: dict[str, list[LoadPoint]] = {}
    async with gateway_client(stack.gateway_address) as client:
        for variant in variants:
            if variant.kind == "video":
                call = embed_video_call(client, client_frames(repository / variant.name), model=variant.name)
                points[variant.name] = [
                    (await closed_loop(call, concurrency, settings.video_duration_s, settings.warmup_s, stack.meters)).point(variant.name, "closed", concurrency)
                    for concurrency in settings.served_concurrency
                ]
            else:
                points[variant.name] = [
                    (await closed_loop(embed_text_call(client, texts, per_request, variant.name), concurrency, settings.duration_s, settings.warmup_s, stack.meters))
                    .point(f"{variant.name}, {per_request} per request", "closed", concurrency)
                    for per_request, concurrency in TEXT_CONFIGS
                ]
    return points


def _export_tuning(model_dir: Path) -> dict[str, object]:
    report = json.loads((model_dir.parents[2] / "export_report.json").read_text())
    model = next(entry for entry in report["models"] if entry["name"] == model_dir.name)
    return {key: model[key] for key in ("graph_recipe", "graph_candidates", "serving")}


def _served_cpu_ms(point: LoadPoint) -> float:
    return point.cpu_ms_per_item.get("gateway", 0.0) + point.cpu_ms_per_item.get("triton", 0.0)


def _fp32_ceiling_table(exports: dict[int, ExportedModels], cache_dir: Path, eager: dict[str, list[list[EagerPoint]]], ceilings: list[float]) -> Table:
    """How fast eager already runs a clip's arithmetic against the CPU's fp32 products: the
    ceiling over eager bounds what any fp32 runtime could gain (non-product work only lowers it)."""
    rows: list[list[Cell]] = []
    for crop, export in exports.items():
        config = json.loads((export.checkpoint_dir(cache_dir) / "config.json").read_text())
        gflop = encoder_gflops(config)
        eager_gflops = [gflop * max(p.items_per_s for p in points) for points in eager[f"vjepa2_{crop}px"]]
        bounds = [ceiling / achieved for ceiling, achieved in zip(ceilings, eager_gflops)]
        rows.append([
            f"vjepa2_{crop}px", round(gflop, 1), round(statistics.median(eager_gflops), 1), round(statistics.median(ceilings), 1),
            f"{statistics.median(eager_gflops) / statistics.median(ceilings):.0%}", round(statistics.median(bounds), 2), ", ".join(f"{b:.2f}" for b in bounds),
        ])
    return Table(
        title="fp32 ceiling: eager's GFLOP/s against square fp32 products on every core (same rounds)",
        columns=["model", "GFLOP per clip", "eager GFLOP/s", "matmul ceiling GFLOP/s", "eager of ceiling", "most any fp32 runtime could gain (×)", "per round"],
        rows=rows,
    )


def run(context: StudyContext) -> Path:
    settings = context.settings
    result = context.new_result(
        "served", "Served vs in-process PyTorch eager",
        "Is serving through gateway + Triton faster than running the model in PyTorch eager in-process, and how close is it to the runtime alone?",
    )
    exports = {crop: ExportedModels(preset=settings.preset, crop_size=crop) for crop in settings.video_crops}
    text_export = ExportedModels(preset=None, text=True).repository(settings.cache_dir)
    variants = [
        Variant("video", f"vjepa2_{crop}px", precision, exports[crop].repository(settings.cache_dir) / "vjepa2_encoder")
        for crop in settings.video_crops for precision in VIDEO_PRECISIONS
    ] + [Variant("text", "text_encoder", precision, text_export / "text_encoder") for precision in TEXT_PRECISIONS]
    repository = assemble_repository(
        context.scratch("repositories") / "served",
        [ServedModel(source=variant.source, name=variant.name, precision=variant.precision) for variant in variants],
    )
    texts = sentences(1024, seed=2)
    eager_specs = {
        f"vjepa2_{crop}px": EagerSpec(kind="video", checkpoint=str(exports[crop].checkpoint_dir(settings.cache_dir)),
                                      batch_sizes=settings.eager_batch_sizes, duration_s=settings.video_duration_s)
        for crop in settings.video_crops
    }
    eager_specs["text_encoder"] = EagerSpec(kind="text", batch_sizes=settings.text_batch_sizes, duration_s=settings.duration_s, texts=sentences(256, seed=2))
    eager: dict[str, list[list[EagerPoint]]] = {base: [] for base in eager_specs}
    ceilings: list[float] = []  # the fp32 matmul ceiling, GFLOP/s, once per round
    alone: dict[str, list[LayoutMeasurement]] = {variant.name: [] for variant in variants}
    served: dict[str, list[list[LoadPoint]]] = {variant.name: [] for variant in variants}
    with EagerWorker() as worker, context.stack(repository, "served") as stack:
        for round_index in range(settings.rounds):
            sides = ["eager", "alone", "served"]
            for side in sides if round_index % 2 == 0 else sides[::-1]:
                if side == "eager":
                    for base, spec in eager_specs.items():
                        eager[base].append(worker.measure(spec))
                    ceilings.append(matmul_ceiling_gflops(worker, settings.duration_s))
                elif side == "alone":
                    for variant in variants:
                        duration = settings.video_duration_s if variant.kind == "video" else settings.duration_s
                        alone[variant.name].append(_runtime_alone(repository, variant, duration, texts))
                else:
                    for name, points in asyncio.run(_served_round(context, stack, repository, variants, texts)).items():
                        served[name].append(points)
        result.peak_rss_mib = stack.peak_rss_mib()
    result.interleaved_rounds = settings.rounds

    rows: list[list[Cell]]
    cpu_rows: list[list[Cell]]
    rows, cpu_rows = [], []
    for variant in variants:
        best_eager = [max(points, key=lambda p: p.items_per_s) for points in eager[variant.base]]
        best_served = [max(points, key=lambda p: p.items_per_s) for points in served[variant.name]]
        ratios = [s.items_per_s / e.items_per_s for s, e in zip(best_served, best_eager)]
        cpu_ratios = [_served_cpu_ms(s) / a.cpu_ms_per_item for s, a in zip(best_served, alone[variant.name])]
        unit = "clips/s" if variant.kind == "video" else "texts/s"
        last = best_served[-1]
        served_how = f"concurrency {last.concurrency}" + (f", {last.items // max(last.requests, 1)} per request" if variant.kind == "text" else "")
        rows.append([
            variant.base, variant.precision, unit, statistics.median(s.items_per_s for s in best_served), served_how,
            statistics.median(a.items_per_s for a in alone[variant.name]), statistics.median(e.items_per_s for e in best_eager),
            f"batch {best_eager[-1].batch_size}", round(statistics.median(ratios), 2), ", ".join(f"{r:.2f}" for r in ratios),
        ])
        cpu_rows.append([
            variant.base, variant.precision, round(statistics.median(_served_cpu_ms(s) for s in best_served), 2),
            round(statistics.median(a.cpu_ms_per_item for a in alone[variant.name]), 2),
            round(statistics.median(e.cpu_ms_per_item for e in best_eager), 2), round(statistics.median(cpu_ratios), 2),
        ])
        if variant.kind == "video" and variant.precision in VIDEO_GOALS:
            threshold = VIDEO_GOALS[variant.precision]
            result.goals.append(Goal.from_rounds(ratios, name=f"served vs eager, {variant.name}", threshold=threshold,
                                                 statement=f"served video {variant.precision} ≥ {threshold:g}× in-process eager ({variant.base}, {settings.preset})"))
        if variant.kind == "text" and variant.precision == "fp32":
            result.goals.append(Goal.from_rounds(ratios, name="served vs eager, text", threshold=TEXT_GOAL,
                                                 statement=f"served text fp32 ≥ {TEXT_GOAL:g}× sentence-transformers in-process (best setting of each)"))
        if variant.precision in ("fp32", "int8"):
            result.goals.append(Goal.from_rounds(cpu_ratios, name=f"served CPU per item, {variant.name}", threshold=CPU_GOAL, higher_is_better=False,
                                                 statement=f"served CPU per item ≤ {CPU_GOAL:g}× the runtime alone ({variant.base}, {variant.precision})"))
    result.tables.append(Table(
        title="throughput: best of each side, median of rounds",
        columns=["model", "precision", "unit", "served", "served at", "runtime alone", "eager", "eager at", "served / eager", "per round"],
        rows=rows,
    ))
    result.tables.append(_fp32_ceiling_table(exports, settings.cache_dir, eager, ceilings))
    result.tables.append(Table(
        title="CPU ms per item (served = gateway + Triton and its stubs; runtime alone = this process)",
        columns=["model", "precision", "served", "runtime alone", "eager", "served / runtime alone"],
        rows=cpu_rows,
    ))
    for base in eager_specs:
        mine = [variant for variant in variants if variant.base == base]
        result.plots.append(Plot(
            title=f"{base}: items/s", kind="bar", x_label="side", y_label="items/s",
            series=[PlotSeries(name="eager", x=["eager"], y=[statistics.median(max(p.items_per_s for p in points) for points in eager[base])])]
            + [PlotSeries(name=v.precision, x=[f"alone {v.precision}", f"served {v.precision}"],
                          y=[statistics.median(a.items_per_s for a in alone[v.name]), statistics.median(max(p.items_per_s for p in pts) for pts in served[v.name])])
               for v in mine],
        ))
    result.measurements = {
        "served": {name: [[p.model_dump() for p in points] for points in rounds] for name, rounds in served.items()},
        "runtime_alone": {name: [m.model_dump() for m in rounds] for name, rounds in alone.items()},
        "eager": {name: [[p.model_dump() for p in points] for points in rounds] for name, rounds in eager.items()},
        "matmul_ceiling_gflops": ceilings,
        "layouts": {variant.name: served_layout(repository / variant.name) for variant in variants},
        # What `--tune` measured at export for each served model: graph recipes and serving layouts.
        "export_tuning": {variant.base: _export_tuning(variant.source) for variant in variants},
    }
    return context.finish(result)
