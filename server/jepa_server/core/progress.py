"""Progress of a long call (AnalyzeIndex, Migrate) streamed while its work runs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from typing import TypeVar

from jepa_client.diagnosis import AnalysisProgress

ResultT = TypeVar("ResultT")


class ProgressChannel:
    """Progress reported from any thread (the index thread, the analysis thread), read in order."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._events: asyncio.Queue[AnalysisProgress] = asyncio.Queue()

    def report(self, stage: str, fraction: float, detail: str = "") -> None:
        self._loop.call_soon_threadsafe(self._events.put_nowait, AnalysisProgress(stage, round(min(1.0, fraction), 4), detail))

    async def run(self, work: Awaitable[ResultT]) -> AsyncIterator[AnalysisProgress | ResultT]:
        """Progress events while `work` runs, then its result; closing the iterator cancels the work."""
        task = asyncio.ensure_future(work)
        try:
            while not task.done() or not self._events.empty():
                getter = asyncio.ensure_future(self._events.get())
                await asyncio.wait({task, getter}, return_when=asyncio.FIRST_COMPLETED)
                if getter.done():
                    yield getter.result()
                else:
                    getter.cancel()
            yield task.result()
        finally:
            task.cancel()
