"""What the client returns: small frozen records holding numpy arrays (float32, one row per vector)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ModelInfo:
    """The served model behind a result; vectors are comparable only within one embedding_space."""

    name: str
    version: str
    dimension: int
    embedding_space: str


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
