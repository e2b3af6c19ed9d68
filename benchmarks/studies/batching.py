"""Study 2: Triton's dynamic batching vs none: the same exported model served twice (with and
without the `dynamic_batching` block), text and video, across the concurrency sweep. The two
are measured alternately at each concurrency so a change in machine load hits both."""

from __future__ import annotations

import asyncio
from pathlib import Path

from benchmarks.calls import embed_text_call, embed_video_call, gateway_client
from benchmarks.context import StudyContext
from benchmarks.loadgen import LoadPoint, closed_loop
from benchmarks.models import ExportedModels, ServedModel, assemble_repository, client_frames, model_parameters, model_tokenizer
from benchmarks.results import Goal, Plot, PlotSeries, Table
from benchmarks.runtime_scaling import BatchTiming, text_inputs, time_batches, video_inputs
from benchmarks.triton_metrics import inference_counts, mean_batch_size
from benchmarks.workloads import sentences

GOAL_CONCURRENCY = 32
RUNTIME_BATCHES = {"text": [1, 4, 16, 32], "video": [1, 2, 4]}


def _repository(context: StudyContext) -> Path:
    settings = context.settings
    text = ExportedModels(preset=None, text=True).repository(settings.cache_dir)
    video = ExportedModels(preset=settings.preset, crop_size=settings.video_crops[0]).repository(settings.cache_dir)
    models = []
    for kind, source in (("text", text / "text_encoder"), ("video", video / "vjepa2_encoder")):
        models += [ServedModel(source=source, name=f"{kind}_batched"), ServedModel(source=source, name=f"{kind}_unbatched", dynamic_batching=False)]
    return assemble_repository(context.scratch("repositories") / "batching", models)


async def _measure(context: StudyContext, repository: Path) -> tuple[dict[str, dict[str, list[LoadPoint]]], dict[str, list[float]], dict[str, float]]:
    settings = context.settings
    points: dict[str, dict[str, list[LoadPoint]]] = {"text": {"batched": [], "unbatched": []}, "video": {"batched": [], "unbatched": []}}
    batch_sizes: dict[str, list[float]] = {"text": [], "video": []}
    with context.stack(repository, "batching") as stack:
        async with gateway_client(stack.gateway_address) as client:
            calls = {
                "text": {mode: embed_text_call(client, sentences(512), model=f"text_{mode}") for mode in ("batched", "unbatched")},
                "video": {mode: embed_video_call(client, client_frames(repository / "video_batched"), model=f"video_{mode}") for mode in ("batched", "unbatched")},
            }
            for kind, duration_s, concurrencies in (
                ("text", settings.duration_s, settings.concurrency_sweep), ("video", settings.video_duration_s, settings.video_concurrency_sweep)
            ):
                for position, concurrency in enumerate(concurrencies):
                    # Alternate which goes first, so neither always inherits the other's leftovers.
                    for mode in ("batched", "unbatched") if position % 2 == 0 else ("unbatched", "batched"):
                        before = inference_counts(stack.triton_metrics_url)
                        tally = await closed_loop(calls[kind][mode], concurrency, duration_s, settings.warmup_s, stack.meters)
                        if mode == "batched":
                            batch_sizes[kind].append(mean_batch_size(before, inference_counts(stack.triton_metrics_url), f"{kind}_batched"))
                        points[kind][mode].append(tally.point(f"{kind} {mode}", "closed", concurrency))
        return points, batch_sizes, stack.peak_rss_mib()


def _runtime_ceiling(context: StudyContext, repository: Path) -> dict[str, list[BatchTiming]]:
    """ONNX Runtime alone on the same graphs, after the servers have stopped."""
    settings = context.settings
    video_parameters = model_parameters(repository / "video_batched")
    inputs = {
        "text": text_inputs(model_tokenizer(repository / "text_batched"), sentences(64, seed=3)),
        "video": video_inputs(int(video_parameters["jepa.frames_per_clip"]), int(video_parameters["jepa.crop_size"])),
    }
    seconds = {"text": settings.duration_s, "video": settings.warmup_s}
    return {kind: time_batches(repository / f"{kind}_batched", inputs[kind], RUNTIME_BATCHES[kind], seconds[kind]) for kind in inputs}


def run(context: StudyContext) -> Path:
    result = context.new_result(
        "batching", "Dynamic batching vs none",
        "How much throughput does Triton's dynamic batcher add, the same model served with and without it?",
    )
    repository = _repository(context)
    points, batch_sizes, result.peak_rss_mib = asyncio.run(_measure(context, repository))
    ceiling = _runtime_ceiling(context, repository)
    for kind, unit in (("text", "texts/s"), ("video", "clips/s")):
        batched, unbatched = points[kind]["batched"], points[kind]["unbatched"]
        rows = []
        for on, off, batch in zip(batched, unbatched, batch_sizes[kind]):
            rows.append([
                on.concurrency, on.items_per_s, off.items_per_s, round(on.items_per_s / max(off.items_per_s, 1e-9), 2),
                f"{on.latency.p50_ms:.1f} / {on.latency.p99_ms:.1f}", f"{off.latency.p50_ms:.1f} / {off.latency.p99_ms:.1f}", batch,
                f"{on.cpu_ms_per_item.get('triton', 0.0):.1f} / {off.cpu_ms_per_item.get('triton', 0.0):.1f}",
                sum(on.errors.values()) + sum(off.errors.values()),
            ])
        result.tables.append(Table(
            title=f"{kind}: {unit} by concurrency",
            columns=["concurrency", f"batched {unit}", f"unbatched {unit}", "ratio", "batched p50/p99 ms", "unbatched p50/p99 ms", "mean batch formed", "Triton CPU ms/item batched / unbatched", "errors"],
            rows=rows,
        ))
        single = ceiling[kind][0].ms_per_item
        result.tables.append(Table(
            title=f"{kind}: ONNX Runtime alone, in-process (the most any batcher can gain here)",
            columns=["batch", "ms per item", "speed-up over batch 1", "load avg"],
            rows=[[t.batch_size, t.ms_per_item, round(single / t.ms_per_item, 2), t.load_average_1m] for t in ceiling[kind]],
        ))
        result.measurements[f"{kind}_runtime_alone"] = [t.model_dump() for t in ceiling[kind]]
        result.plots.append(Plot(
            title=f"{kind}: throughput", kind="line", x_label="concurrency", y_label=unit, log_x=True,
            series=[PlotSeries(name=mode, x=[p.concurrency for p in series], y=[p.items_per_s for p in series]) for mode, series in points[kind].items()],
        ))
        result.plots.append(Plot(
            title=f"{kind}: p99 latency", kind="line", x_label="concurrency", y_label="p99 ms", log_x=True, log_y=True,
            series=[PlotSeries(name=mode, x=[p.concurrency for p in series], y=[p.latency.p99_ms for p in series]) for mode, series in points[kind].items()],
        ))
        result.measurements[kind] = {mode: [p.model_dump() for p in series] for mode, series in points[kind].items()}
        result.measurements[f"{kind}_mean_batch_formed"] = batch_sizes[kind]
    at_goal = [
        (on, off) for on, off in zip(points["text"]["batched"], points["text"]["unbatched"]) if on.concurrency == GOAL_CONCURRENCY
    ]
    if at_goal:
        on, off = at_goal[0]
        result.goals.append(Goal(
            name="dynamic batching, text", statement=f"dynamic batching ≥ 3× text throughput at concurrency {GOAL_CONCURRENCY}",
            measured=round(on.items_per_s / max(off.items_per_s, 1e-9), 2), threshold=3.0,
        ))
    return context.finish(result)
