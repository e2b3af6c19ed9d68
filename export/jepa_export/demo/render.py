"""Seeded synthetic clips: one shape of one colour moving in one direction over a varied background.

Everything is drawn with numpy from a `numpy.random.Generator`, so a (split, seed) pair always gives
the same pixels. Frames are uint8 (T, H, W, 3) RGB at the model's crop size, so no resize is needed.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from jepa_export.demo.grammar import ALL_CLASSES, ClipAttributes

Split = Literal["train", "heldout"]
# Independent random streams per split: a held-out clip never shares a seed with training.
_SPLIT_ENTROPY: dict[Split, int] = {"train": 0x7A11, "heldout": 0x4E1D}
REFERENCE_FRAME_SIZE = 64
_SHAPE_RGB: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 190, 60),
    "blue": (50, 80, 230),
    "yellow": (230, 210, 40),
}
_DIRECTION_VECTORS: dict[str, tuple[float, float]] = {
    "left": (-1.0, 0.0),
    "right": (1.0, 0.0),
    "up": (0.0, -1.0),
    "down": (0.0, 1.0),
}


class RenderSettings(BaseModel):
    """Geometry of the demo world; sizes and speeds are for a 64 px frame and scale with it."""

    model_config = ConfigDict(frozen=True)

    frames_per_clip: int = Field(default=8, ge=2)
    frame_size: int = Field(default=64, ge=32)
    radius_range: tuple[float, float] = (8.0, 12.0)
    speed_range: tuple[float, float] = Field(default=(4.0, 7.0), description="pixels per frame")
    frame_noise_std: float = 3.0

    @property
    def scale(self) -> float:
        return self.frame_size / REFERENCE_FRAME_SIZE


class ClipBatch(BaseModel):
    """Clips and their classes: `frames` uint8 (N, T, H, W, 3), `class_indices` (N,) into ALL_CLASSES."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    frames: np.ndarray
    class_indices: np.ndarray

    @property
    def attributes(self) -> list[ClipAttributes]:
        return [ALL_CLASSES[index] for index in self.class_indices]

    @property
    def captions(self) -> list[str]:
        return [attributes.caption() for attributes in self.attributes]


def split_rng(split: Split, seed: int) -> np.random.Generator:
    return np.random.default_rng((_SPLIT_ENTROPY[split], seed))


def render_background(rng: np.random.Generator, frame_size: int) -> np.ndarray:
    """A low-saturation solid, gradient or blotchy texture, so colour belongs to the shape only."""
    def muted_colour() -> np.ndarray:
        return rng.uniform(30, 200) + rng.uniform(-15, 15, size=3)

    kind = rng.integers(3)
    if kind == 0:
        background = np.broadcast_to(muted_colour(), (frame_size, frame_size, 3)).copy()
    elif kind == 1:
        angle = rng.uniform(0, 2 * np.pi)
        coords = np.linspace(-0.5, 0.5, frame_size)
        ramp = np.cos(angle) * coords[None, :] + np.sin(angle) * coords[:, None] + 0.5
        background = (1 - ramp[..., None]) * muted_colour() + ramp[..., None] * muted_colour()
    else:
        coarse = rng.normal(0, 25, size=(8, 8, 1))
        repeat = -(-frame_size // 8)
        blotches = np.kron(coarse, np.ones((repeat, repeat, 1)))[:frame_size, :frame_size]
        background = muted_colour() + blotches
    return background


def shape_masks(shape: str, centres: np.ndarray, radius: float, frame_size: int) -> np.ndarray:
    """Boolean (T, H, W) masks of a shape whose centre per frame is `centres` (T, 2) as (x, y)."""
    pixel = np.arange(frame_size) + 0.5
    dx = pixel[None, None, :] - centres[:, 0, None, None]
    dy = pixel[None, :, None] - centres[:, 1, None, None]
    if shape == "circle":
        return dx**2 + dy**2 <= radius**2
    if shape == "square":
        # As wide as the circle, so corners (not size) tell them apart, even at 16-pixel patches.
        return (np.abs(dx) <= radius) & (np.abs(dy) <= radius)
    if shape == "triangle":
        return (dy <= 0.5 * radius) & (dy + radius >= np.sqrt(3.0) * np.abs(dx))
    raise ValueError(f"shape: got {shape!r}, need one of circle, square, triangle")


def trajectory(
    rng: np.random.Generator,
    direction: str,
    num_frames: int,
    radius: float,
    settings: RenderSettings,
    wrap: bool = False,
) -> np.ndarray:
    """Centres (T, 2) of a straight move that starts fully inside the frame.

    Without `wrap` the speed is capped so the shape stays inside; with it (long events) the shape
    leaves one side and re-enters from the other, keeping its speed.
    """
    margin = radius + 2 * settings.scale
    travel_room = settings.frame_size - 2 * margin
    speed = rng.uniform(*settings.speed_range) * settings.scale
    if not wrap:
        speed = min(speed, travel_room / max(num_frames - 1, 1))
    travel = 0.0 if wrap else speed * (num_frames - 1)
    vector = np.array(_DIRECTION_VECTORS[direction])
    moving_axis = 0 if vector[0] != 0 else 1
    start = np.empty(2)
    start[moving_axis] = rng.uniform(margin, max(margin, settings.frame_size - margin - travel))
    if vector[moving_axis] < 0:
        start[moving_axis] += travel
    start[1 - moving_axis] = rng.uniform(margin, settings.frame_size - margin)
    centres = start + np.arange(num_frames)[:, None] * speed * vector
    if wrap:
        period = settings.frame_size + 2 * radius
        centres[:, moving_axis] = (centres[:, moving_axis] + radius) % period - radius
    return centres


def paint_shape(
    rng: np.random.Generator,
    canvas: np.ndarray,
    attributes: ClipAttributes,
    settings: RenderSettings,
    wrap: bool = False,
) -> None:
    """Draws one moving shape into `canvas` (T, H, W, 3) float, in place."""
    radius = rng.uniform(*settings.radius_range) * settings.scale
    centres = trajectory(rng, attributes.direction, canvas.shape[0], radius, settings, wrap)
    colour = np.clip(np.array(_SHAPE_RGB[attributes.colour]) + rng.uniform(-25, 25, size=3), 0, 255)
    masks = shape_masks(attributes.shape, centres, radius, settings.frame_size)
    canvas[masks] = colour


def finish_frames(rng: np.random.Generator, canvas: np.ndarray, settings: RenderSettings) -> np.ndarray:
    noise = rng.normal(0, settings.frame_noise_std, size=canvas.shape)
    return np.clip(canvas + noise, 0, 255).round().astype(np.uint8)


def render_clip(
    rng: np.random.Generator, attributes: ClipAttributes, settings: RenderSettings, wrap: bool = False
) -> np.ndarray:
    """One clip, uint8 (T, H, W, 3); `wrap` as in `trajectory`."""
    background = render_background(rng, settings.frame_size)
    canvas = np.repeat(background[None], settings.frames_per_clip, axis=0)
    paint_shape(rng, canvas, attributes, settings, wrap)
    return finish_frames(rng, canvas, settings)


def generate_clips(
    split: Split, seed: int, count: int, settings: RenderSettings = RenderSettings(), wrap_fraction: float = 0.0
) -> ClipBatch:
    """`count` clips with classes drawn uniformly; the same (split, seed, count, wrap_fraction) gives
    the same batch. A `wrap_fraction` of them show the shape leaving one edge and re-entering the
    other, as windows of long multi-event videos do."""
    rng = split_rng(split, seed)
    class_indices = rng.integers(len(ALL_CLASSES), size=count)
    wraps = rng.random(count) < wrap_fraction if wrap_fraction > 0 else np.zeros(count, dtype=bool)
    frames = np.stack([render_clip(rng, ALL_CLASSES[index], settings, wrap) for index, wrap in zip(class_indices, wraps)])
    return ClipBatch(frames=frames, class_indices=class_indices)


def heldout_gallery(
    clips_per_class: int = 10, seed: int = 0, settings: RenderSettings = RenderSettings()
) -> ClipBatch:
    """The evaluation gallery: every class `clips_per_class` times, from the held-out stream."""
    rng = split_rng("heldout", seed)
    class_indices = np.repeat(np.arange(len(ALL_CLASSES)), clips_per_class)
    frames = np.stack([render_clip(rng, ALL_CLASSES[index], settings) for index in class_indices])
    return ClipBatch(frames=frames, class_indices=class_indices)
