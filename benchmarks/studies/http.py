"""Study: what the HTTP front end costs. EmbedText over HTTP/JSON (`POST /v1/embeddings`, as the
`openai` client sends it: base64 vectors, and as float lists) against the same text over gRPC, on
one gateway, alternating the paths in rounds at each concurrency."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from benchmarks.calls import embed_text_call, gateway_client, http_embed_text_call
from benchmarks.context import StudyContext
from benchmarks.loadgen import CpuMeter, LoadPoint, Tally, closed_loop
from benchmarks.models import text_encoder_repository
from benchmarks.processes import OwnProcessMeter
from benchmarks.results import Cell, Goal, Table
from benchmarks.workloads import sentences

PATHS = ("grpc", "http base64", "http float")
HTTP_P50_GOAL = 1.3


async def _measure(context: StudyContext, repository: Path) -> tuple[list[LoadPoint], dict[str, list[float]], dict[str, float]]:
    settings = context.settings
    texts = sentences(256, seed=2)
    points: list[LoadPoint] = []
    per_round: dict[str, list[float]] = {}
    with context.stack(repository, "http") as stack:
        meters: dict[str, CpuMeter] = {**stack.meters, "client": OwnProcessMeter()}
        async with gateway_client(stack.gateway_address) as client, httpx.AsyncClient(base_url=stack.gateway_http_url, timeout=600) as http:
            calls = {
                "grpc": embed_text_call(client, texts),
                "http base64": http_embed_text_call(http, texts, "base64"),
                "http float": http_embed_text_call(http, texts, "float"),
            }
            for concurrency in settings.overhead_concurrency:
                tallies: dict[str, list[Tally]] = {path: [] for path in PATHS}
                for round_index in range(settings.rounds):
                    for path in PATHS if round_index % 2 == 0 else PATHS[::-1]:
                        tallies[path].append(await closed_loop(calls[path], concurrency, settings.duration_s, settings.warmup_s, meters))
                points += [Tally().merge_all(tallies[path]).point(path, "closed", concurrency) for path in PATHS]
                for path in PATHS[1:]:
                    per_round[f"{path} / grpc p50, concurrency {concurrency}"] = [
                        http.point(path, "closed", concurrency).latency.p50_ms / grpc.point("grpc", "closed", concurrency).latency.p50_ms
                        for http, grpc in zip(tallies[path], tallies["grpc"])
                    ]
        return points, per_round, stack.peak_rss_mib()


def run(context: StudyContext) -> Path:
    result = context.new_result(
        "http", "HTTP/JSON front end overhead (EmbedText)",
        "How much latency does POST /v1/embeddings add over gRPC EmbedText on the same gateway?",
    )
    repository = text_encoder_repository(context.settings.cache_dir, context.scratch("repositories") / "http")
    points, per_round, result.peak_rss_mib = asyncio.run(_measure(context, repository))
    result.interleaved_rounds = context.settings.rounds
    rows: list[list[Cell]] = [
        [point.concurrency, point.label, point.latency.p50_ms, point.latency.p95_ms, point.latency.p99_ms, point.throughput_rps,
         point.cpu_ms_per_item.get("gateway", 0.0), point.cpu_ms_per_item.get("client", 0.0), sum(point.errors.values())]
        for point in points
    ]
    result.tables.append(Table(
        title="EmbedText, one text per request, closed loop",
        columns=["concurrency", "path", "p50 ms", "p95 ms", "p99 ms", "req/s", "gateway CPU ms/req", "client CPU ms/req", "errors"],
        rows=rows,
    ))
    for concurrency in context.settings.overhead_concurrency:
        result.goals.append(Goal.from_rounds(
            per_round[f"http base64 / grpc p50, concurrency {concurrency}"], name=f"http overhead c={concurrency}", threshold=HTTP_P50_GOAL,
            higher_is_better=False, statement=f"HTTP p50 ≤ {HTTP_P50_GOAL:g}× gRPC p50 (EmbedText, concurrency {concurrency}, openai's base64)",
        ))
    result.measurements["points"] = [point.model_dump() for point in points]
    result.measurements["per_round"] = per_round
    return context.finish(result)
