"""Split a stream of window embeddings into segments of constant meaning (selective decoding).

VL-JEPA predicts an embedding for every window but only needs to decode text when the meaning
changes. Online: a new segment starts when a window's cosine distance to the running segment mean
exceeds `threshold` and the current segment has at least `min_windows`. Offline: agglomerative
clustering with temporal connectivity (only neighbouring segments merge), as in the paper.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-12)


@dataclass
class Segment:
    first_window: int
    last_window: int
    embedding_sum: np.ndarray

    @property
    def length(self) -> int:
        return self.last_window - self.first_window + 1

    @property
    def embedding(self) -> np.ndarray:
        """Unit-length mean of the segment's window embeddings."""
        return _unit(self.embedding_sum)

    def cosine_distance(self, window_embedding: np.ndarray) -> float:
        return 1.0 - float(self.embedding @ _unit(window_embedding))


@dataclass
class OnlineSegmenter:
    """Feed windows one by one; `push` returns the segment that the new window closed, if any."""

    threshold: float = 0.15
    min_windows: int = 1
    current: Segment | None = field(default=None, init=False)

    def push(self, index: int, window_embedding: np.ndarray) -> Segment | None:
        if self.current is None:
            self.current = Segment(index, index, np.array(window_embedding, dtype=np.float64))
            return None
        if self.current.length >= self.min_windows and self.current.cosine_distance(window_embedding) > self.threshold:
            closed, self.current = self.current, Segment(index, index, np.array(window_embedding, dtype=np.float64))
            return closed
        self.current.last_window = index
        self.current.embedding_sum = self.current.embedding_sum + window_embedding
        return None

    def finish(self) -> Segment | None:
        closed, self.current = self.current, None
        return closed


def segment_offline(window_embeddings: np.ndarray, threshold: float = 0.15, min_windows: int = 1) -> list[Segment]:
    """Merge the most similar neighbouring segments until no pair is closer than `threshold`
    (cosine distance of their means); then fold segments shorter than `min_windows` into the
    nearer neighbour."""
    segments = [Segment(index, index, np.array(vector, dtype=np.float64)) for index, vector in enumerate(window_embeddings)]

    def distance(left: Segment, right: Segment) -> float:
        return 1.0 - float(left.embedding @ right.embedding)

    def merge(position: int) -> None:
        left, right = segments[position], segments[position + 1]
        segments[position : position + 2] = [Segment(left.first_window, right.last_window, left.embedding_sum + right.embedding_sum)]

    while len(segments) > 1:
        distances = [distance(segments[i], segments[i + 1]) for i in range(len(segments) - 1)]
        closest = int(np.argmin(distances))
        if distances[closest] > threshold:
            break
        merge(closest)
    while len(segments) > 1 and min(segment.length for segment in segments) < min_windows:
        short = min(range(len(segments)), key=lambda i: segments[i].length)
        if short == 0:
            merge(0)
        elif short == len(segments) - 1:
            merge(short - 1)
        else:
            merge(short - 1 if distance(segments[short - 1], segments[short]) <= distance(segments[short], segments[short + 1]) else short)
    return segments
