"""What the client returns: small frozen records holding numpy arrays (float32, one row per vector)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc
import numpy as np


@dataclass(frozen=True)
class ModelInfo:
    """The served model behind a result; vectors are comparable only within one embedding_space.
    A world model's part (`role` world_*) has no embedding_space: its tokens live in `world_space`,
    and `dimension` is their width."""

    name: str
    version: str
    dimension: int
    embedding_space: str
    role: str = ""  # jepa.role; empty from a server older than the field
    world_space: str = ""


# eq=False: arrays have no single truth value, so field-wise == would raise.
@dataclass(frozen=True, eq=False)
class WindowEmbedding:
    """One window of `frames_per_clip` frames and its embedding, shape (D,)."""

    index: int
    start_seconds: float
    end_seconds: float
    embedding: np.ndarray


@dataclass(frozen=True, eq=False)
class VideoEmbedding:
    """A video's embedding, shape (D,): the L2-normalised mean of its windows."""

    model: ModelInfo
    embedding: np.ndarray
    windows: tuple[WindowEmbedding, ...]
    frames_decoded: int
    num_windows: int
    duration_seconds: float


@dataclass(frozen=True, eq=False)
class TextEmbeddings:
    """Embeddings of a batch of texts, shape (N, D), in input order."""

    model: ModelInfo
    embeddings: np.ndarray


@dataclass(frozen=True)
class IndexedVideo:
    """What became of one item of `index_videos`: `ok`, or the gRPC `code` and `error` naming the field."""

    id: str
    code: grpc.StatusCode
    error: str
    num_windows: int
    duration_seconds: float
    collection: str

    @property
    def ok(self) -> bool:
        return self.code == grpc.StatusCode.OK


@dataclass(frozen=True)
class IndexReport:
    """One `IndexedVideo` per item sent, in order; the rows of every `ok` item are durable."""

    items: tuple[IndexedVideo, ...]

    @property
    def failed(self) -> tuple[IndexedVideo, ...]:
        return tuple(item for item in self.items if not item.ok)


@dataclass(frozen=True)
class SearchHit:
    """A video, its best-matching window with its cosine `score`, and, when asked for, its
    `moment` (start, end) seconds: the adjacent windows around the best that match nearly as well."""

    video_id: str
    score: float
    window_index: int
    start_seconds: float
    end_seconds: float
    metadata: dict[str, Any]
    moment: tuple[float, float] | None = None


@dataclass(frozen=True)
class SearchResults:
    model: ModelInfo
    collection: str
    hits: tuple[SearchHit, ...]


@dataclass(frozen=True)
class DeleteResult:
    deleted_ids: tuple[str, ...]
    rows_deleted: int


@dataclass(frozen=True)
class IndexStats:
    """The collection of one video model: rows (windows), videos, and which asked ids it holds."""

    model: ModelInfo
    collection: str
    rows: int
    videos: int
    indexed_ids: tuple[str, ...]
    backend: str
    index_type: str


@dataclass(frozen=True, eq=False)
class Caption:
    """A caption of the windows `first_window`..`last_window` (a segment of constant meaning in
    selective mode, one window in uniform mode); `segment_embedding` has shape (D,)."""

    start_seconds: float
    end_seconds: float
    text: str
    confidence: float
    segment_embedding: np.ndarray
    first_window: int
    last_window: int
    decoder_steps: int
