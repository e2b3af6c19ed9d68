"""Run video preparation in a process pool, bounded so a burst of uploads cannot pile up work."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from jepa_server.die_with_parent import die_with
from jepa_server.errors import BackendUnavailable

from jepa_server.media.video import ClipGeometry, DecodeLimits, PreparedVideo, SamplingPlan, VideoSource, prepare_video


def _warm() -> int:
    return 0


def _follow_gateway(gateway_pid: int) -> None:
    """A decode worker ends with its gateway, even a SIGKILLed one (the pool's queue holds a pipe
    the worker itself keeps open, so it would wait on it forever)."""
    if not die_with(gateway_pid):
        os._exit(1)


class VideoPreparer:
    """Decoding is CPU-bound: it runs in worker processes (spawned, never forked from the gRPC
    process) and at most `max_concurrent` videos are in the pool at once. A worker that dies (a
    decoder crash, the OOM killer) breaks the pool: it is replaced, and the calls it held answer
    UNAVAILABLE (retryable) instead of every later call failing."""

    def __init__(self, workers: int, max_concurrent: int) -> None:
        self.workers = workers
        self._pool = self._new_pool()
        self._slots = asyncio.Semaphore(max_concurrent)

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"), initializer=_follow_gateway, initargs=(os.getpid(),)
        )

    async def start(self) -> None:
        """Start every worker now, so the first request does not pay for process start-up."""
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(self._pool, _warm) for _ in range(self.workers)))

    async def prepare(self, source: VideoSource, geometry: ClipGeometry, plan: SamplingPlan, limits: DecodeLimits, field: str = "") -> PreparedVideo:
        async with self._slots:
            pool = self._pool
            try:
                return await asyncio.get_running_loop().run_in_executor(pool, prepare_video, source, geometry, plan, limits, field)
            except BrokenProcessPool as error:
                if self._pool is pool:  # the first call to notice replaces the pool
                    pool.shutdown(wait=False, cancel_futures=True)
                    self._pool = self._new_pool()
                raise BackendUnavailable("decoder", "a video decode worker died; the pool was restarted, retry the call") from error

    def worker_pids(self) -> list[int]:
        """The decode worker processes now running (for monitoring and fault tests)."""
        return list(self._pool._processes or {})

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
