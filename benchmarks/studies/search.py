"""Study 6: search at size, on each index backend, with the index filled the way users fill it.

Each backend's index is filled through IndexVideos only (the gateway's real write path: windows
embedded on Triton, written by the gateway, sealed per call), then the gateway is restarted over
it (seconds until RetrievalService is SERVING again), then Search by text runs end to end (embed
the query on Triton, then the index) against EmbedText of the same texts, alternating in rounds:
the difference is what the index adds. Milvus Lite holds 100,000 rows; the Milvus server
(2.3.5 standalone, benchmarks/milvus_server.py) 1,000,000.

The video model is the pooled stand-in (benchmarks/standin.py), served in the text model's
embedding space at its 384 dimensions: it costs next to nothing, so the ingest rate is that of the
gateway and the index, not of a video encoder, and the hits mean nothing. Clients send frames
(no decoding); each video is `WINDOWS_PER_VIDEO` windows drawn around a few hundred centres, so
that the vectors cluster as real ones do.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import numpy as np
from pydantic import BaseModel
from tqdm import tqdm

from benchmarks.calls import embed_text_call, gateway_client, search_text_call
from benchmarks.context import StudyContext
from benchmarks.loadgen import CpuMeter, LoadPoint, Tally, closed_loop
from benchmarks.milvus_server import MILVUS_SERVER_VERSION, MilvusStandalone
from benchmarks.models import ExportedModels, ServedModel, assemble_repository, model_parameters
from benchmarks.processes import OwnProcessMeter, ServedStack
from benchmarks.results import Goal, Plot, PlotSeries, Table
from benchmarks.standin import GRID, standin_video_model
from benchmarks.workloads import sentences
from jepa_client import Client, ClientOptions, IndexItem

VIDEO_MODEL = "video_standin"
FRAMES, CROP, DIMENSION = 2, 32, 384
WINDOWS_PER_VIDEO = 20
VIDEOS_PER_CALL = 32
CALLS_IN_FLIGHT = 2
CENTRES = 256


def video_frames(video: int, centres: np.ndarray) -> np.ndarray:
    """(WINDOWS_PER_VIDEO * FRAMES, CROP, CROP, 3) uint8: each window a centre's 8 x 8 image plus
    noise, upsampled to the crop, so the stand-in's pooled grid is that image."""
    rng = np.random.default_rng(video)
    picks = centres[rng.integers(0, len(centres), size=WINDOWS_PER_VIDEO)]
    grids = np.clip(picks + rng.normal(0, 12, size=picks.shape), 0, 255)
    cells = np.repeat(np.repeat(grids, CROP // GRID, axis=1), CROP // GRID, axis=2).astype(np.uint8)
    return np.repeat(cells, FRAMES, axis=0)


def fill(address: str, videos: int, label: str) -> float:
    """Index `videos` videos through IndexVideos, `CALLS_IN_FLIGHT` calls of `VIDEOS_PER_CALL`
    at a time; seconds taken. A failed item fails the study."""
    centres = np.random.default_rng(3).uniform(0, 255, size=(CENTRES, GRID, GRID, 3))
    progress = tqdm(total=videos, desc=f"IndexVideos into {label}", unit="video")
    lock = threading.Lock()

    def batch(first: int) -> Iterator[IndexItem]:
        for video in range(first, min(first + VIDEOS_PER_CALL, videos)):
            yield IndexItem(f"v{video:07d}", video_frames(video, centres), frames_fps=8)

    def one_call(client: Client, first: int) -> None:
        report = client.index_videos(batch(first))
        if failed := [item for item in report.items if not item.ok]:
            raise RuntimeError(f"IndexVideos failed for {failed[0].id}: {failed[0].error}")
        with lock:
            progress.update(len(report.items))

    started = time.perf_counter()
    with Client(ClientOptions(address=address, timeout=600.0)) as client, ThreadPoolExecutor(CALLS_IN_FLIGHT) as pool:
        for future in [pool.submit(one_call, client, first) for first in range(0, videos, VIDEOS_PER_CALL)]:
            future.result()
    progress.close()
    return time.perf_counter() - started


async def measure_search(context: StudyContext, stack: ServedStack) -> tuple[LoadPoint, LoadPoint]:
    """(Search by text, EmbedText) at concurrency 1, in alternating rounds."""
    settings = context.settings
    texts = sentences(256, seed=4)
    meters: dict[str, CpuMeter] = {**stack.meters, "client": OwnProcessMeter()}
    async with gateway_client(stack.gateway_address) as client:
        calls = {"Search": search_text_call(client, texts, VIDEO_MODEL), "EmbedText": embed_text_call(client, texts)}
        tallies = {path: Tally() for path in calls}
        for _ in range(settings.rounds):
            for path, call in calls.items():
                tallies[path].merge(await closed_loop(call, 1, settings.duration_s, settings.warmup_s, meters))
    return tallies["Search"].point("Search", "closed", 1), tallies["EmbedText"].point("EmbedText", "closed", 1)


class BackendAtSize(BaseModel):
    """What one backend measured (the keys the issue names, and how they came about)."""

    rows: int
    videos: int
    index_type: str
    fill_s: float
    ingest_videos_per_s: float
    ingest_rows_per_s: float
    restart_to_serving_s: float
    search_p50_ms: float
    search_p99_ms: float
    embed_text_p50_ms: float
    errors: int
    peak_rss_mib: dict[str, float]
    points: list[LoadPoint]

    @property
    def index_p50_ms(self) -> float:
        return round(self.search_p50_ms - self.embed_text_p50_ms, 2)


def backend_at_size(context: StudyContext, repository: Path, backend: str, rows: int) -> BackendAtSize:
    videos = rows // WINDOWS_PER_VIDEO
    scratch = context.scratch(f"search-{backend}")
    shutil.rmtree(scratch)  # hundreds of MB, rebuilt by every run
    with ExitStack() as resources:
        if backend == "milvus":
            index_uri = resources.enter_context(MilvusStandalone(scratch / "server")).new_database_uri("search")
        else:
            index_uri = str(scratch / "index.db")
        # Searches group at most this many windows per video (servers before 2.4 do not group).
        environment = {"JEPA_INDEX_URI": index_uri, "JEPA_MAX_WINDOWS": str(WINDOWS_PER_VIDEO)}
        stack = resources.enter_context(context.stack(repository, f"search-{backend}", environment))
        fill_seconds = fill(stack.gateway_address, videos, backend)
        restart_seconds = stack.restart_gateway()
        with Client(stack.gateway_address) as client:
            stats = client.index_stats(model=VIDEO_MODEL)
        search, embed = asyncio.run(measure_search(context, stack))
        peak_rss = stack.peak_rss_mib()
    return BackendAtSize(
        rows=stats.rows, videos=stats.videos, index_type=stats.index_type, fill_s=round(fill_seconds, 1),
        ingest_videos_per_s=round(videos / fill_seconds, 1), ingest_rows_per_s=round(stats.rows / fill_seconds, 1),
        restart_to_serving_s=round(restart_seconds, 2), search_p50_ms=search.latency.p50_ms, search_p99_ms=search.latency.p99_ms,
        embed_text_p50_ms=embed.latency.p50_ms, errors=sum(search.errors.values()) + sum(embed.errors.values()), peak_rss_mib=peak_rss,
        points=[search, embed],
    )


def run(context: StudyContext) -> Path:
    settings = context.settings
    sizes = settings.search_rows
    result = context.new_result(
        "search", "Search at size, filled through IndexVideos",
        "How fast does IndexVideos fill each backend, how soon does a restarted gateway serve again, and how long does Search "
        "by text take at size (" + ", ".join(f"{rows:,} rows on {backend}" for backend, rows in sizes.items()) + ")?",
    )
    text = ExportedModels(preset=None, text=True).repository(settings.cache_dir)
    template = ExportedModels(preset="tiny", crop_size=64).repository(settings.cache_dir)
    repository = assemble_repository(context.scratch("repositories") / "search", [ServedModel(source=text / "text_encoder", name="text_encoder")])
    space = model_parameters(text / "text_encoder")["jepa.embedding_space"]
    standin_video_model(template / "vjepa2_encoder", repository, VIDEO_MODEL, space, DIMENSION, FRAMES, CROP)
    backends = {backend: backend_at_size(context, repository, backend, rows) for backend, rows in sizes.items()}

    result.tables.append(Table(
        title=f"{WINDOWS_PER_VIDEO} windows per video, {VIDEOS_PER_CALL} videos per IndexVideos call ({CALLS_IN_FLIGHT} in flight); "
        f"search at concurrency 1, {settings.rounds} alternating rounds of {settings.duration_s:g} s, top 10",
        columns=["backend", "rows", "index", "ingest videos/s", "ingest rows/s", "restart → SERVING s", "Search p50 ms", "Search p99 ms",
                 "EmbedText p50 ms", "index p50 ms", "errors"],
        rows=[
            [backend, found.rows, found.index_type, found.ingest_videos_per_s, found.ingest_rows_per_s, found.restart_to_serving_s,
             found.search_p50_ms, found.search_p99_ms, found.embed_text_p50_ms, found.index_p50_ms, found.errors]
            for backend, found in backends.items()
        ],
    ))
    result.goals += [
        Goal(name=f"Search p50, {backend}", statement=f"text search p50 ≤ 100 ms at {found.rows:,} rows on {backend}, end to end",
             measured=found.search_p50_ms, threshold=100.0, higher_is_better=False, unit=" ms")
        for backend, found in backends.items()
    ]
    result.plots.append(Plot(title="Search by text p50", kind="bar", x_label="backend", y_label="ms", series=[
        PlotSeries(name="Search", x=list(backends), y=[found.search_p50_ms for found in backends.values()]),
        PlotSeries(name="EmbedText", x=list(backends), y=[found.embed_text_p50_ms for found in backends.values()]),
    ]))
    result.notes.append(f"Milvus server: {MILVUS_SERVER_VERSION} standalone (PyPI `milvus`), one database; Milvus Lite: one file. "
                        "Index types as the gateway chose them by size (JEPA_INDEX_TYPE unset).")
    result.measurements["backends"] = {backend: found.model_dump(mode="json") for backend, found in backends.items()}
    return context.finish(result)
