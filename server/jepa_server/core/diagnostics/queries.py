"""The opt-in sample of recent text queries that coverage diagnostics compare with the index."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from threading import Lock

import numpy as np


@dataclass(frozen=True, eq=False)
class SampledQuery:
    text: str
    embedding: np.ndarray  # (D,) as the text model returned it
    asked_at: float


class QuerySample:
    """The last `size` text queries of each collection (0 = keep none). Bounded, in memory only:
    the query texts never reach the index or the logs, and a restart forgets them."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._queries: dict[str, deque[SampledQuery]] = {}
        self._lock = Lock()

    def record(self, collection: str, text: str, embedding: np.ndarray, asked_at: float) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._queries.setdefault(collection, deque(maxlen=self.size)).append(SampledQuery(text, np.asarray(embedding, np.float32), asked_at))

    def of(self, collection: str) -> list[SampledQuery]:
        with self._lock:
            return list(self._queries.get(collection, ()))
