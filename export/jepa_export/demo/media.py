"""The demo's media as files a user would send (`jepa-export demo-media`): the held-out gallery and
multi-event videos as H.264 mp4s, and `demo.json` with the ground truth, for `jepa-serve demo`.

The stages meet only through files: this writes the format docs/demo-media.md describes, and the
server side reads it without importing anything from here.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, Field

from jepa_export.demo.events import MultiEventSettings, generate_multi_event_video
from jepa_export.demo.grammar import ALL_CLASSES, ClipAttributes
from jepa_export.demo.mp4 import write_mp4
from jepa_export.demo.render import RenderSettings, heldout_gallery
from jepa_export.vljepa.config import CONFIG_FILE, VLJepaConfig

MANIFEST = "demo.json"
MEDIA_FORMAT = "jepa-serve/demo-media"
DEMO_FPS = 8.0
# Multi-event videos come from their own seeds of the held-out stream, apart from the gallery's.
FIRST_EVENT_SEED = 10_000


class DemoMediaSettings(BaseModel):
    checkpoint: Path = Path("models/vljepa-demo")
    output_dir: Path = Path("artifacts/demo-media")
    clips_per_class: int = Field(default=10, ge=1, description="gallery clips per class (48 classes)")
    event_videos: int = Field(default=12, ge=1, description="multi-event videos, for moments")
    describe_videos: int = Field(default=4, ge=1, description="of the multi-event videos, how many are captioned")


def _words(attributes: ClipAttributes) -> list[str]:
    """What a caption of this event must name to be right."""
    return [attributes.colour, attributes.shape, attributes.direction]


def write_demo_media(settings: DemoMediaSettings) -> Path:
    """Render, encode and describe the demo media; returns the manifest's path."""
    preprocessing = VLJepaConfig.model_validate_json((settings.checkpoint / CONFIG_FILE).read_text()).preprocessing
    render = RenderSettings(frames_per_clip=preprocessing.frames_per_clip, frame_size=preprocessing.crop_size)
    out = settings.output_dir
    gallery_clips = heldout_gallery(clips_per_class=settings.clips_per_class, settings=render)
    gallery = []
    for position, (frames, class_index) in enumerate(zip(gallery_clips.frames, gallery_clips.class_indices)):
        caption = ALL_CLASSES[class_index].caption()
        name = f"gallery/{position:04d}_{caption.replace(' ', '_')}.mp4"
        write_mp4(frames, out / name, fps=DEMO_FPS)
        gallery.append({"file": name, "metadata": {"label": int(class_index), "caption": caption}})
    event_videos = []
    for position in range(settings.event_videos):
        video = generate_multi_event_video("heldout", FIRST_EVENT_SEED + position, MultiEventSettings(fps=DEMO_FPS), render)
        name = f"events/events_{position:02d}.mp4"
        write_mp4(video.frames, out / name, fps=video.fps)
        events = [
            {"caption": event.caption, "start_seconds": event.start_seconds, "end_seconds": event.end_seconds, "words": _words(event.attributes)}
            for event in video.events
        ]
        event_videos.append({"file": name, "fps": video.fps, "frames": len(video.frames), "events": events})
    manifest = {
        "format": MEDIA_FORMAT,
        "version": 1,
        "checkpoint": str(settings.checkpoint),
        "gallery": gallery,
        "queries": [{"text": attributes.caption(), "label": index} for index, attributes in enumerate(ALL_CLASSES)],
        "event_videos": event_videos,
        # Windows every half window in multi-event videos, so moment boundaries fall every half window.
        "event_window_stride": preprocessing.frames_per_clip // 2,
        "describe_videos": min(settings.describe_videos, settings.event_videos),
    }
    path = out / MANIFEST
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    return path
