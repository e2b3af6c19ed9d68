"""Run video preparation in a process pool, bounded so a burst of uploads cannot pile up work."""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from jepa_server.media.video import ClipGeometry, DecodeLimits, PreparedVideo, SamplingPlan, VideoSource, prepare_video


def _warm() -> int:
    return 0


class VideoPreparer:
    """Decoding is CPU-bound: it runs in worker processes (spawned, never forked from the gRPC
    process) and at most `max_concurrent` videos are in the pool at once."""

    def __init__(self, workers: int, max_concurrent: int) -> None:
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
        self._slots = asyncio.Semaphore(max_concurrent)
        self.workers = workers

    async def start(self) -> None:
        """Start every worker now, so the first request does not pay for process start-up."""
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(self._pool, _warm) for _ in range(self.workers)))

    async def prepare(self, source: VideoSource, geometry: ClipGeometry, plan: SamplingPlan, limits: DecodeLimits) -> PreparedVideo:
        async with self._slots:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._pool, prepare_video, source, geometry, plan, limits)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
