"""Study 3: what the gateway costs. EmbedText through client -> gateway -> Triton against the
same text sent straight to Triton with tritonclient (tokenized up front, as the gateway would),
alternating the two paths in rounds, closed loop and at fixed arrival rates."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Literal

import tritonclient.grpc.aio as triton_grpc

from benchmarks.calls import embed_text_call, gateway_client, triton_text_call
from benchmarks.context import StudyContext
from benchmarks.loadgen import CpuMeter, LoadPoint, Tally, closed_loop, open_loop
from benchmarks.models import model_tokenizer, text_encoder_repository
from benchmarks.processes import OwnProcessMeter
from benchmarks.results import Cell, Goal, Plot, PlotSeries, Table
from benchmarks.workloads import sentences

PATHS = ("gateway", "direct")
GATEWAY_P50_GOAL = 1.2
# Between requests an idle runtime must not burn CPU (spinning threads): open loop vs closed loop.
IDLE_CPU_GOAL = 1.5


async def _measure(context: StudyContext, repository: Path) -> tuple[list[LoadPoint], dict[str, list[float]], dict[str, float]]:
    """Points merged over the rounds, and per load the per-round values of the goals' ratios."""
    settings = context.settings
    tokenizer = model_tokenizer(repository / "text_encoder")
    texts = sentences(256, seed=1)
    points: list[LoadPoint] = []
    per_round: dict[str, list[float]] = {}
    with context.stack(repository, "gateway") as stack:
        meters: dict[str, CpuMeter] = {**stack.meters, "client": OwnProcessMeter()}
        direct_client = triton_grpc.InferenceServerClient(stack.triton_grpc_url)
        async with gateway_client(stack.gateway_address) as client:
            calls = {"gateway": embed_text_call(client, texts), "direct": triton_text_call(direct_client, "text_encoder", tokenizer, texts)}
            loads: list[tuple[Literal["closed", "open"], int, float]] = [("closed", concurrency, 0.0) for concurrency in settings.overhead_concurrency]
            loads += [("open", 0, rate) for rate in settings.open_loop_rates]
            for mode, concurrency, rate in loads:
                tallies: dict[str, list[Tally]] = {path: [] for path in PATHS}
                for round_index in range(settings.rounds):
                    for path in PATHS if round_index % 2 == 0 else PATHS[::-1]:
                        if mode == "closed":
                            tally = await closed_loop(calls[path], concurrency, settings.duration_s, settings.warmup_s, meters)
                        else:
                            tally = await open_loop(calls[path], rate, settings.duration_s, settings.warmup_s, meters)
                        tallies[path].append(tally)
                merged = {path: Tally().merge_all(tallies[path]).point(path, mode, concurrency, rate or None) for path in PATHS}
                points += [merged[path] for path in PATHS]
                label = _load_label(merged["gateway"])
                rounds = {path: [tally.point(path, mode, concurrency, rate or None) for tally in tallies[path]] for path in PATHS}
                per_round[f"p50 {label}"] = [g.latency.p50_ms / d.latency.p50_ms for g, d in zip(rounds["gateway"], rounds["direct"])]
                per_round[f"triton cpu {label}"] = [g.cpu_ms_per_item.get("triton", 0.0) for g in rounds["gateway"]]
        await direct_client.close()
        return points, per_round, stack.peak_rss_mib()


def _load_label(point: LoadPoint) -> str:
    return f"closed, concurrency {point.concurrency}" if point.mode == "closed" else f"open, {point.target_rate_rps:g} req/s"


def run(context: StudyContext) -> Path:
    result = context.new_result(
        "gateway", "Gateway overhead (EmbedText)",
        "How much latency does the gateway add over calling Triton directly with tritonclient?",
    )
    repository = text_encoder_repository(context.settings.cache_dir, context.scratch("repositories") / "gateway")
    points, per_round, result.peak_rss_mib = asyncio.run(_measure(context, repository))
    result.interleaved_rounds = context.settings.rounds
    rows: list[list[Cell]] = []
    for gateway, direct in zip(points[::2], points[1::2]):
        for point in (gateway, direct):
            rows.append([
                _load_label(point), point.label, point.latency.p50_ms, point.latency.p95_ms, point.latency.p99_ms, point.throughput_rps,
                point.cpu_ms_per_item.get("gateway", 0.0), point.cpu_ms_per_item.get("triton", 0.0), point.cpu_ms_per_item.get("client", 0.0),
                sum(point.errors.values()),
            ])
        rows.append([_load_label(gateway), "gateway / direct", round(gateway.latency.p50_ms / direct.latency.p50_ms, 2),
                     round(gateway.latency.p95_ms / direct.latency.p95_ms, 2), round(gateway.latency.p99_ms / direct.latency.p99_ms, 2),
                     round(gateway.throughput_rps / direct.throughput_rps, 2), None, None, None, None])
    result.tables.append(Table(
        title="EmbedText, one text per request",
        columns=["load", "path", "p50 ms", "p95 ms", "p99 ms", "req/s", "gateway CPU ms/req", "triton CPU ms/req", "client CPU ms/req", "errors"],
        rows=rows,
    ))
    labels: list[float | str] = [_load_label(point) for point in points[::2]]
    for quantile in ("p50_ms", "p99_ms"):
        result.plots.append(Plot(
            title=f"EmbedText {quantile.removesuffix('_ms')} latency", kind="bar", x_label="load", y_label=quantile.replace("_", " "),
            series=[PlotSeries(name=path, x=labels, y=[getattr(p.latency, quantile) for p in points if p.label == path]) for path in PATHS],
        ))
    result.measurements["points"] = [point.model_dump() for point in points]
    first = _load_label(points[0])
    result.goals.append(Goal.from_rounds(
        per_round[f"p50 {first}"], name="gateway overhead", threshold=GATEWAY_P50_GOAL, higher_is_better=False,
        statement=f"gateway p50 ≤ {GATEWAY_P50_GOAL:g}× direct Triton ({first})",
    ))
    open_label = next((label.removeprefix("triton cpu ") for label in per_round if label.startswith("triton cpu open, 10 ")), None)
    if open_label is not None:
        idle_cost = [opened / closed for opened, closed in zip(per_round[f"triton cpu {open_label}"], per_round[f"triton cpu {first}"])]
        result.goals.append(Goal.from_rounds(
            idle_cost, name="triton cpu open loop", threshold=IDLE_CPU_GOAL, higher_is_better=False,
            statement=f"Triton CPU per request at {open_label.removeprefix('open, ')} ≤ {IDLE_CPU_GOAL:g}× its closed-loop CPU per request ({first})",
        ))
    result.measurements["per_round"] = per_round
    return context.finish(result)
