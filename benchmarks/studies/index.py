"""Study 5: the index. Ingest rate and search latency on Milvus Lite (the embedded default) at
each size, against numpy brute force over the same vectors, which is also the ground truth
for recall@10. Vectors are clustered (as real embeddings are) and queries are fresh draws from
the same clusters, never rows of the index.

Milvus Lite searches rows that are still in a growing (unflushed) segment by scanning them at
about 0.1 ms of CPU per row, so the engine rows are measured after a flush (sealed, indexed),
and a second part measures the gateway's own adapter (`MilvusIndex`, which never flushes) as
IndexVideos writes: one replace per video, then searches over the unflushed rows."""

from __future__ import annotations

import asyncio
import math
import shutil
import statistics
import time
from pathlib import Path

import numpy as np
from pymilvus import DataType, MilvusClient

from jepa_server.index.milvus import CollectionSpec, MilvusIndex, WindowRow

from benchmarks.context import StudyContext
from benchmarks.results import Cell, Goal, Plot, PlotSeries, Table
from benchmarks.workloads import clustered_vectors

DIMENSION = 384
TOP_K = 10
INSERT_BATCH = 1000
INDEX_TYPES = ("FLAT", "IVF_FLAT")
GOAL_ROWS = 100_000
# The adapter part: rows written as IndexVideos writes them (kept small: its cost grows with the rows).
ADAPTER_VIDEOS, WINDOWS_PER_VIDEO = 50, 20
ADAPTER_SPEC = CollectionSpec(model="bench_video", version="1", dimension=DIMENSION, embedding_space="bench")


def _quantiles_ms(seconds: list[float]) -> tuple[float, float]:
    ordered = sorted(seconds)
    return round(statistics.median(ordered) * 1000, 2), round(ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)] * 1000, 2)


def brute_force(vectors: np.ndarray, queries: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """Exact top-k by inner product (vectors are normalised: cosine), one query at a time."""
    results, latencies = [], []
    for query in queries:
        started = time.perf_counter()
        scores = vectors @ query
        top = np.argpartition(-scores, TOP_K)[:TOP_K]
        results.append(top[np.argsort(-scores[top])])
        latencies.append(time.perf_counter() - started)
    return np.stack(results), latencies


def milvus_lite(path: Path, index_type: str, vectors: np.ndarray, queries: np.ndarray) -> tuple[float, np.ndarray, list[float], dict[str, int]]:
    """Rows ingested per second (insert + index + load), top-k ids and per-query latencies."""
    shutil.rmtree(path.parent, ignore_errors=True)
    path.parent.mkdir(parents=True)
    client = MilvusClient(str(path))
    try:
        schema = client.create_schema(auto_id=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("embedding", DataType.FLOAT_VECTOR, dim=vectors.shape[1])
        nlist = max(16, int(4 * math.sqrt(len(vectors))))
        search_params = {"nprobe": 32} if index_type == "IVF_FLAT" else {}
        index_params = client.prepare_index_params()
        index_params.add_index("embedding", index_type=index_type, metric_type="COSINE", params={"nlist": nlist} if index_type == "IVF_FLAT" else {})
        started = time.perf_counter()
        client.create_collection("bench", schema=schema, index_params=index_params)
        for start in range(0, len(vectors), INSERT_BATCH):
            rows = [{"id": start + offset, "embedding": vector} for offset, vector in enumerate(vectors[start : start + INSERT_BATCH])]
            client.insert("bench", rows)
        client.flush("bench")
        client.load_collection("bench")
        ingest_rows_per_s = len(vectors) / (time.perf_counter() - started)
        ids, latencies = [], []
        for query in queries:
            started = time.perf_counter()
            hits = client.search("bench", data=[query], limit=TOP_K, anns_field="embedding", search_params={"metric_type": "COSINE", "params": search_params})
            latencies.append(time.perf_counter() - started)
            ids.append([hit["id"] for hit in hits[0]] + [-1] * (TOP_K - len(hits[0])))
        return ingest_rows_per_s, np.asarray(ids), latencies, {"nlist": nlist, **search_params} if index_type == "IVF_FLAT" else {}
    finally:
        client.close()


async def adapter_as_served(path: Path, vectors: np.ndarray, queries: np.ndarray) -> tuple[float, list[float], list[float], float]:
    """MilvusIndex on Milvus Lite as the gateway drives it: rows/s of replace_video (delete + insert
    per video), search latencies over the unflushed rows, the flush time, and latencies after it."""
    shutil.rmtree(path.parent, ignore_errors=True)
    index = MilvusIndex(str(path))
    try:
        started = time.perf_counter()
        for video in range(len(vectors) // WINDOWS_PER_VIDEO):
            rows = vectors[video * WINDOWS_PER_VIDEO : (video + 1) * WINDOWS_PER_VIDEO]
            await index.replace_video(ADAPTER_SPEC, f"v{video}", [WindowRow(i, float(i), float(i + 1), row) for i, row in enumerate(rows)], {})
        ingest_rows_per_s = len(vectors) / (time.perf_counter() - started)

        async def searches() -> list[float]:
            latencies = []
            for query in queries:
                began = time.perf_counter()
                await index.search(ADAPTER_SPEC, query, TOP_K)
                latencies.append(time.perf_counter() - began)
            return latencies

        unflushed = await searches()
        began = time.perf_counter()
        await index._run(lambda client: client.flush(ADAPTER_SPEC.name))  # the flush the adapter does not do
        flush_s = time.perf_counter() - began
        return ingest_rows_per_s, unflushed, await searches(), flush_s
    finally:
        await index.close()


def recall_at_k(found: np.ndarray, exact: np.ndarray) -> float:
    return round(float(np.mean([len(set(f) & set(e)) / TOP_K for f, e in zip(found, exact)])), 4)


def run(context: StudyContext) -> Path:
    settings = context.settings
    result = context.new_result(
        "index", "Index: Milvus Lite vs numpy brute force",
        f"How fast is ingest and top-{TOP_K} search on Milvus Lite at each size, and how good is recall@{TOP_K} against exact search?",
    )
    largest = max(settings.index_sizes)
    everything = clustered_vectors(largest + settings.index_queries, DIMENSION, seed=5)
    corpus, queries = everything[:largest], everything[largest:]
    rows: list[list[Cell]]
    latency_series: dict[str, list[float]]
    rows, latency_series = [], {}
    for size in settings.index_sizes:
        vectors = corpus[:size]
        exact, numpy_latencies = brute_force(vectors, queries)
        numpy_p50, numpy_p99 = _quantiles_ms(numpy_latencies)
        rows.append([size, "numpy brute force", None, numpy_p50, numpy_p99, 1.0, ""])
        latency_series.setdefault("numpy brute force", []).append(numpy_p50)
        for index_type in INDEX_TYPES:
            ingest, found, latencies, parameters = milvus_lite(context.scratch("index") / f"{size}_{index_type}" / "index.db", index_type, vectors, queries)
            p50, p99 = _quantiles_ms(latencies)
            recall = recall_at_k(found, exact)
            name = f"Milvus Lite {index_type} (flushed)"
            rows.append([size, name, round(ingest), p50, p99, recall, ", ".join(f"{k}={v}" for k, v in parameters.items())])
            latency_series.setdefault(name, []).append(p50)
            result.measurements[f"{size}_{index_type}"] = {"ingest_rows_per_s": ingest, "search_latencies_s": latencies, "recall_at_10": recall}
            if size == GOAL_ROWS:
                result.goals.append(Goal(name=f"search p50, {index_type}", statement=f"search p50 ≤ 100 ms at {size:,} rows ({index_type} on Milvus Lite, flushed, index only)",
                                         measured=p50, threshold=100.0, higher_is_better=False, unit=" ms"))
                result.goals.append(Goal(name=f"recall@10, {index_type}", statement=f"recall@10 ≥ 0.95 at {size:,} rows ({index_type} on Milvus Lite)",
                                         measured=recall, threshold=0.95, unit=""))
        result.measurements[f"{size}_numpy"] = {"search_latencies_s": numpy_latencies}
    rows_written = ADAPTER_VIDEOS * WINDOWS_PER_VIDEO
    ingest, unflushed, flushed, flush_s = asyncio.run(
        adapter_as_served(context.scratch("index") / "adapter" / "index.db", corpus[:rows_written], queries[: max(5, settings.index_queries // 10)])
    )
    result.tables.append(Table(
        title=f"the gateway's MilvusIndex on Milvus Lite, {ADAPTER_VIDEOS} videos x {WINDOWS_PER_VIDEO} windows written one video at a time",
        columns=["rows", "ingest rows/s (replace_video)", "search p50 ms, unflushed", "search p99 ms, unflushed", "flush s", "search p50 ms, after flush", "search p99 ms, after flush"],
        rows=[[rows_written, round(ingest, 1), *_quantiles_ms(unflushed), round(flush_s, 2), *_quantiles_ms(flushed)]],
    ))
    result.measurements["adapter"] = {"ingest_rows_per_s": ingest, "unflushed_latencies_s": unflushed, "flushed_latencies_s": flushed, "flush_s": flush_s}
    result.tables.append(Table(
        title=f"Milvus Lite engine after flush vs numpy: {DIMENSION}-d cosine, top-{TOP_K}, {settings.index_queries} queries one at a time",
        columns=["rows", "engine", "ingest rows/s", "search p50 ms", "search p99 ms", f"recall@{TOP_K}", "parameters"], rows=rows,
    ))
    shutil.rmtree(context.scratch("index"))  # hundreds of MB, rebuilt by every run
    result.plots.append(Plot(title="search p50 by index size", kind="line", x_label="rows", y_label="p50 ms", log_x=True, log_y=True,
                             series=[PlotSeries(name=name, x=list(settings.index_sizes), y=values) for name, values in latency_series.items()]))
    return context.finish(result)
