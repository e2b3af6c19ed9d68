"""Multi-event demo videos: several shapes one after another, with the true event boundaries.

They are the ground truth of moment retrieval and captioning: each event is one class seen for a
known span of frames (and seconds, at the video's fps) over one background for the whole video.
An event outlasts one crossing of the frame, so its shape re-enters on the opposite side.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from jepa_export.demo.grammar import ALL_CLASSES, ClipAttributes
from jepa_export.demo.render import (
    RenderSettings,
    Split,
    finish_frames,
    paint_shape,
    render_background,
    split_rng,
)


class Event(BaseModel):
    """One class over frames [start_frame, end_frame) = seconds [start_seconds, end_seconds)."""

    model_config = ConfigDict(frozen=True)

    attributes: ClipAttributes
    start_frame: int
    end_frame: int
    start_seconds: float
    end_seconds: float

    @property
    def caption(self) -> str:
        return self.attributes.caption()


class MultiEventVideo(BaseModel):
    """`frames` uint8 (T, H, W, 3) at `fps`; `events` cover the frames back to back."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    frames: np.ndarray
    fps: float
    events: list[Event]

    def event_at(self, frame_index: int) -> Event:
        for event in self.events:
            if event.start_frame <= frame_index < event.end_frame:
                return event
        raise IndexError(f"frame_index: got {frame_index}, video has {len(self.frames)} frames")

    def windows_inside_events(self, frames_per_clip: int) -> list[tuple[int, Event]]:
        """(first frame, event) of every non-overlapping window that lies wholly inside one event."""
        starts = range(0, len(self.frames) - frames_per_clip + 1, frames_per_clip)
        return [
            (start, event) for start in starts if (event := self.event_at(start)) is self.event_at(start + frames_per_clip - 1)
        ]


class MultiEventSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    num_events: int = Field(default=4, ge=1)
    fps: float = Field(default=8.0, gt=0)
    event_windows: tuple[int, int] = Field(
        default=(2, 4), description="event length range, in windows of frames_per_clip (inclusive)"
    )


def generate_multi_event_video(
    split: Split,
    seed: int,
    events: MultiEventSettings = MultiEventSettings(),
    settings: RenderSettings = RenderSettings(),
) -> MultiEventVideo:
    """A video of `num_events` consecutive events, each a class different from the one before."""
    rng = split_rng(split, seed)
    background = render_background(rng, settings.frame_size)
    low, high = (windows * settings.frames_per_clip for windows in events.event_windows)
    lengths = rng.integers(low, high + 1, size=events.num_events)
    canvas = np.repeat(background[None], int(lengths.sum()), axis=0)
    timeline: list[Event] = []
    previous_index = -1
    start_frame = 0
    for length in lengths:
        class_index = int(rng.integers(len(ALL_CLASSES) - (previous_index >= 0)))
        if 0 <= previous_index <= class_index:
            class_index += 1
        attributes = ALL_CLASSES[class_index]
        end_frame = start_frame + int(length)
        paint_shape(rng, canvas[start_frame:end_frame], attributes, settings, wrap=True)
        timeline.append(
            Event(
                attributes=attributes,
                start_frame=start_frame,
                end_frame=end_frame,
                start_seconds=start_frame / events.fps,
                end_seconds=end_frame / events.fps,
            )
        )
        previous_index, start_frame = class_index, end_frame
    return MultiEventVideo(frames=finish_frames(rng, canvas, settings), fps=events.fps, events=timeline)
