"""Study 6: end to end, Search by text at 100k indexed rows through client -> gateway (embed the
query on Triton, then Milvus Lite) against EmbedText of the same texts, alternating in rounds:
the difference is what the index adds.

The index is filled directly (bulk insert into the collection the gateway searches, then one
flush) because IndexVideos would embed 5,000 videos first; the rows are synthetic clustered
vectors. Search needs a video model in the text model's embedding space: the ViT-S encoder is
served under that space here (its 384-d output matches MiniLM's), so the hits mean nothing and
the timings mean what they say. Two collections hold the same rows: one with the gateway's
default index on Milvus Lite (FLAT) and one with IVF_FLAT (nlist = 4·√rows; nprobe from
`JEPA_INDEX_SEARCH_PARAMS`), each under its own video model."""

from __future__ import annotations

import asyncio
import json
import math
import shutil
import time
from pathlib import Path

from benchmarks.calls import embed_text_call, gateway_client, search_text_call
from benchmarks.context import StudyContext
from benchmarks.loadgen import CpuMeter, LoadPoint, Tally, closed_loop
from benchmarks.models import ExportedModels, ServedModel, assemble_repository, model_parameters, output_dimension
from benchmarks.processes import OwnProcessMeter
from benchmarks.results import Cell, Goal, Plot, PlotSeries, Table
from benchmarks.workloads import clustered_vectors, sentences
from jepa_server.index.milvus import JSON_FIELD, CollectionSpec, MilvusIndex

# Video model (served in the text space) -> the index type of its collection.
VIDEO_MODELS = {"video_flat": "FLAT", "video_ivf_flat": "IVF_FLAT"}
SEARCH_PARAMS = {"nprobe": 32}
WINDOWS_PER_VIDEO = 20
INSERT_BATCH = 2000


async def fill_index(uri: Path, spec: CollectionSpec, rows: int, index_type: str) -> float:
    """Create the collection as the gateway would, bulk-insert `rows` windows, flush; seconds taken."""
    build_params = {"nlist": max(16, int(4 * math.sqrt(rows)))} if index_type == "IVF_FLAT" else {}
    index = MilvusIndex(str(uri), index_type, build_params=build_params)
    vectors = clustered_vectors(rows, spec.dimension, seed=11)

    def job(client) -> None:
        index._open(client, spec, create=True)  # the adapter's own schema and index
        for start in range(0, rows, INSERT_BATCH):
            client.insert(spec.name, [
                {"id": f"v{row // WINDOWS_PER_VIDEO}#{row % WINDOWS_PER_VIDEO}", "video_id": f"v{row // WINDOWS_PER_VIDEO}",
                 "window_index": row % WINDOWS_PER_VIDEO, "start_seconds": float(row % WINDOWS_PER_VIDEO), "end_seconds": float(row % WINDOWS_PER_VIDEO + 1),
                 "embedding": vectors[row].tolist(), JSON_FIELD: {}}
                for row in range(start, min(start + INSERT_BATCH, rows))
            ])
        client.flush(spec.name)

    started = time.perf_counter()
    try:
        await index._run(job)
    finally:
        await index.close()
    return time.perf_counter() - started


async def _measure(context: StudyContext, repository: Path, index_uri: Path) -> tuple[list[LoadPoint], dict[str, float]]:
    settings = context.settings
    texts = sentences(256, seed=4)
    environment = {"JEPA_INDEX_URI": str(index_uri), "JEPA_INDEX_SEARCH_PARAMS": json.dumps(SEARCH_PARAMS)}
    with context.stack(repository, "search", environment) as stack:
        meters: dict[str, CpuMeter] = {**stack.meters, "client": OwnProcessMeter()}
        async with gateway_client(stack.gateway_address) as client:
            calls = {f"Search, {index_type}": search_text_call(client, texts, model) for model, index_type in VIDEO_MODELS.items()}
            calls["EmbedText"] = embed_text_call(client, texts)
            tallies = {path: Tally() for path in calls}
            for _ in range(settings.rounds):
                for path, call in calls.items():
                    tallies[path].merge(await closed_loop(call, 1, settings.duration_s, settings.warmup_s, meters))
        return [tally.point(path, "closed", 1) for path, tally in tallies.items()], stack.peak_rss_mib()


def run(context: StudyContext) -> Path:
    settings = context.settings
    rows = max(settings.index_sizes)
    result = context.new_result(
        "search", "End to end: Search by text",
        f"How long does Search by text take through the gateway with {rows:,} rows indexed on Milvus Lite?",
    )
    text = ExportedModels(preset=None, text=True).repository(settings.cache_dir)
    video = ExportedModels(preset=settings.preset, crop_size=settings.video_crops[0]).repository(settings.cache_dir)
    text_parameters = model_parameters(text / "text_encoder")
    text_space = {"jepa.embedding_space": text_parameters["jepa.embedding_space"]}
    repository = assemble_repository(context.scratch("repositories") / "search", [
        ServedModel(source=text / "text_encoder", name="text_encoder"),
        *(ServedModel(source=video / "vjepa2_encoder", name=model, parameters=text_space) for model in VIDEO_MODELS),
    ])
    dimension = output_dimension(repository / "video_flat", "clip_embedding")
    if dimension != output_dimension(repository / "text_encoder", "text_embedding"):
        raise ValueError(f"preset: {settings.preset} embeds in {dimension} dimensions, the text model in another; search needs vit-s (384)")
    index_uri = context.scratch("search-index") / "index.db"
    shutil.rmtree(index_uri.parent, ignore_errors=True)
    fill_seconds = {
        index_type: asyncio.run(fill_index(index_uri, CollectionSpec(model=model, version="1", dimension=dimension, embedding_space=text_parameters["jepa.embedding_space"]), rows, index_type))
        for model, index_type in VIDEO_MODELS.items()
    }
    points, result.peak_rss_mib = asyncio.run(_measure(context, repository, index_uri))
    shutil.rmtree(index_uri.parent)  # hundreds of MB, rebuilt by every run
    embed = points[-1]
    rows_per_call: list[list[Cell]] = [
        [p.label, p.latency.p50_ms, p.latency.p95_ms, p.latency.p99_ms, p.throughput_rps, p.cpu_ms_per_item.get("gateway", 0.0),
         p.cpu_ms_per_item.get("triton", 0.0), sum(p.errors.values())] for p in points
    ]
    result.tables.append(Table(
        title=f"concurrency 1, {settings.rounds} alternating rounds of {settings.duration_s:g} s, top 10 videos of {rows:,} rows ({rows // WINDOWS_PER_VIDEO:,} videos)",
        columns=["call", "p50 ms", "p95 ms", "p99 ms", "req/s", "gateway CPU ms/req", "triton CPU ms/req", "errors"],
        rows=rows_per_call
        + [[f"{search.label} − EmbedText (the index)", round(search.latency.p50_ms - embed.latency.p50_ms, 2), None,
            round(search.latency.p99_ms - embed.latency.p99_ms, 2), None, None, None, None] for search in points[:-1]],
    ))
    result.plots.append(Plot(title="latency", kind="bar", x_label="quantile", y_label="ms",
                             series=[PlotSeries(name=p.label, x=["p50", "p95", "p99"], y=[p.latency.p50_ms, p.latency.p95_ms, p.latency.p99_ms]) for p in points]))
    for search in points[:-1]:
        result.goals.append(Goal(name=search.label, statement=f"text search p50 ≤ 100 ms at {rows:,} rows, end to end ({search.label.split(', ')[1]})",
                                 measured=search.latency.p50_ms, threshold=100.0, higher_is_better=False, unit=" ms"))
    result.notes += [f"{index_type} collection filled with {rows:,} rows (bulk insert + one flush) in {seconds:.0f} s before the gateway started"
                     for index_type, seconds in fill_seconds.items()]
    result.notes.append(f"gateway search parameters: JEPA_INDEX_SEARCH_PARAMS={json.dumps(SEARCH_PARAMS)} (used by IVF_FLAT, ignored by FLAT)")
    result.measurements["points"] = [p.model_dump() for p in points]
    return context.finish(result)
