"""A demo collection with known trouble, the ground truth of index diagnostics (`AnalyzeIndex`):
videos of several shots (one class per window), re-encoded copies of some of them, corrupt and
black videos, one class never shown, and a second ingest whose shape distribution has drifted.

Every shot is exactly one window long, so each window has one true class. Files are real H.264
mp4s, written like the demo media; `trouble.json` holds the truth the diagnostics are judged by.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from jepa_export.demo.grammar import ALL_CLASSES, SHAPES, ClipAttributes
from jepa_export.demo.mp4 import write_mp4
from jepa_export.demo.render import RenderSettings, render_clip, split_rng

MANIFEST = "trouble.json"
FPS = 8.0
COPY_CRF = 30  # the re-encoded copies: visibly blockier than the originals' CRF 12
OutlierKind = Literal["black", "noise", "corrupt"]
OUTLIER_KINDS: tuple[OutlierKind, ...] = ("black", "noise", "corrupt")


class TroubleSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    windows_per_video: int = Field(default=4, ge=1)
    first_ingest_videos: int = Field(default=300, ge=2)
    copies: int = Field(default=30, ge=0, description="re-encoded copies of first-ingest videos")
    outlier_videos: int = Field(default=10, ge=0, description="black, noise and corrupt videos, in turn")
    second_ingest_videos: int = Field(default=160, ge=0)
    # The class no video shows, whose queries the coverage report must flag.
    missing_class: int = Field(default=ALL_CLASSES.index(ClipAttributes(shape="triangle", colour="blue", direction="up")))
    # Shape probabilities of the second ingest (circle, square, triangle); the first is uniform.
    drifted_shapes: tuple[float, float, float] = (0.7, 0.15, 0.15)
    seed: int = 0


class TroubleVideo(BaseModel):
    file: str
    # 1 = first ingest (copies and outliers included), 2 = the drifted second one.
    ingest: Literal[1, 2]
    windows: int
    # The true class of every window; empty for outliers.
    window_classes: list[int]
    copy_of: str | None = None
    outlier: OutlierKind | None = None


class TroubleManifest(BaseModel):
    format: Literal["jepa-serve/trouble-collection"] = "jepa-serve/trouble-collection"
    fps: float
    frames_per_clip: int
    missing_class: int
    videos: list[TroubleVideo]


def _shot_classes(rng: np.random.Generator, count: int, shape_weights: np.ndarray) -> list[int]:
    """`count` classes, none the missing one (its weight is 0), shapes drawn by `shape_weights`."""
    return [int(index) for index in rng.choice(len(ALL_CLASSES), size=count, p=shape_weights)]


def _class_weights(settings: TroubleSettings, shape_probabilities: tuple[float, ...]) -> np.ndarray:
    weights = np.array([shape_probabilities[SHAPES.index(attributes.shape)] for attributes in ALL_CLASSES])
    weights[settings.missing_class] = 0.0
    return weights / weights.sum()


def _outlier_frames(rng: np.random.Generator, kind: OutlierKind, clean: np.ndarray) -> np.ndarray:
    if kind == "black":
        return np.zeros_like(clean)
    if kind == "noise":
        return rng.integers(0, 256, size=clean.shape, dtype=np.uint8)
    # A decoder gone wrong: 8x8 blocks of the clean video replaced by saturated garbage, rows smeared.
    corrupt = clean.copy()
    blocks = rng.random((clean.shape[0], clean.shape[1] // 8, clean.shape[2] // 8)) < 0.6
    garbage = rng.integers(0, 2, size=(*blocks.shape, 3)).astype(np.uint8) * 255
    mask = np.kron(blocks, np.ones((8, 8), dtype=bool))
    corrupt[mask] = np.repeat(np.repeat(garbage, 8, axis=1), 8, axis=2)[mask]
    return np.cumsum(corrupt.astype(np.uint16), axis=2, dtype=np.uint16).astype(np.uint8)


def write_trouble_collection(out: Path, settings: TroubleSettings = TroubleSettings(), render: RenderSettings = RenderSettings()) -> TroubleManifest:
    """Render and encode the collection under `out`; returns (and writes) its manifest."""
    rng = split_rng("heldout", 50_000 + settings.seed)
    videos: list[TroubleVideo] = []
    frames_of: dict[str, np.ndarray] = {}

    def shots(classes: list[int]) -> np.ndarray:
        return np.concatenate([render_clip(rng, ALL_CLASSES[index], render) for index in classes])

    uniform = _class_weights(settings, (1.0, 1.0, 1.0))
    drifted = _class_weights(settings, settings.drifted_shapes)
    for position in range(settings.first_ingest_videos):
        classes = _shot_classes(rng, settings.windows_per_video, uniform)
        name = f"first/{position:04d}.mp4"
        frames_of[name] = shots(classes)
        write_mp4(frames_of[name], out / name, fps=FPS)
        videos.append(TroubleVideo(file=name, ingest=1, windows=settings.windows_per_video, window_classes=classes))
    originals = rng.choice(settings.first_ingest_videos, size=settings.copies, replace=False)
    for position, original in enumerate(originals):
        source = videos[int(original)]
        name = f"copies/{position:04d}.mp4"
        write_mp4(frames_of[source.file], out / name, fps=FPS, crf=COPY_CRF)
        videos.append(TroubleVideo(file=name, ingest=1, windows=source.windows, window_classes=source.window_classes, copy_of=source.file))
    for position in range(settings.outlier_videos):
        kind = OUTLIER_KINDS[position % len(OUTLIER_KINDS)]
        clean = shots(_shot_classes(rng, settings.windows_per_video, uniform))
        name = f"outliers/{position:04d}_{kind}.mp4"
        write_mp4(_outlier_frames(rng, kind, clean), out / name, fps=FPS)
        videos.append(TroubleVideo(file=name, ingest=1, windows=settings.windows_per_video, window_classes=[], outlier=kind))
    for position in range(settings.second_ingest_videos):
        classes = _shot_classes(rng, settings.windows_per_video, drifted)
        name = f"second/{position:04d}.mp4"
        write_mp4(shots(classes), out / name, fps=FPS)
        videos.append(TroubleVideo(file=name, ingest=2, windows=settings.windows_per_video, window_classes=classes))
    manifest = TroubleManifest(fps=FPS, frames_per_clip=render.frames_per_clip, missing_class=settings.missing_class, videos=videos)
    (out / MANIFEST).write_text(manifest.model_dump_json(indent=1) + "\n")
    return manifest


def load_trouble_manifest(folder: Path) -> TroubleManifest:
    return TroubleManifest.model_validate_json((folder / MANIFEST).read_text())


def duplicate_truth(manifest: TroubleManifest) -> set[frozenset[str]]:
    """Pairs of videos with the same content: each copy and its original (and their other copies),
    and the black videos, which are identical frame for frame."""
    groups: dict[str, set[str]] = {}
    for video in manifest.videos:
        if video.copy_of:
            groups.setdefault(video.copy_of, {video.copy_of}).add(video.file)
        if video.outlier == "black":
            groups.setdefault("black", set()).add(video.file)
    return {frozenset((first, second)) for group in groups.values() for first in group for second in group if first < second}

