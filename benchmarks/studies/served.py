"""Study 1: served vs in-process PyTorch. Clip embeddings per second through client -> gateway
-> Triton (ONNX Runtime) against the same V-JEPA 2 module in eager PyTorch on tensors that are
already decoded and normalised, at its best batch size; and MiniLM texts against
sentence-transformers' `encode`. The served side still pays for gRPC, resizing, cropping and
normalising in the gateway; the eager side pays for nothing but the model."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from benchmarks.calls import embed_text_call, embed_video_call, gateway_client
from benchmarks.context import StudyContext
from benchmarks.eager import EagerPoint, EagerSpec
from benchmarks.loadgen import LoadPoint, closed_loop
from benchmarks.models import ExportedModels, ServedModel, assemble_repository, client_frames
from benchmarks.results import Goal, Plot, PlotSeries, Table
from benchmarks.workloads import sentences

# (texts per request, concurrency): one text per call with the batcher filling batches, and
# a client that batches itself.
TEXT_CONFIGS = ((1, 32), (32, 2))


def _eager(spec: EagerSpec) -> list[EagerPoint]:
    output = subprocess.run([sys.executable, "-m", "benchmarks.eager", spec.model_dump_json()], check=True, capture_output=True, text=True)
    return [EagerPoint.model_validate(point) for point in json.loads(output.stdout.strip().splitlines()[-1])]


async def _served(context: StudyContext, repository: Path, crops: list[int]) -> tuple[dict[str, list[LoadPoint]], dict[str, float]]:
    settings = context.settings
    points: dict[str, list[LoadPoint]] = {}
    with context.stack(repository, "served") as stack:
        async with gateway_client(stack.gateway_address) as client:
            for crop in crops:
                model = f"vjepa2_{crop}px"
                call = embed_video_call(client, client_frames(repository / model), model=model)
                points[model] = [
                    (await closed_loop(call, concurrency, settings.video_duration_s, settings.warmup_s, stack.meters)).point(model, "closed", concurrency)
                    for concurrency in settings.served_concurrency
                ]
            texts = sentences(1024, seed=2)
            points["text_encoder"] = [
                (await closed_loop(embed_text_call(client, texts, per_request), concurrency, settings.duration_s, settings.warmup_s, stack.meters))
                .point(f"text, {per_request} per request", "closed", concurrency)
                for per_request, concurrency in TEXT_CONFIGS
            ]
        return points, stack.peak_rss_mib()


def run(context: StudyContext) -> Path:
    settings = context.settings
    result = context.new_result(
        "served", "Served vs in-process PyTorch eager",
        "Is serving through gateway + Triton (ONNX Runtime) faster than running the model in PyTorch eager in-process?",
    )
    crops = settings.video_crops
    exports = {crop: ExportedModels(preset=settings.preset, crop_size=crop) for crop in crops}
    text = ExportedModels(preset=None, text=True).repository(settings.cache_dir)
    repository = assemble_repository(
        context.scratch("repositories") / "served",
        [ServedModel(source=exports[crop].repository(settings.cache_dir) / "vjepa2_encoder", name=f"vjepa2_{crop}px") for crop in crops]
        + [ServedModel(source=text / "text_encoder", name="text_encoder")],
    )
    eager: dict[str, list[EagerPoint]] = {
        f"vjepa2_{crop}px": _eager(EagerSpec(kind="video", checkpoint=str(exports[crop].checkpoint_dir(settings.cache_dir)),
                                              batch_sizes=settings.eager_batch_sizes, duration_s=settings.video_duration_s))
        for crop in crops
    }
    eager["text_encoder"] = _eager(EagerSpec(kind="text", batch_sizes=settings.text_batch_sizes, duration_s=settings.duration_s, texts=sentences(256, seed=2)))
    served, result.peak_rss_mib = asyncio.run(_served(context, repository, crops))

    rows = []
    for model, unit in [*((f"vjepa2_{crop}px", "clips/s") for crop in crops), ("text_encoder", "texts/s")]:
        best_eager = max(eager[model], key=lambda point: point.items_per_s)
        best_served = max(served[model], key=lambda point: point.items_per_s)
        ratio = round(best_served.items_per_s / best_eager.items_per_s, 2)
        served_how = f"concurrency {best_served.concurrency}" + (f", {best_served.label}" if model == "text_encoder" else "")
        served_cpu_ms = best_served.cpu_ms_per_item.get("gateway", 0.0) + best_served.cpu_ms_per_item.get("triton", 0.0)
        eager_cpu_ms = 1000 * best_eager.cpu_s / (best_eager.calls * best_eager.batch_size)
        rows.append([model, unit, best_served.items_per_s, served_how, best_eager.items_per_s, f"batch {best_eager.batch_size}", ratio,
                     round(served_cpu_ms, 2), round(eager_cpu_ms, 2), round(eager_cpu_ms / max(served_cpu_ms, 1e-9), 2)])
        if model != "text_encoder":
            result.goals.append(Goal(name=f"served vs eager, {model}", statement=f"served video ≥ 1.5× in-process eager ({model}, {settings.preset})",
                                     measured=ratio, threshold=1.5))
        result.plots.append(Plot(
            title=f"{model}: {unit}", kind="bar", x_label="configuration", y_label=unit,
            series=[
                PlotSeries(name="served", x=[f"served c={p.concurrency}" + (f" x{p.items // max(p.requests, 1)}" if model == "text_encoder" else "") for p in served[model]], y=[p.items_per_s for p in served[model]]),
                PlotSeries(name="eager", x=[f"eager b={p.batch_size}" for p in eager[model]], y=[p.items_per_s for p in eager[model]]),
            ],
        ))
    result.tables.append(Table(
        title="best of each side",
        columns=["model", "unit", "served", "served at", "eager", "eager at", "served / eager", "served CPU ms/item (gateway + Triton)", "eager CPU ms/item", "eager CPU / served CPU"],
        rows=rows,
    ))
    result.measurements = {
        "served": {model: [p.model_dump() for p in points] for model, points in served.items()},
        "eager": {model: [p.model_dump() for p in points] for model, points in eager.items()},
    }
    return context.finish(result)
