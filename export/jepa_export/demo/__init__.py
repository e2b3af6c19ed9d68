"""Synthetic captioned videos for training and demonstrating the VL-JEPA demo checkpoint."""

from jepa_export.demo.events import Event, MultiEventSettings, MultiEventVideo, generate_multi_event_video
from jepa_export.demo.grammar import (
    ALL_CLASSES,
    CANONICAL_TEMPLATE,
    PARAPHRASE_TEMPLATES,
    TRAINING_TEMPLATES,
    ClipAttributes,
    canonical_captions,
    caption_vocabulary,
)
from jepa_export.demo.mp4 import read_mp4, write_mp4
from jepa_export.demo.render import ClipBatch, RenderSettings, generate_clips, heldout_gallery

__all__ = [
    "ALL_CLASSES",
    "CANONICAL_TEMPLATE",
    "PARAPHRASE_TEMPLATES",
    "TRAINING_TEMPLATES",
    "ClipAttributes",
    "ClipBatch",
    "Event",
    "MultiEventSettings",
    "MultiEventVideo",
    "RenderSettings",
    "canonical_captions",
    "caption_vocabulary",
    "generate_clips",
    "generate_multi_event_video",
    "heldout_gallery",
    "read_mp4",
    "write_mp4",
]
