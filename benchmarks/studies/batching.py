"""Study 2: Triton's dynamic batching vs none: the same exported model served twice (with and
without the `dynamic_batching` block, the same instances and threads), text and video, across
the concurrency sweep. In every round each concurrency measures both, in alternating order, and
the runtime alone (this process, batch 1 vs batch 32: the most any batcher can gain) is measured
between the served points, so all three see the same machine."""

from __future__ import annotations

import asyncio
import statistics
from pathlib import Path

import numpy as np

from benchmarks.calls import embed_text_call, embed_video_call, gateway_client
from benchmarks.context import StudyContext
from benchmarks.loadgen import Tally, closed_loop
from benchmarks.models import ExportedModels, ServedModel, assemble_repository, client_frames, model_parameters, model_tokenizer, served_layout, served_version_dir
from benchmarks.processes import ServedStack
from benchmarks.results import Cell, Goal, Plot, PlotSeries, Table
from benchmarks.triton_metrics import inference_counts, mean_batch_size
from benchmarks.workloads import sentences
from jepa_export.tuning import measure_layout

GOAL_CONCURRENCY = 32
# The goal: batched / unbatched throughput at GOAL_CONCURRENCY reaches this share of the ceiling.
CEILING_SHARE = 0.9
CEILING_BATCH = 32
MODES = ("batched", "unbatched")


def _repository(context: StudyContext) -> Path:
    settings = context.settings
    text = ExportedModels(preset=None, text=True).repository(settings.cache_dir)
    video = ExportedModels(preset=settings.preset, crop_size=settings.video_crops[0]).repository(settings.cache_dir)
    models = []
    for kind, source in (("text", text / "text_encoder"), ("video", video / "vjepa2_encoder")):
        models += [ServedModel(source=source, name=f"{kind}_batched"), ServedModel(source=source, name=f"{kind}_unbatched", dynamic_batching=False)]
    return assemble_repository(context.scratch("repositories") / "batching", models)


def _ceiling(repository: Path, seconds: float) -> float:
    """Runtime alone, text, per-item time at batch 1 over batch 32 (same layout, same grouping)."""
    model_dir = repository / "text_batched"
    instances, threads = served_layout(model_dir)
    version_dir = served_version_dir(model_dir)
    tokenizer, texts = model_tokenizer(model_dir), sentences(256, seed=3)

    def batches(size: int) -> list[dict[str, np.ndarray]]:
        encoded = (tokenizer.encode(texts[start : start + size]) for start in range(0, len(texts), size))
        return [{"input_ids": tokens.input_ids, "attention_mask": tokens.attention_mask} for tokens in encoded]

    single, batched = (measure_layout(version_dir, ["text_embedding"], batches(size), instances, threads, seconds) for size in (1, CEILING_BATCH))
    return batched.items_per_s / single.items_per_s


async def _served_round(context: StudyContext, stack: ServedStack, repository: Path, round_index: int) -> tuple[dict[str, dict[str, list[Tally]]], dict[str, list[float]]]:
    settings = context.settings
    tallies: dict[str, dict[str, list[Tally]]] = {kind: {mode: [] for mode in MODES} for kind in ("text", "video")}
    batch_sizes: dict[str, list[float]] = {"text": [], "video": []}
    async with gateway_client(stack.gateway_address) as client:
        calls = {
            "text": {mode: embed_text_call(client, sentences(512), model=f"text_{mode}") for mode in MODES},
            "video": {mode: embed_video_call(client, client_frames(repository / "video_batched"), model=f"video_{mode}") for mode in MODES},
        }
        for kind, duration_s, concurrencies in (
            ("text", settings.duration_s, settings.concurrency_sweep), ("video", settings.video_duration_s, settings.video_concurrency_sweep)
        ):
            for position, concurrency in enumerate(concurrencies):
                # Alternate which goes first, so neither always inherits the other's leftovers.
                for mode in MODES if (position + round_index) % 2 == 0 else MODES[::-1]:
                    before = inference_counts(stack.triton_metrics_url)
                    tally = await closed_loop(calls[kind][mode], concurrency, duration_s, settings.warmup_s, stack.meters)
                    if mode == "batched":
                        batch_sizes[kind].append(mean_batch_size(before, inference_counts(stack.triton_metrics_url), f"{kind}_batched"))
                    tallies[kind][mode].append(tally)
    return tallies, batch_sizes


def run(context: StudyContext) -> Path:
    settings = context.settings
    result = context.new_result(
        "batching", "Dynamic batching vs none",
        "How much throughput does Triton's dynamic batcher add, the same model served with and without it?",
    )
    repository = _repository(context)
    sweeps = {"text": settings.concurrency_sweep, "video": settings.video_concurrency_sweep}
    rounds: list[dict[str, dict[str, list[Tally]]]] = []
    batch_sizes: list[dict[str, list[float]]] = []
    ceilings: list[float] = []
    with context.stack(repository, "batching") as stack:
        for round_index in range(settings.rounds):
            ceilings.append(_ceiling(repository, settings.duration_s))
            tallies, formed = asyncio.run(_served_round(context, stack, repository, round_index))
            rounds.append(tallies)
            batch_sizes.append(formed)
        result.peak_rss_mib = stack.peak_rss_mib()
    result.interleaved_rounds = settings.rounds

    for kind, unit in (("text", "texts/s"), ("video", "clips/s")):
        merged = {
            mode: [
                Tally().merge_all(round_tallies[kind][mode][index] for round_tallies in rounds).point(f"{kind} {mode}", "closed", concurrency)
                for index, concurrency in enumerate(sweeps[kind])
            ]
            for mode in MODES
        }
        rows: list[list[Cell]] = []
        for index, (on, off) in enumerate(zip(merged["batched"], merged["unbatched"])):
            per_round = [r[kind]["batched"][index].items / max(r[kind]["unbatched"][index].items, 1) for r in rounds]
            rows.append([
                on.concurrency, on.items_per_s, off.items_per_s, round(statistics.median(per_round), 2), ", ".join(f"{v:.2f}" for v in per_round),
                f"{on.latency.p50_ms:.1f} / {on.latency.p99_ms:.1f}", f"{off.latency.p50_ms:.1f} / {off.latency.p99_ms:.1f}",
                round(statistics.median(formed[kind][index] for formed in batch_sizes), 2),
                f"{on.cpu_ms_per_item.get('triton', 0.0):.1f} / {off.cpu_ms_per_item.get('triton', 0.0):.1f}",
                sum(on.errors.values()) + sum(off.errors.values()),
            ])
            if kind == "text" and on.concurrency == GOAL_CONCURRENCY:
                result.goals.append(Goal.from_rounds(
                    [ratio / ceiling for ratio, ceiling in zip(per_round, ceilings)], name="dynamic batching, text", threshold=CEILING_SHARE, unit="",
                    statement=f"dynamic batching's text gain at concurrency {GOAL_CONCURRENCY} ≥ {CEILING_SHARE:g} × the runtime-alone ceiling (batch {CEILING_BATCH} vs 1, same run)",
                ))
        result.tables.append(Table(
            title=f"{kind}: {unit} by concurrency (all rounds)",
            columns=["concurrency", f"batched {unit}", f"unbatched {unit}", "ratio (median of rounds)", "per round", "batched p50/p99 ms", "unbatched p50/p99 ms", "mean batch formed", "Triton CPU ms/item batched / unbatched", "errors"],
            rows=rows,
        ))
        result.plots.append(Plot(
            title=f"{kind}: throughput", kind="line", x_label="concurrency", y_label=unit, log_x=True,
            series=[PlotSeries(name=mode, x=[p.concurrency for p in series], y=[p.items_per_s for p in series]) for mode, series in merged.items()],
        ))
        result.measurements[kind] = {mode: [p.model_dump() for p in series] for mode, series in merged.items()}
    result.tables.append(Table(
        title=f"text: runtime alone, items/s at batch {CEILING_BATCH} over batch 1 (the most any batcher can gain here)",
        columns=["round", "ceiling"], rows=[[index + 1, round(ceiling, 3)] for index, ceiling in enumerate(ceilings)],
    ))
    result.measurements["text_ceiling"] = ceilings
    result.measurements["layout"] = served_layout(repository / "text_batched")
    result.measurements["video_parameters"] = model_parameters(repository / "video_batched")
    return context.finish(result)
