"""The demo media that `jepa-export demo-media` writes (docs/demo-media.md): mp4 files and, in
`demo.json`, the ground truth that search results and captions are judged by. Read here as plain
files: the server side never imports the export stage."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

MANIFEST = "demo.json"


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GalleryVideo(_Record):
    file: str
    # Stored with the video in the index; `label` is what a query must find.
    metadata: dict[str, Any]


class Query(_Record):
    text: str
    label: int


class Event(_Record):
    caption: str
    start_seconds: float
    end_seconds: float
    # A caption is right for this event when it names every one of these words.
    words: list[str]

    def named_in(self, caption: str) -> bool:
        return set(self.words) <= set(caption.lower().split())


class EventVideo(_Record):
    """Several events back to back, with their true boundaries."""

    file: str
    fps: float
    frames: int
    events: list[Event]

    def event_at(self, seconds: float) -> Event | None:
        return next((event for event in self.events if event.start_seconds <= seconds < event.end_seconds), None)


class DemoMedia(_Record):
    format: Literal["jepa-serve/demo-media"]
    version: Literal[1]
    checkpoint: str
    gallery: list[GalleryVideo]
    queries: list[Query]
    event_videos: list[EventVideo]
    # Frames between window starts when indexing the multi-event videos (moment resolution).
    event_window_stride: int
    # How many of the multi-event videos are captioned.
    describe_videos: int


def load_demo_media(folder: Path) -> DemoMedia:
    return DemoMedia.model_validate_json((folder / MANIFEST).read_text())
