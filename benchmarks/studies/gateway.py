"""Study 3: what the gateway costs. EmbedText through client -> gateway -> Triton against the
same text sent straight to Triton with tritonclient (tokenized up front, as the gateway would),
alternating the two paths in rounds, closed loop and at fixed arrival rates."""

from __future__ import annotations

import asyncio
from pathlib import Path

import tritonclient.grpc.aio as triton_grpc

from benchmarks.calls import embed_text_call, gateway_client, triton_text_call
from benchmarks.context import StudyContext
from benchmarks.loadgen import LoadPoint, Tally, closed_loop, open_loop
from benchmarks.models import ExportedModels, ServedModel, assemble_repository, model_tokenizer
from benchmarks.processes import OwnProcessMeter
from benchmarks.results import Goal, Plot, PlotSeries, Table
from benchmarks.workloads import sentences

PATHS = ("gateway", "direct")


async def _measure(context: StudyContext, repository: Path) -> tuple[list[LoadPoint], dict[str, float]]:
    settings = context.settings
    tokenizer = model_tokenizer(repository / "text_encoder")
    texts = sentences(256, seed=1)
    points: list[LoadPoint] = []
    with context.stack(repository, "gateway") as stack:
        meters = {**stack.meters, "client": OwnProcessMeter()}
        direct_client = triton_grpc.InferenceServerClient(stack.triton_grpc_url)
        async with gateway_client(stack.gateway_address) as client:
            calls = {"gateway": embed_text_call(client, texts), "direct": triton_text_call(direct_client, "text_encoder", tokenizer, texts)}
            for concurrency in settings.overhead_concurrency:
                tallies = {path: Tally() for path in PATHS}
                for _ in range(settings.rounds):
                    for path in PATHS:
                        tallies[path].merge(await closed_loop(calls[path], concurrency, settings.duration_s, settings.warmup_s, meters))
                points += [tallies[path].point(path, "closed", concurrency) for path in PATHS]
            for rate in settings.open_loop_rates:
                tallies = {path: Tally() for path in PATHS}
                for _ in range(settings.rounds):
                    for path in PATHS:
                        tallies[path].merge(await open_loop(calls[path], rate, settings.duration_s, settings.warmup_s, meters))
                points += [tallies[path].point(path, "open", 0, rate) for path in PATHS]
        await direct_client.close()
        return points, stack.peak_rss_mib()


def _load_label(point: LoadPoint) -> str:
    return f"closed, concurrency {point.concurrency}" if point.mode == "closed" else f"open, {point.target_rate_rps:g} req/s"


def run(context: StudyContext) -> Path:
    result = context.new_result(
        "gateway", "Gateway overhead (EmbedText)",
        "How much latency does the gateway add over calling Triton directly with tritonclient?",
    )
    text = ExportedModels(preset=None, text=True).repository(context.settings.cache_dir)
    repository = assemble_repository(context.scratch("repositories") / "gateway", [ServedModel(source=text / "text_encoder", name="text_encoder")])
    points, result.peak_rss_mib = asyncio.run(_measure(context, repository))
    rows = []
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
    labels = [_load_label(point) for point in points[::2]]
    for quantile in ("p50_ms", "p99_ms"):
        result.plots.append(Plot(
            title=f"EmbedText {quantile.removesuffix('_ms')} latency", kind="bar", x_label="load", y_label=quantile.replace("_", " "),
            series=[PlotSeries(name=path, x=labels, y=[getattr(p.latency, quantile) for p in points if p.label == path]) for path in PATHS],
        ))
    result.measurements["points"] = [point.model_dump() for point in points]
    first_gateway, first_direct = points[0], points[1]
    result.goals.append(Goal(
        name="gateway overhead", statement=f"gateway p50 ≤ 1.5× direct Triton ({_load_label(first_gateway)})",
        measured=round(first_gateway.latency.p50_ms / first_direct.latency.p50_ms, 2), threshold=1.5, higher_is_better=False,
    ))
    return context.finish(result)
